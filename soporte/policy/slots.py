"""Personalised advisory slots (POLICY.md, "Personalised advisories").

Pure: slots start on the hour or half-hour (Bogota wall time) and lie wholly inside one
day's business hours of the given BusinessCalendar (so holidays and weekends are out); a
slot overlapping a booked one is taken. Instants are aware; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from soporte.policy.calendar import BOGOTA, BusinessCalendar, require_aware
from soporte.policy.config import DEFAULT_ADVISORY_HORIZON, DEFAULT_ADVISORY_SLOT_LENGTH
from soporte.policy.refusals import Refusal, RefusalCode

SLOT_ALIGNMENT = timedelta(minutes=30)
DEFAULT_SLOT_LENGTH = DEFAULT_ADVISORY_SLOT_LENGTH
DEFAULT_HORIZON = DEFAULT_ADVISORY_HORIZON


def _aligned_at_or_after(instant: datetime) -> datetime:
    """The first hour or half-hour of Bogota wall time at or after instant."""
    wall = instant.astimezone(BOGOTA)
    floor = wall.replace(minute=wall.minute - wall.minute % 30, second=0, microsecond=0)
    return floor if floor == wall else floor + SLOT_ALIGNMENT


def is_aligned(start: datetime) -> bool:
    wall = start.astimezone(BOGOTA)
    return wall.minute % 30 == 0 and wall.second == 0 and wall.microsecond == 0


def fits_business_hours(calendar: BusinessCalendar, start: datetime, length: timedelta) -> bool:
    """All of [start, start + length) is open; nights are closed, so it is within one day."""
    return calendar.elapsed(start, start + length) == length


def overlaps_booked(start: datetime, length: timedelta, booked: Iterable[datetime]) -> bool:
    """Booked slots have the same length; two slots overlap when their starts are closer."""
    return any(abs(start - other) < length for other in booked)


def free_slots(
    calendar: BusinessCalendar,
    now: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    length: timedelta = DEFAULT_SLOT_LENGTH,
    booked: Iterable[datetime] = (),
) -> list[datetime]:
    """Every free slot starting in [now, now + horizon), in order."""
    require_aware(now)
    if length <= timedelta(0):
        raise ValueError(f"slot length must be positive, got {length}")
    taken = list(booked)
    require_aware(*taken)
    end = now + horizon
    slots: list[datetime] = []
    candidate = _aligned_at_or_after(now)
    while candidate < end:
        if fits_business_hours(calendar, candidate, length) and not overlaps_booked(
            candidate, length, taken
        ):
            slots.append(candidate.astimezone(UTC))
        candidate += SLOT_ALIGNMENT
    return slots


def validate_booking(
    calendar: BusinessCalendar,
    now: datetime,
    start: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    length: timedelta = DEFAULT_SLOT_LENGTH,
    booked: Iterable[datetime] = (),
) -> Refusal | None:
    """Why start cannot be booked (field `start`, a code, a sentence naming the rule), or
    None when it can."""
    if start.tzinfo is None or start.utcoffset() is None:
        message = "a timezone is required (for example 2026-12-02T09:00:00-05:00)"
        return _refused(RefusalCode.NO_TIMEZONE, message)
    require_aware(now)
    if start < now:
        return _refused(RefusalCode.IN_THE_PAST, f"{_bogota(start)} is in the past")
    if start >= now + horizon:
        message = f"{_bogota(start)} is beyond the {horizon.days} days offered"
        return _refused(RefusalCode.BEYOND_HORIZON, message)
    if not is_aligned(start):
        message = f"{_bogota(start)} is not on the hour or half-hour"
        return _refused(RefusalCode.NOT_ALIGNED, message)
    if not fits_business_hours(calendar, start, length):
        message = f"{_bogota(start)} is not wholly inside business hours"
        return _refused(RefusalCode.OUTSIDE_BUSINESS_HOURS, message)
    if overlaps_booked(start, length, booked):
        return _refused(RefusalCode.TAKEN, f"{_bogota(start)} is already taken")
    return None


def _refused(code: RefusalCode, message: str) -> Refusal:
    return Refusal(code, message, "start")


def _is_business_day(calendar: BusinessCalendar, day: date) -> bool:
    midnight = datetime.combine(day, time.min, tzinfo=BOGOTA)
    return calendar.elapsed(midnight, midnight + timedelta(days=1)) > timedelta(0)


def reminder_at(calendar: BusinessCalendar, slot_start: datetime) -> datetime:
    """One business day before: the same Bogota wall time on the previous business day."""
    require_aware(slot_start)
    wall = slot_start.astimezone(BOGOTA)
    day = wall.date() - timedelta(days=1)
    while not _is_business_day(calendar, day):
        day -= timedelta(days=1)
    return datetime.combine(day, wall.timetz().replace(tzinfo=None), tzinfo=BOGOTA).astimezone(UTC)


def _bogota(instant: datetime) -> str:
    return instant.astimezone(BOGOTA).isoformat(timespec="minutes")
