"""The due instants of a ticket opened at a given start: for the CLI and the API preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from soporte.holiday_dates import holidays_around
from soporte.policy import SUPPORT_PRIORITIES, Priority, sla
from soporte.policy.calendar import BOGOTA


class DeadlineInputError(ValueError):
    """Bad input for a deadline preview; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DeadlinePreview:
    priority: Priority
    start: datetime
    first_response_due: datetime
    resolution_due: datetime

    def as_json(self) -> dict[str, str]:
        return {
            "priority": self.priority.value,
            "start": bogota_iso(self.start),
            "first_response_due": bogota_iso(self.first_response_due),
            "resolution_due": bogota_iso(self.resolution_due),
        }


def bogota_iso(instant: datetime) -> str:
    return instant.astimezone(BOGOTA).isoformat()


def parse_priority(raw: str) -> Priority:
    names = ", ".join(p.value for p in SUPPORT_PRIORITIES)
    word = raw.strip()
    known = {p.value.lower(): p for p in Priority}
    priority = known.get(word.lower())
    if priority is None:
        raise DeadlineInputError("priority", f"unknown priority {raw!r}: use one of {names}")
    if priority not in SUPPORT_PRIORITIES:
        raise DeadlineInputError("priority", f"priority {raw!r} has no due instants: use {names}")
    return priority


def parse_start(raw: str) -> datetime:
    try:
        start = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise DeadlineInputError(
            "start", f"{raw!r} is not an ISO 8601 date-time such as 2026-11-27T16:30:00-05:00"
        ) from None
    if start.tzinfo is None or start.utcoffset() is None:
        raise DeadlineInputError(
            "start", f"{raw!r} has no UTC offset: write it like 2026-11-27T16:30:00-05:00"
        )
    return start


def preview(priority_raw: str, start_raw: str) -> DeadlinePreview:
    priority = parse_priority(priority_raw)
    start = parse_start(start_raw)
    due = sla.due_instants(priority, start, holidays_around(start))
    # No pauses: both are always set.
    assert due.first_response_due and due.resolution_due  # nosec B101  # invariant (never run -O)
    return DeadlinePreview(priority, start, due.first_response_due, due.resolution_due)
