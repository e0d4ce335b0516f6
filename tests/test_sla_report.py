"""soporte.policy.sla_report, pure: the per-ticket facts from the workflow rules' own states and
logs, and the aggregation's sums for random sets (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from soporte.policy import Priority
from soporte.policy.sla_report import (
    GroupBy,
    Outcome,
    ReportTicket,
    aggregate,
    current_outcome,
    next_due,
    outcome,
    sla_facts,
)
from tests.ticket_paths import Walk
from tests.workflow_support import HOLIDAYS, bogota

NOW = datetime(2026, 11, 15, tzinfo=UTC)


def facts(walk: Walk):  # type: ignore[no-untyped-def]
    return sla_facts(walk.view, walk.state.pending_events, HOLIDAYS)


def test_a_p2_answered_late_is_breached_with_its_counted_seconds() -> None:
    walk = Walk.open(1, bogota(2026, 11, 23, 9)).reply(bogota(2026, 11, 23, 11, 30))
    got = facts(walk)
    assert got.first_response_outcome is Outcome.BREACHED
    assert got.first_response_seconds == 9000
    assert got.next_due == walk.view.sla.resolution_due
    assert got.opened_on == date(2026, 11, 23)


def test_a_start_before_opening_counts_from_the_opening() -> None:
    # P2 opened Saturday: business time counts from Monday 07:30; answered Monday 08:00.
    walk = Walk.open(2, bogota(2026, 11, 28, 10)).reply(bogota(2026, 11, 30, 8))
    assert facts(walk).first_response_seconds == 1800
    assert facts(walk).first_response_outcome is Outcome.MET


def test_an_open_pause_has_no_next_due_and_counts_once_it_ends() -> None:
    walk = Walk.open(3, bogota(2026, 11, 27, 15), priority=Priority.P3)
    walk.request_info(bogota(2026, 11, 27, 16))
    waiting = facts(walk)
    assert waiting.next_due is None and next_due(walk.view) is None
    assert waiting.paused_seconds == 0
    walk.client_reply(bogota(2026, 11, 30, 8))  # Fri 16:00-17:00, Mon 07:30-08:00
    assert facts(walk).paused_seconds == 5400
    assert facts(walk).next_due == walk.view.sla.resolution_due


def test_a_resolution_while_waiting_ends_the_pause() -> None:
    walk = Walk.open(4, bogota(2026, 11, 24, 9)).request_info(bogota(2026, 11, 24, 9, 30))
    walk.resolve(bogota(2026, 11, 24, 11))
    got = facts(walk)
    assert got.paused_seconds == 5400
    assert got.resolution_seconds == 1800  # 09:00-09:30; the pause is not counted
    assert got.next_due is None


def test_a_reopened_ticket_counts_its_last_period_and_keeps_an_earlier_breach() -> None:
    walk = Walk.open(5, bogota(2026, 11, 23, 9), priority=Priority.P1)
    walk.reply(bogota(2026, 11, 23, 9, 10)).resolve(bogota(2026, 11, 23, 18))  # 9 h: breached
    walk.reopen(bogota(2026, 11, 24, 9)).resolve(bogota(2026, 11, 24, 10))
    got = facts(walk)
    assert got.reopen_count == 1
    assert got.resolution_seconds == 3600
    assert got.resolution_outcome is Outcome.BREACHED  # fired at 17:00 on the first day


def test_outcome_rules() -> None:
    due = datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert outcome(due, due, False) is Outcome.MET  # reached exactly on time
    assert outcome(due + timedelta(seconds=1), due, False) is Outcome.BREACHED
    assert outcome(None, due, True) is Outcome.BREACHED
    assert outcome(None, due, False) is Outcome.PENDING
    assert outcome(None, due, False, now=due) is Outcome.BREACHED
    assert current_outcome(Outcome.PENDING, due, due - timedelta(seconds=1)) is Outcome.PENDING
    assert current_outcome(Outcome.PENDING, None, NOW) is Outcome.PENDING


instants = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2026, 10, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
)
tickets = st.builds(
    ReportTicket,
    priority=st.sampled_from([Priority.P1, Priority.P2, Priority.P3]),
    nit=st.sampled_from(["900123456-7", "800197268-4"]),
    assignee=st.sampled_from([None, "ana@btw.com.co", "luis@btw.com.co"]),
    opened_on=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    first_response_outcome=st.sampled_from(list(Outcome)),
    first_response_due=instants,
    resolution_outcome=st.sampled_from(list(Outcome)),
    resolution_due=instants,
    first_response_seconds=st.one_of(st.none(), st.integers(0, 10**7)),
    resolution_seconds=st.one_of(st.none(), st.integers(0, 10**7)),
    paused_seconds=st.integers(0, 10**6),
    reopen_count=st.integers(0, 3),
    rating=st.one_of(st.none(), st.integers(1, 5)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(tickets, max_size=40), st.sampled_from(list(GroupBy)))
def test_the_sums_hold_for_any_set(items: list[ReportTicket], group_by: GroupBy) -> None:
    rows = aggregate(items, group_by, NOW)
    assert sum(row.tickets for row in rows) == len(items)
    assert sum(row.paused_seconds for row in rows) == sum(t.paused_seconds for t in items)
    assert sum(row.reopened for row in rows) == sum(1 for t in items if t.reopen_count)
    assert len({row.key for row in rows}) == len(rows)
    for row in rows:
        for counts in (row.first_response, row.resolution):
            assert counts.met + counts.breached + counts.pending == row.tickets
        assert 0 <= row.reopened <= row.tickets
        assert row.csat_average is None or 1 <= row.csat_average <= 5
    met = sum(row.first_response.met for row in rows)
    assert met == sum(1 for t in items if t.first_response_outcome is Outcome.MET)
