"""Policy numbers a ticket carries in its workflow state. Pure: no I/O."""

from datetime import time, timedelta

from pydantic import BaseModel, Field


class CommitteeSchedule(BaseModel):
    """The weekly Comité Operativo: weekday 0=Monday, wall-clock time in Bogota."""

    weekday: int = Field(ge=0, le=6)
    at: time


class PolicyConfig(BaseModel):
    warning_ratio: float = 0.75
    reminder_offsets: list[timedelta] = Field(
        default_factory=lambda: [timedelta(days=1), timedelta(days=2), timedelta(days=4)]
    )
    abandon_after: timedelta = timedelta(days=5)
    reopen_window: timedelta = timedelta(days=15)
    auto_assign: bool = True
    advisory_slot_length: timedelta = timedelta(hours=1)
    advisory_horizon: timedelta = timedelta(days=14)
    # A run continues as new after this many handled events (tests lower it).
    max_events_per_run: int = 500
