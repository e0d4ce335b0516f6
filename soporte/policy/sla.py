"""SLA targets and due instants per priority (POLICY.md, "Service levels").

Pure: standard library and soporte.policy.calendar only, safe to import from workflow code.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from soporte.policy import Priority
from soporte.policy.calendar import BusinessCalendar, Clock, Pause, WallClock, due_with_pauses
from soporte.policy.config import DEFAULT_WARNING_RATIO, check_warning_ratio


@dataclass(frozen=True)
class SlaTarget:
    first_response: timedelta
    resolution: timedelta
    business_hours: bool


SLA_TARGETS: dict[Priority, SlaTarget] = {
    Priority.P1: SlaTarget(timedelta(hours=1), timedelta(hours=8), business_hours=False),
    Priority.P2: SlaTarget(timedelta(hours=1), timedelta(hours=24), business_hours=True),
    Priority.P3: SlaTarget(timedelta(hours=1), timedelta(hours=96), business_hours=True),
}


@dataclass(frozen=True)
class DueInstants:
    """When each target is due and when its warning fires, all in UTC.

    A field is None while the clock is stopped (a pause still open) before that instant
    is reached: the instant is unknown until the client replies.
    """

    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_warning: datetime | None = None
    resolution_warning: datetime | None = None


def sla_target(priority: Priority) -> SlaTarget:
    try:
        return SLA_TARGETS[priority]
    except KeyError:
        raise ValueError(
            f"priority {priority.value!r} has no SLA clock (only P1, P2 and P3 have one)"
        ) from None


def clock_for(priority: Priority, holidays: Iterable[date]) -> Clock:
    if sla_target(priority).business_hours:
        return BusinessCalendar(holidays)
    return WallClock()


def due_instants(
    priority: Priority,
    start: datetime,
    holidays: Iterable[date],
    pauses: Sequence[Pause] = (),
    warning_ratio: float = DEFAULT_WARNING_RATIO,
) -> DueInstants:
    """Due and warning instants of a ticket whose SLA clock started at start.

    Warnings fire when counted time reaches warning_ratio of each target, counted through
    the same calendar and pauses.
    """
    check_warning_ratio(warning_ratio)
    target = sla_target(priority)
    clock = clock_for(priority, holidays)

    def due(duration: timedelta) -> datetime | None:
        return due_with_pauses(clock, start, duration, pauses)

    return DueInstants(
        first_response_due=due(target.first_response),
        resolution_due=due(target.resolution),
        first_response_warning=due(target.first_response * warning_ratio),
        resolution_warning=due(target.resolution * warning_ratio),
    )
