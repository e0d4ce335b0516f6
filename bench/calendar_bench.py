"""Micro-benchmark of the SLA arithmetic, in microseconds per call.

Run from the repo root: `.venv/bin/python bench/calendar_bench.py`.
"""

import timeit
from collections.abc import Callable
from datetime import datetime, timedelta

from soporte.holiday_dates import colombian_holidays
from soporte.policy import Priority
from soporte.policy.calendar import BOGOTA, BusinessCalendar
from soporte.policy.sla import due_instants

HOLIDAYS = colombian_holidays(2026, 2029)
CALENDAR = BusinessCalendar(HOLIDAYS)
# Opened just before Christmas: the 96 business hours span two holidays and two weekends.
START = datetime(2026, 12, 23, 10, 0, tzinfo=BOGOTA)
REPEAT, NUMBER = 5, 2000


def microseconds_per_call(call: Callable[[], object]) -> float:
    best = min(timeit.repeat(call, repeat=REPEAT, number=NUMBER))
    return best / NUMBER * 1e6


def main() -> None:
    cases: dict[str, Callable[[], object]] = {
        "P3 due_instants (4 instants, builds the calendar)": lambda: due_instants(
            Priority.P3, START, HOLIDAYS
        ),
        "BusinessCalendar.add 96 h": lambda: CALENDAR.add(START, timedelta(hours=96)),
        "BusinessCalendar.elapsed over 15 days": lambda: CALENDAR.elapsed(
            START, START + timedelta(days=15)
        ),
    }
    for name, call in cases.items():
        print(f"{name}: {microseconds_per_call(call):.1f} us/call")


if __name__ == "__main__":
    main()
