"""Structured refusals: why a command is refused, as a field, a code and a message.

The rule that refuses (committee decisions, advisory slots, incidents) returns a Refusal;
the workflow's validator raises it as an ApplicationError whose details are
`Refusal.details()`, and each door maps it (the API: a field means 422 naming it, a taken
slot or a state a 409) without reading the message. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RefusalCode(StrEnum):
    REQUIRED = "required"
    NO_TIMEZONE = "no_timezone"
    IN_THE_PAST = "in_the_past"
    BEYOND_HORIZON = "beyond_horizon"
    NOT_ALIGNED = "not_aligned"
    OUTSIDE_BUSINESS_HOURS = "outside_business_hours"
    TAKEN = "taken"
    NOT_ON_AGENDA = "not_on_agenda"
    ALREADY_DECIDED = "already_decided"
    ALREADY_LINKED = "already_linked"
    ALREADY_RESOLVED = "already_resolved"
    NOT_ALLOWED = "not_allowed"


# A refusal of these codes is about the state of things, not the input: a conflict.
CONFLICT_CODES = frozenset(
    {
        RefusalCode.TAKEN,
        RefusalCode.NOT_ON_AGENDA,
        RefusalCode.ALREADY_DECIDED,
        RefusalCode.ALREADY_LINKED,
        RefusalCode.ALREADY_RESOLVED,
    }
)


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    message: str
    field: str | None = None

    @property
    def is_conflict(self) -> bool:
        return self.field is None or self.code in CONFLICT_CODES

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def details(self) -> dict[str, str | None]:
        return {"field": self.field, "code": self.code.value, "message": self.message}

    @classmethod
    def from_details(cls, details: object) -> Refusal | None:
        """The refusal an ApplicationError's first detail carries (None for another)."""
        if not isinstance(details, dict):
            return None
        try:
            code = RefusalCode(str(details.get("code")))
        except ValueError:
            return None
        field = details.get("field")
        return cls(code, str(details.get("message", "")), str(field) if field else None)
