"""The policy's numbers: their defaults and bounds, in one place (POLICY.md, "configurable").

A ticket carries them in its workflow state (`PolicyConfig`); the settings only override
them, through the same annotated types, so both refuse the same values. Pure: no I/O.
"""

from collections.abc import Sequence
from datetime import time, timedelta
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, Field

# POLICY "Service levels": a warning at 75 % of a target, before the breach at 100 %, so
# a ratio is strictly between 0 and 1.
DEFAULT_WARNING_RATIO = 0.75
WARNING_RATIO_ABOVE = 0.0
WARNING_RATIO_BELOW = 1.0
# POLICY §VIII.b: reminders 1, 2 and 4 calendar days after the request (attempts 2-4);
# resolved without reply 5 days after it; abandoned at once after 4 unanswered attempts.
DEFAULT_REMINDER_OFFSETS = (timedelta(days=1), timedelta(days=2), timedelta(days=4))
DEFAULT_ABANDON_AFTER = timedelta(days=5)
ABANDON_AFTER_ATTEMPTS = 4
# POLICY §VIII.c: the client may ask to reopen within 15 calendar days of resolution.
DEFAULT_REOPEN_WINDOW = timedelta(days=15)
# POLICY "Service levels": tickets are assigned automatically at registration.
DEFAULT_AUTO_ASSIGN = True
DEFAULT_ADVISORY_SLOT_LENGTH = timedelta(hours=1)
DEFAULT_ADVISORY_HORIZON = timedelta(days=14)

Offsets = TypeVar("Offsets", bound=Sequence[timedelta])


def check_warning_ratio(ratio: float) -> float:
    """The rule for plain callers (the pydantic types below say the same with Field)."""
    if not WARNING_RATIO_ABOVE < ratio < WARNING_RATIO_BELOW:
        raise ValueError(
            f"warning_ratio must be greater than {WARNING_RATIO_ABOVE:g} and less than "
            f"{WARNING_RATIO_BELOW:g}, got {ratio}"
        )
    return ratio


def check_positive(duration: timedelta) -> timedelta:
    if duration <= timedelta(0):
        raise ValueError(f"{duration} must be longer than zero")
    return duration


def check_reminder_offsets(offsets: Offsets) -> Offsets:
    for offset in offsets:
        check_positive(offset)
    if list(offsets) != sorted(offsets):
        raise ValueError("reminder offsets must be in increasing order")
    return offsets


WarningRatio = Annotated[float, Field(gt=WARNING_RATIO_ABOVE, lt=WARNING_RATIO_BELOW)]
PositiveDuration = Annotated[timedelta, AfterValidator(check_positive)]


class CommitteeSchedule(BaseModel):
    """The weekly Comité Operativo: weekday 0=Monday, wall-clock time in Bogota."""

    weekday: int = Field(ge=0, le=6)
    at: time


DEFAULT_COMMITTEE_SCHEDULE = CommitteeSchedule(weekday=2, at=time(9, 0))


class PolicyConfig(BaseModel):
    warning_ratio: WarningRatio = DEFAULT_WARNING_RATIO
    reminder_offsets: Annotated[list[timedelta], AfterValidator(check_reminder_offsets)] = Field(
        default_factory=lambda: list(DEFAULT_REMINDER_OFFSETS)
    )
    abandon_after: PositiveDuration = DEFAULT_ABANDON_AFTER
    reopen_window: PositiveDuration = DEFAULT_REOPEN_WINDOW
    auto_assign: bool = DEFAULT_AUTO_ASSIGN
    advisory_slot_length: PositiveDuration = DEFAULT_ADVISORY_SLOT_LENGTH
    advisory_horizon: PositiveDuration = DEFAULT_ADVISORY_HORIZON
    # A run continues as new after this many handled events (tests lower it).
    max_events_per_run: int = 500
