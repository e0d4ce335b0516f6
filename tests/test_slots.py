"""Advisory slots: inside business hours, never on holidays or over a booked slot."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from soporte.holiday_dates import colombian_holidays
from soporte.policy.calendar import BOGOTA, BusinessCalendar
from soporte.policy.slots import free_slots, reminder_at, validate_booking

CALENDAR = BusinessCalendar(colombian_holidays(2026, 2027))
HOUR = timedelta(hours=1)


def bogota(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BOGOTA)


def on_day(slots: list[datetime], day: date) -> list[str]:
    return [f"{s.astimezone(BOGOTA):%H:%M}" for s in slots if s.astimezone(BOGOTA).date() == day]


def test_a_monday_offers_hour_slots_from_opening_to_the_last_that_ends_by_closing():
    slots = free_slots(CALENDAR, bogota(2026, 11, 30, 0, 0), timedelta(days=1), HOUR)
    times = on_day(slots, date(2026, 11, 30))
    assert times[0] == "07:30" and times[-1] == "17:00"
    assert len(times) == 20  # 07:30 .. 17:00 every half hour


def test_friday_hours_are_seven_to_five():
    slots = free_slots(CALENDAR, bogota(2026, 12, 4, 0, 0), timedelta(days=1), HOUR)
    times = on_day(slots, date(2026, 12, 4))
    assert times[0] == "07:00" and times[-1] == "16:00"


def test_slots_start_at_the_next_half_hour_after_now():
    slots = free_slots(CALENDAR, bogota(2026, 11, 30, 9, 10), timedelta(hours=3), HOUR)
    assert on_day(slots, date(2026, 11, 30))[:2] == ["09:30", "10:00"]


def test_weekends_and_holidays_are_excluded():
    # 2026-12-08 (Tuesday) is the Inmaculada Concepción holiday.
    slots = free_slots(CALENDAR, bogota(2026, 12, 5, 0, 0), timedelta(days=4), HOUR)
    days = {s.astimezone(BOGOTA).date() for s in slots}
    assert days == {date(2026, 12, 7)}


def test_a_booked_slot_and_the_slots_overlapping_it_are_excluded():
    booked = [bogota(2026, 11, 30, 10, 0)]
    slots = free_slots(CALENDAR, bogota(2026, 11, 30, 9, 0), timedelta(hours=4), HOUR, booked)
    assert on_day(slots, date(2026, 11, 30)) == ["09:00", "11:00", "11:30", "12:00", "12:30"]


def test_slot_length_and_horizon_are_configurable():
    two_hours = timedelta(hours=2)
    slots = free_slots(CALENDAR, bogota(2026, 11, 30, 16, 0), two_hours, two_hours)
    assert on_day(slots, date(2026, 11, 30)) == ["16:00"]


def test_validation_says_why_a_slot_cannot_be_booked():
    now = bogota(2026, 11, 30, 9, 0)
    booked = [bogota(2026, 12, 1, 10, 0)]

    def reason(start: datetime) -> str | None:
        refusal = validate_booking(CALENDAR, now, start, timedelta(days=14), HOUR, booked)
        return None if refusal is None else str(refusal)

    assert reason(bogota(2026, 12, 1, 11, 0)) is None
    assert "past" in (reason(bogota(2026, 11, 30, 8, 0)) or "")
    assert "beyond" in (reason(bogota(2027, 1, 30, 9, 0)) or "")
    assert "half-hour" in (reason(bogota(2026, 12, 1, 9, 15)) or "")
    assert "business hours" in (reason(bogota(2026, 12, 1, 17, 30)) or "")
    assert "business hours" in (reason(bogota(2026, 12, 8, 9, 0)) or "")
    assert "taken" in (reason(bogota(2026, 12, 1, 10, 30)) or "")
    assert "timezone" in (reason(datetime(2026, 12, 1, 11, 0)) or "")


def test_the_reminder_goes_one_business_day_before():
    assert reminder_at(CALENDAR, bogota(2026, 12, 2, 9, 0)) == bogota(2026, 12, 1, 9, 0)
    # Monday's slot is reminded on Friday; Wednesday after the holiday, on Monday.
    assert reminder_at(CALENDAR, bogota(2026, 11, 30, 9, 0)) == bogota(2026, 11, 27, 9, 0)
    assert reminder_at(CALENDAR, bogota(2026, 12, 9, 9, 0)) == bogota(2026, 12, 7, 9, 0)


@settings(max_examples=60, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 10, 1)),
    length_halves=st.integers(min_value=1, max_value=6),
    horizon_days=st.integers(min_value=1, max_value=10),
)
def test_every_slot_lies_inside_business_hours(
    now: datetime, length_halves: int, horizon_days: int
):
    start = now.replace(tzinfo=UTC)
    length = timedelta(minutes=30 * length_halves)
    for slot in free_slots(CALENDAR, start, timedelta(days=horizon_days), length):
        assert start <= slot < start + timedelta(days=horizon_days)
        assert CALENDAR.is_open(slot)
        assert CALENDAR.is_open(slot + length - timedelta(seconds=1))
        assert slot.astimezone(BOGOTA).date() == (slot + length).astimezone(BOGOTA).date()
