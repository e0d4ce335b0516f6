"""Business-hours calendar and SLA due instants, checked against a slow reference.

The reference knows, for every minute of 2025 through mid-2028 in Bogota wall time, whether
the desk is open, and walks minute by minute (second by second inside a start's first
minute). All opening and closing times fall on whole minutes, so that is exact.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from soporte.holiday_dates import colombian_holidays, holidays_around
from soporte.policy import Priority
from soporte.policy.calendar import (
    BOGOTA,
    BusinessCalendar,
    Clock,
    Pause,
    WallClock,
    counted,
    due_with_pauses,
    remaining,
)
from soporte.policy.sla import SLA_TARGETS, DueInstants, clock_for, due_instants

HOLIDAYS = colombian_holidays(2024, 2028)
CALENDAR = BusinessCalendar(HOLIDAYS)
WALL = WallClock()
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


def bogota(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BOGOTA)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# --- The slow reference --------------------------------------------------------------------

# A fixed offset on purpose, independent of zoneinfo: Bogota has kept UTC-5 without DST
# since 1993.
REF_TZ = timezone(timedelta(hours=-5))
REF_EPOCH = datetime(2025, 1, 1)
REF_DAYS = (date(2028, 7, 1) - REF_EPOCH.date()).days
LAST_START_SECOND = int((datetime(2028, 1, 1) - REF_EPOCH).total_seconds()) - 1
HOLIDAY_SET = frozenset(HOLIDAYS)


def _reference_open_minutes(day: date) -> list[bool]:
    if day.weekday() >= 5 or day in HOLIDAY_SET:
        return [False] * 1440
    opening, closing = (7 * 60, 17 * 60) if day.weekday() == 4 else (7 * 60 + 30, 18 * 60)
    return [opening <= minute < closing for minute in range(1440)]


OPEN_MINUTES: list[bool] = [
    is_open
    for day_index in range(REF_DAYS)
    for is_open in _reference_open_minutes(REF_EPOCH.date() + timedelta(days=day_index))
]

MinuteCounts = Callable[[int], bool]


def to_ref_seconds(instant: datetime) -> int:
    delta = instant.astimezone(REF_TZ).replace(tzinfo=None) - REF_EPOCH
    assert delta.microseconds == 0
    return int(delta.total_seconds())


def from_ref_seconds(seconds: int) -> datetime:
    return (REF_EPOCH + timedelta(seconds=seconds)).replace(tzinfo=REF_TZ)


def business_minute(minute: int) -> bool:
    return OPEN_MINUTES[minute]


def wall_minute(minute: int) -> bool:
    return True


def ref_add(
    start: int, target: int, counts: MinuteCounts, stop_minute: int | None = None
) -> int | None:
    """Seconds at which `target` counted seconds have passed; None if stop_minute comes first."""
    if target == 0:
        return start
    minute, offset = divmod(start, 60)
    left = target
    while stop_minute is None or minute < stop_minute:
        if counts(minute):
            available = 60 - offset
            if left <= available:
                return minute * 60 + offset + left
            left -= available
        offset = 0
        minute += 1
    return None


def ref_elapsed(start: int, end: int, counts: MinuteCounts) -> int:
    total = 0
    minute = start // 60
    while minute * 60 < end:
        if counts(minute):
            total += max(0, min(minute * 60 + 60, end) - max(minute * 60, start))
        minute += 1
    return total


def counts_outside_pauses(base: MinuteCounts, pauses: Sequence[Pause]) -> MinuteCounts:
    paused: set[int] = set()
    stop_minute: int | None = None
    for paused_at, resumed_at in pauses:
        first = to_ref_seconds(paused_at) // 60
        if resumed_at is None:
            stop_minute = first
        else:
            paused.update(range(first, to_ref_seconds(resumed_at) // 60))

    def counts(minute: int) -> bool:
        stopped = stop_minute is not None and minute >= stop_minute
        return base(minute) and minute not in paused and not stopped

    return counts


def open_pause_minute(pauses: Sequence[Pause]) -> int | None:
    if pauses and pauses[-1][1] is None:
        return to_ref_seconds(pauses[-1][0]) // 60
    return None


# --- Strategies ----------------------------------------------------------------------------

ZONES = [UTC, BOGOTA, ZoneInfo("Europe/Madrid"), ZoneInfo("Asia/Tokyo")]
# Minutes of the day where something happens, to hit the boundaries often.
BOUNDARY_MINUTES = [0, 6 * 60, 7 * 60, 7 * 60 + 30, 12 * 60, 17 * 60, 18 * 60, 23 * 60 + 59]

any_second = st.integers(0, LAST_START_SECOND)
whole_minute = st.integers(0, LAST_START_SECOND // 60).map(lambda minute: minute * 60)
near_boundary = st.builds(
    lambda day, minute, jitter: max(0, day * 86400 + minute * 60 + jitter),
    st.integers(0, LAST_START_SECOND // 86400),
    st.sampled_from(BOUNDARY_MINUTES),
    st.sampled_from([-1, 0, 0, 0, 1, 30]),
)
start_seconds = st.one_of(any_second, whole_minute, near_boundary)
starts = st.builds(
    lambda seconds, zone: from_ref_seconds(seconds).astimezone(zone),
    start_seconds,
    st.sampled_from(ZONES),
)
minute_starts = whole_minute.map(lambda seconds: from_ref_seconds(seconds).astimezone(UTC))
targets = st.one_of(
    st.integers(1, 96 * 60).map(lambda minutes: timedelta(minutes=minutes)),
    st.integers(1, 96 * 3600).map(lambda seconds: timedelta(seconds=seconds)),
    st.sampled_from([hours(1), hours(24), hours(96), hours(52), hours(10.5), hours(10)]),
)


@st.composite
def pause_lists(draw: st.DrawFn, start: datetime) -> list[Pause]:
    """Sorted, non-overlapping, minute-aligned pauses at/after start; the last may be open."""
    pauses: list[Pause] = []
    cursor = start
    for _ in range(draw(st.integers(0, 3))):
        paused_at = cursor + timedelta(minutes=draw(st.integers(0, 3 * 1440)))
        resumed_at = paused_at + timedelta(minutes=draw(st.integers(1, 4 * 1440)))
        pauses.append((paused_at, resumed_at))
        cursor = resumed_at
    leave_last_open: bool = draw(st.booleans())
    if pauses and leave_last_open:
        pauses[-1] = (pauses[-1][0], None)
    return pauses


@st.composite
def paused_tickets(draw: st.DrawFn) -> tuple[datetime, list[Pause]]:
    start = draw(minute_starts)
    return start, draw(pause_lists(start))


# --- Holidays ------------------------------------------------------------------------------


def test_holiday_dates_come_from_the_holidays_package() -> None:
    assert date(2026, 7, 13) in HOLIDAYS  # Chiquinquirá, first observed in 2026
    assert date(2026, 4, 2) in HOLIDAYS  # Holy Thursday
    assert date(2026, 4, 3) in HOLIDAYS  # Good Friday
    assert date(2026, 12, 25) in HOLIDAYS
    assert date(2027, 1, 1) in HOLIDAYS
    assert sorted(HOLIDAYS) == HOLIDAYS
    assert {d.year for d in HOLIDAYS} == {2024, 2025, 2026, 2027, 2028}


def test_holidays_around_uses_the_bogota_year() -> None:
    new_year_eve_in_bogota = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    dates = holidays_around(new_year_eve_in_bogota, years_after=1)
    assert dates[0] == date(2025, 1, 1)
    assert dates[-1].year == 2026


# --- Business calendar: exact cases --------------------------------------------------------

ADD_CASES = [
    # (start in Bogota, duration, expected due in Bogota)
    pytest.param(
        bogota(2026, 11, 23, 17, 0), hours(1), bogota(2026, 11, 23, 18, 0), id="due-at-closing"
    ),
    pytest.param(
        bogota(2026, 11, 23, 7, 30), hours(10.5), bogota(2026, 11, 23, 18, 0), id="whole-day"
    ),
    pytest.param(
        bogota(2026, 11, 23, 6, 0), hours(1), bogota(2026, 11, 23, 8, 30), id="before-opening"
    ),
    pytest.param(
        bogota(2026, 11, 23, 7, 30), hours(1), bogota(2026, 11, 23, 8, 30), id="at-opening"
    ),
    pytest.param(
        bogota(2026, 11, 23, 18, 0), hours(1), bogota(2026, 11, 24, 8, 30), id="at-closing"
    ),
    pytest.param(bogota(2026, 11, 24, 0, 0), hours(1), bogota(2026, 11, 24, 8, 30), id="midnight"),
    pytest.param(
        bogota(2026, 11, 27, 7, 0), hours(10), bogota(2026, 11, 27, 17, 0), id="friday-day"
    ),
    pytest.param(bogota(2026, 11, 27, 6, 59), hours(1), bogota(2026, 11, 27, 8, 0), id="friday-7"),
    pytest.param(
        bogota(2026, 11, 27, 17, 0), hours(1), bogota(2026, 11, 30, 8, 30), id="fri-close"
    ),
    pytest.param(bogota(2026, 11, 28, 10, 0), hours(1), bogota(2026, 11, 30, 8, 30), id="saturday"),
    pytest.param(
        bogota(2026, 11, 29, 23, 59, 59),
        timedelta(seconds=1),
        bogota(2026, 11, 30, 7, 30, 1),
        id="sunday-night",
    ),
    pytest.param(bogota(2026, 7, 10, 16, 0), hours(2), bogota(2026, 7, 14, 8, 30), id="jul-13"),
    pytest.param(bogota(2026, 4, 1, 17, 0), hours(2), bogota(2026, 4, 6, 8, 30), id="holy-week"),
    pytest.param(bogota(2026, 12, 24, 17, 0), hours(2), bogota(2026, 12, 28, 8, 30), id="xmas"),
    pytest.param(
        bogota(2026, 12, 31, 17, 59, 30),
        timedelta(minutes=1),
        bogota(2027, 1, 4, 7, 30, 30),
        id="year-end",
    ),
    pytest.param(bogota(2026, 12, 23, 10, 0), hours(96), bogota(2027, 1, 7, 11, 30), id="p3-xmas"),
    # A whole week of hours ends on Friday's closing, not on Monday's opening.
    pytest.param(bogota(2026, 11, 23, 7, 30), hours(52), bogota(2026, 11, 27, 17, 0), id="week"),
    pytest.param(
        bogota(2026, 11, 23, 7, 30),
        hours(52) + timedelta(seconds=1),
        bogota(2026, 11, 30, 7, 30, 1),
        id="week-and-a-second",
    ),
    pytest.param(bogota(2026, 11, 27, 17, 0), hours(52), bogota(2026, 12, 4, 17, 0), id="fri-week"),
]


@pytest.mark.parametrize(("start", "duration", "expected"), ADD_CASES)
def test_add_exact_cases(start: datetime, duration: timedelta, expected: datetime) -> None:
    due = CALENDAR.add(start, duration)
    assert due == expected
    assert due.tzinfo is UTC


def test_zero_duration_does_not_move_the_start() -> None:
    saturday = bogota(2026, 11, 28, 10, 0, 0)
    assert CALENDAR.add(saturday, timedelta(0)) == saturday


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (bogota(2026, 11, 27, 16, 30), bogota(2026, 11, 30, 8, 0), hours(1)),
        (bogota(2026, 11, 23, 7, 30), bogota(2026, 11, 30, 7, 30), hours(52)),
        (bogota(2026, 12, 21, 0, 0), bogota(2026, 12, 28, 0, 0), hours(42)),
        (bogota(2026, 11, 23, 12, 0), bogota(2026, 11, 23, 12, 0), timedelta(0)),
        (bogota(2026, 11, 23, 12, 0), bogota(2026, 11, 23, 11, 0), timedelta(0)),
    ],
)
def test_elapsed_exact_cases(start: datetime, end: datetime, expected: timedelta) -> None:
    assert CALENDAR.elapsed(start, end) == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (bogota(2026, 11, 23, 7, 29, 59), False),
        (bogota(2026, 11, 23, 7, 30), True),
        (bogota(2026, 11, 23, 17, 59, 59), True),
        (bogota(2026, 11, 23, 18, 0), False),
        (bogota(2026, 11, 27, 7, 0), True),
        (bogota(2026, 11, 27, 17, 0), False),
        (bogota(2026, 11, 28, 10, 0), False),
        (bogota(2026, 7, 13, 10, 0), False),
    ],
)
def test_is_open_exact_cases(at: datetime, expected: bool) -> None:
    assert CALENDAR.is_open(at) is expected


@pytest.mark.parametrize("clock", [CALENDAR, WALL], ids=["business", "wall"])
def test_naive_datetimes_are_refused(clock: Clock) -> None:
    naive = datetime(2026, 11, 23, 9, 0)
    aware = bogota(2026, 11, 23, 9, 0)
    with pytest.raises(ValueError, match="naive"):
        clock.add(naive, hours(1))
    with pytest.raises(ValueError, match="naive"):
        clock.elapsed(aware, naive)
    with pytest.raises(ValueError, match="naive"):
        clock.is_open(naive)


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        CALENDAR.add(bogota(2026, 11, 23, 9, 0), -hours(1))


# --- Business calendar: properties against the reference -----------------------------------


@PROPERTY_SETTINGS
@given(start=starts, target=targets)
@example(start=bogota(2026, 7, 13, 9, 0), target=hours(1))
@example(start=bogota(2026, 7, 10, 16, 59, 59), target=hours(96))
@example(start=bogota(2026, 4, 2, 8, 0), target=hours(24))
@example(start=bogota(2026, 4, 1, 17, 59), target=timedelta(minutes=2))
@example(start=bogota(2026, 12, 23, 10, 0), target=hours(96))
@example(start=bogota(2026, 12, 24, 18, 0), target=hours(24))
@example(start=bogota(2026, 12, 31, 17, 59, 30), target=timedelta(minutes=1))
@example(start=bogota(2026, 11, 23, 6, 0), target=hours(1))
@example(start=bogota(2026, 11, 23, 7, 30), target=hours(10.5))
@example(start=bogota(2026, 11, 23, 18, 0), target=hours(1))
@example(start=bogota(2026, 11, 27, 17, 0), target=hours(10))
@example(start=bogota(2026, 11, 27, 16, 30), target=hours(24))
@example(start=bogota(2026, 11, 28, 12, 0), target=hours(52))
@example(start=bogota(2026, 11, 29, 12, 0), target=hours(96))
@example(start=bogota(2026, 11, 24, 0, 0), target=hours(1))
def test_add_matches_reference(start: datetime, target: timedelta) -> None:
    expected = ref_add(to_ref_seconds(start), int(target.total_seconds()), business_minute)
    assert expected is not None
    due = CALENDAR.add(start, target)
    assert due == from_ref_seconds(expected)
    assert due.tzinfo is UTC


@PROPERTY_SETTINGS
@given(start=starts, target=targets)
@example(start=bogota(2026, 11, 23, 17, 0), target=hours(1))
@example(start=bogota(2026, 11, 27, 7, 0), target=hours(10))
def test_add_is_the_earliest_instant_reaching_the_target(
    start: datetime, target: timedelta
) -> None:
    due = CALENDAR.add(start, target)
    assert CALENDAR.elapsed(start, due) == target
    assert CALENDAR.elapsed(start, due - timedelta(seconds=1)) < target


@PROPERTY_SETTINGS
@given(start=starts, span=st.integers(-3600, 20 * 86400))
@example(start=bogota(2026, 7, 10, 12, 0), span=5 * 86400)
@example(start=bogota(2026, 3, 30, 0, 0), span=8 * 86400)
@example(start=bogota(2026, 12, 21, 0, 0), span=14 * 86400)
@example(start=bogota(2026, 12, 31, 17, 59, 30), span=4 * 86400)
@example(start=bogota(2026, 11, 23, 7, 30), span=7 * 86400)
def test_elapsed_matches_reference(start: datetime, span: int) -> None:
    end = start + timedelta(seconds=span)
    expected = ref_elapsed(to_ref_seconds(start), to_ref_seconds(end), business_minute)
    assert CALENDAR.elapsed(start, end) == timedelta(seconds=expected)


@PROPERTY_SETTINGS
@given(at=starts)
def test_is_open_matches_reference(at: datetime) -> None:
    assert CALENDAR.is_open(at) is OPEN_MINUTES[to_ref_seconds(at) // 60]


# --- Pauses --------------------------------------------------------------------------------

PAUSE_EXAMPLE_START = bogota(2026, 11, 19, 10, 0)
WEEKEND_PAUSE: list[Pause] = [(bogota(2026, 11, 20, 16, 0), bogota(2026, 11, 23, 9, 0))]
HOLY_WEEK_PAUSE: list[Pause] = [(bogota(2026, 3, 31, 12, 0), bogota(2026, 4, 4, 10, 0))]


@PROPERTY_SETTINGS
@given(ticket=paused_tickets(), target=targets, business=st.booleans())
@example(ticket=(PAUSE_EXAMPLE_START, WEEKEND_PAUSE), target=hours(24), business=True)
@example(ticket=(bogota(2026, 3, 30, 8, 0), HOLY_WEEK_PAUSE), target=hours(24), business=True)
@example(
    ticket=(bogota(2026, 11, 28, 22, 0), [(bogota(2026, 11, 28, 22, 30), None)]),
    target=hours(1),
    business=False,
)
def test_due_with_pauses_matches_reference(
    ticket: tuple[datetime, list[Pause]], target: timedelta, business: bool
) -> None:
    start, pauses = ticket
    clock: Clock = CALENDAR if business else WALL
    counts = counts_outside_pauses(business_minute if business else wall_minute, pauses)
    expected = ref_add(
        to_ref_seconds(start), int(target.total_seconds()), counts, open_pause_minute(pauses)
    )
    due = due_with_pauses(clock, start, target, pauses)
    assert due == (None if expected is None else from_ref_seconds(expected))


@PROPERTY_SETTINGS
@given(ticket=paused_tickets(), span_minutes=st.integers(0, 20 * 1440), business=st.booleans())
@example(ticket=(PAUSE_EXAMPLE_START, WEEKEND_PAUSE), span_minutes=6 * 1440, business=True)
def test_counted_and_remaining_match_reference(
    ticket: tuple[datetime, list[Pause]], span_minutes: int, business: bool
) -> None:
    start, pauses = ticket
    now = start + timedelta(minutes=span_minutes)
    clock: Clock = CALENDAR if business else WALL
    counts = counts_outside_pauses(business_minute if business else wall_minute, pauses)
    expected = timedelta(seconds=ref_elapsed(to_ref_seconds(start), to_ref_seconds(now), counts))
    assert counted(clock, start, now, pauses) == expected
    target = hours(24)
    assert remaining(clock, start, target, pauses, now) == max(timedelta(0), target - expected)


def test_pause_over_a_weekend_moves_the_due_instant() -> None:
    # Thu 10:00-18:00 (8 h) + Fri 07:00-16:00 (9 h), paused, Mon from 09:00 needs 7 h more.
    due = due_with_pauses(CALENDAR, PAUSE_EXAMPLE_START, hours(24), WEEKEND_PAUSE)
    assert due == bogota(2026, 11, 23, 16, 0)
    assert CALENDAR.add(PAUSE_EXAMPLE_START, hours(24)) == bogota(2026, 11, 23, 13, 30)


def test_remaining_after_the_client_replies_on_day_four() -> None:
    start = bogota(2026, 11, 23, 8, 0)  # P3, Monday
    asked, replied = bogota(2026, 11, 24, 12, 0), bogota(2026, 11, 26, 10, 0)
    # Mon 08:00-18:00 (10 h) + Tue 07:30-12:00 (4.5 h) counted before the pause.
    left = hours(96 - 14.5)
    waiting: list[Pause] = [(asked, None)]
    assert remaining(CALENDAR, start, hours(96), waiting, bogota(2026, 11, 25, 15, 0)) == left
    assert due_with_pauses(CALENDAR, start, hours(96), waiting) is None

    resumed: list[Pause] = [(asked, replied)]
    assert remaining(CALENDAR, start, hours(96), resumed, replied) == left
    assert remaining(CALENDAR, start, hours(96), resumed, bogota(2026, 12, 4, 17, 0)) == hours(11.5)
    # 81.5 h from Thu 10:00 ends Wed 2026-12-09 08:30 (Tue 2026-12-08 is a holiday).
    assert due_with_pauses(CALENDAR, start, hours(96), resumed) == bogota(2026, 12, 9, 8, 30)
    assert due_with_pauses(CALENDAR, start, hours(96), resumed) == CALENDAR.add(replied, left)
    assert remaining(CALENDAR, start, hours(96), resumed, bogota(2026, 12, 10, 8, 0)) == hours(0)


def test_a_target_reached_before_an_open_pause_keeps_its_due_instant() -> None:
    start = bogota(2026, 11, 23, 8, 0)
    waiting: list[Pause] = [(bogota(2026, 11, 23, 10, 0), None)]
    assert due_with_pauses(CALENDAR, start, hours(1), waiting) == bogota(2026, 11, 23, 9, 0)
    assert due_with_pauses(CALENDAR, start, hours(2), waiting) == bogota(2026, 11, 23, 10, 0)
    assert due_with_pauses(CALENDAR, start, hours(3), waiting) is None


# --- SLA due instants ----------------------------------------------------------------------


def test_policy_example_p2_opened_friday_afternoon() -> None:
    due = due_instants(Priority.P2, bogota(2026, 11, 27, 16, 30), HOLIDAYS)
    assert due == DueInstants(
        first_response_due=bogota(2026, 11, 30, 8, 0, 0),
        resolution_due=bogota(2026, 12, 2, 10, 0, 0),
        first_response_warning=bogota(2026, 11, 30, 7, 45, 0),
        resolution_warning=bogota(2026, 12, 1, 14, 30, 0),
    )
    assert due.first_response_due is not None
    assert due.first_response_due.astimezone(BOGOTA).isoformat() == "2026-11-30T08:00:00-05:00"
    assert due.resolution_due is not None
    assert due.resolution_due.astimezone(BOGOTA).isoformat() == "2026-12-02T10:00:00-05:00"


def test_p3_opened_before_christmas() -> None:
    due = due_instants(Priority.P3, bogota(2026, 12, 23, 10, 0), HOLIDAYS)
    assert due.first_response_due == bogota(2026, 12, 23, 11, 0)
    assert due.resolution_due == bogota(2027, 1, 7, 11, 30)


def test_p1_on_a_saturday_night_runs_on_the_wall_clock() -> None:
    due = due_instants(Priority.P1, bogota(2026, 11, 28, 22, 0), HOLIDAYS)
    assert due == DueInstants(
        first_response_due=bogota(2026, 11, 28, 23, 0),
        resolution_due=bogota(2026, 11, 29, 6, 0),
        first_response_warning=bogota(2026, 11, 28, 22, 45),
        resolution_warning=bogota(2026, 11, 29, 4, 0),
    )


def test_open_pause_leaves_unreached_instants_unknown() -> None:
    start = bogota(2026, 11, 23, 8, 0)
    due = due_instants(Priority.P2, start, HOLIDAYS, pauses=[(bogota(2026, 11, 23, 10, 0), None)])
    assert due.first_response_due == bogota(2026, 11, 23, 9, 0)
    assert due.resolution_due is None
    assert due.resolution_warning is None


def test_warning_ratio_is_configurable() -> None:
    due = due_instants(Priority.P3, bogota(2026, 11, 23, 8, 0), HOLIDAYS, warning_ratio=0.5)
    assert due.first_response_warning == bogota(2026, 11, 23, 8, 30)
    assert due.resolution_warning == CALENDAR.add(bogota(2026, 11, 23, 8, 0), hours(48))
    with pytest.raises(ValueError, match="warning_ratio"):
        due_instants(Priority.P3, bogota(2026, 11, 23, 8, 0), HOLIDAYS, warning_ratio=1.5)


@pytest.mark.parametrize("priority", [Priority.REQUIREMENT, Priority.ADVISORY])
def test_priorities_without_a_clock_are_refused(priority: Priority) -> None:
    with pytest.raises(ValueError, match="no SLA clock"):
        due_instants(priority, bogota(2026, 11, 23, 8, 0), HOLIDAYS)
    with pytest.raises(ValueError, match="no SLA clock"):
        clock_for(priority, HOLIDAYS)


def test_targets_and_clocks_per_priority() -> None:
    assert set(SLA_TARGETS) == {Priority.P1, Priority.P2, Priority.P3}
    assert isinstance(clock_for(Priority.P1, HOLIDAYS), WallClock)
    assert isinstance(clock_for(Priority.P2, HOLIDAYS), BusinessCalendar)
    assert SLA_TARGETS[Priority.P3].resolution == hours(96)
