"""The product's business-hours calendar and SLA clock arithmetic (POLICY.md, "Service levels").

Pure: standard library and zoneinfo only, no I/O and no reading of the current time, so
Temporal workflow code may import it. Holiday dates come in as data.

Business hours are America/Bogota, Monday-Thursday 07:30-18:00 and Friday 07:00-17:00;
closed on Saturday, Sunday and the given holidays. Every interval is half-open
[opening, closing): a due instant may fall exactly on a closing time, and a start at a
closing time counts from the next opening.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

BOGOTA = ZoneInfo("America/Bogota")

ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)
ONE_WEEK = timedelta(days=7)

_MON_THU = (time(7, 30), time(18, 0))
_FRIDAY = (time(7, 0), time(17, 0))
# Indexed by date.weekday(): Monday is 0, Sunday is 6.
OPENING_HOURS: tuple[tuple[time, time] | None, ...] = (
    _MON_THU,
    _MON_THU,
    _MON_THU,
    _MON_THU,
    _FRIDAY,
    None,
    None,
)


def _length(hours: tuple[time, time] | None) -> timedelta:
    if hours is None:
        return ZERO
    opening, closing = (datetime.combine(date.min, t) for t in hours)
    return closing - opening


OPEN_LENGTH_BY_WEEKDAY: tuple[timedelta, ...] = tuple(_length(h) for h in OPENING_HOURS)
FULL_WEEK_LENGTH = sum(OPEN_LENGTH_BY_WEEKDAY, ZERO)

Pause = tuple[datetime, datetime | None]


class Clock(Protocol):
    """A way of counting SLA time: the 24/7 wall clock or business hours."""

    def add(self, start: datetime, duration: timedelta) -> datetime: ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...

    def is_open(self, at: datetime) -> bool: ...


def require_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"naive datetime {instant.isoformat()}: a timezone is required")


def _require_non_negative(duration: timedelta) -> None:
    if duration < ZERO:
        raise ValueError(f"negative duration {duration}")


def _to_bogota_wall_time(instant: datetime) -> datetime:
    return instant.astimezone(BOGOTA).replace(tzinfo=None)


def _from_bogota_wall_time(wall_time: datetime) -> datetime:
    return wall_time.replace(tzinfo=BOGOTA).astimezone(UTC)


class WallClock:
    """24/7 counting (P1): every instant counts."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        require_aware(start)
        _require_non_negative(duration)
        return (start + duration).astimezone(UTC)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        require_aware(start, end)
        return max(ZERO, end - start)

    def is_open(self, at: datetime) -> bool:
        require_aware(at)
        return True


class BusinessCalendar:
    """Bogota business hours, closed on weekends and on the given holiday dates.

    Works day by day in Bogota wall time and jumps over whole weeks, so the cost grows with
    the number of weeks spanned, not with the duration. Wall-time differences within a day
    are exact because Bogota has no DST change during opening hours.
    """

    __slots__ = ("_holidays", "_sorted_holidays")

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self._holidays = frozenset(holidays)
        self._sorted_holidays = tuple(sorted(self._holidays))

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    def __repr__(self) -> str:
        return f"BusinessCalendar(<{len(self._holidays)} holidays>)"

    def is_open(self, at: datetime) -> bool:
        require_aware(at)
        wall_time = _to_bogota_wall_time(at)
        opening, closing = self._open_window(wall_time.date())
        return opening <= wall_time < closing

    def add(self, start: datetime, duration: timedelta) -> datetime:
        require_aware(start)
        _require_non_negative(duration)
        if not duration:
            return start.astimezone(UTC)
        wall_start = _to_bogota_wall_time(start)
        day = wall_start.date()
        remaining = duration
        opening, closing = self._open_window(day, not_before=wall_start)
        if remaining <= closing - opening:
            return _from_bogota_wall_time(opening + remaining)
        remaining -= closing - opening
        day += ONE_DAY
        # Strictly greater: a due instant on the week's last closing is found day by day.
        while remaining > (week_length := self._week_length(day)):
            remaining -= week_length
            day += ONE_WEEK
        while True:
            opening, closing = self._open_window(day)
            if remaining <= closing - opening:
                return _from_bogota_wall_time(opening + remaining)
            remaining -= closing - opening
            day += ONE_DAY

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        require_aware(start, end)
        wall_start, wall_end = _to_bogota_wall_time(start), _to_bogota_wall_time(end)
        if wall_end <= wall_start:
            return ZERO
        total = self._overlap(wall_start.date(), wall_start, wall_end)
        day, last_day = wall_start.date() + ONE_DAY, wall_end.date()
        while day + ONE_WEEK <= last_day:
            total += self._week_length(day)
            day += ONE_WEEK
        while day <= last_day:
            total += self._overlap(day, wall_start, wall_end)
            day += ONE_DAY
        return total

    def _is_business_day(self, day: date) -> bool:
        return OPENING_HOURS[day.weekday()] is not None and day not in self._holidays

    def _open_window(
        self, day: date, not_before: datetime | None = None
    ) -> tuple[datetime, datetime]:
        """The day's open interval in wall time, empty (opening == closing) when closed."""
        hours = OPENING_HOURS[day.weekday()]
        if hours is None or day in self._holidays:
            midnight = datetime.combine(day, time.min)
            return midnight, midnight
        opening, closing = (datetime.combine(day, t) for t in hours)
        if not_before is not None:
            opening = min(max(opening, not_before), closing)
        return opening, closing

    def _overlap(self, day: date, wall_start: datetime, wall_end: datetime) -> timedelta:
        opening, closing = self._open_window(day)
        return max(ZERO, min(closing, wall_end) - max(opening, wall_start))

    def _week_length(self, first_day: date) -> timedelta:
        """Open time in the seven days from first_day: every weekday once, minus holidays."""
        lo = bisect.bisect_left(self._sorted_holidays, first_day)
        hi = bisect.bisect_left(self._sorted_holidays, first_day + ONE_WEEK, lo)
        closed = sum(
            (OPEN_LENGTH_BY_WEEKDAY[d.weekday()] for d in self._sorted_holidays[lo:hi]), ZERO
        )
        return FULL_WEEK_LENGTH - closed


def due_with_pauses(
    clock: Clock, start: datetime, target: timedelta, pauses: Sequence[Pause] = ()
) -> datetime | None:
    """The earliest instant at which time counted since start, outside pauses, equals target.

    Pauses are (paused_at, resumed_at) pairs, sorted, non-overlapping and not before start.
    None when the clock is stopped (a pause still open, resumed_at None) before the target
    is reached; a target reached before that pause began keeps its due instant.
    """
    require_aware(start)
    _require_non_negative(target)
    if not target:
        return start.astimezone(UTC)
    cursor, remaining = start, target
    for paused_at, resumed_at in pauses:
        counted_before_pause = clock.elapsed(cursor, paused_at)
        if remaining <= counted_before_pause:
            return clock.add(cursor, remaining)
        if resumed_at is None:
            return None
        remaining -= counted_before_pause
        cursor = max(cursor, resumed_at)
    return clock.add(cursor, remaining)


def counted(
    clock: Clock, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
) -> timedelta:
    """Counted time in [start, end), excluding the paused intervals."""
    require_aware(start, end)
    total, cursor = ZERO, start
    for paused_at, resumed_at in pauses:
        if paused_at >= end:
            break
        total += clock.elapsed(cursor, paused_at)
        if resumed_at is None:
            return total
        cursor = max(cursor, resumed_at)
    return total + clock.elapsed(cursor, end)


def remaining(
    clock: Clock,
    start: datetime,
    target: timedelta,
    pauses: Sequence[Pause],
    now: datetime,
) -> timedelta:
    """What is left of target at now; zero once the target is reached."""
    return max(ZERO, target - counted(clock, start, now, pauses))
