"""SLA figures of tickets: what the read model keeps per ticket, and the report's rows.

Pure (pydantic + stdlib + the SLA clock): the projection activity computes each ticket's
`SlaFacts` from its view and its log; the report service aggregates them in SQL, and
`aggregate` here is the same aggregation in Python (the reference the tests hold it to).

Every second is a counted second of the ticket's own clock (business hours for P2/P3 through
the one calendar, the wall clock for P1), pauses excluded, exactly as the due instants are
computed (soporte.ticket_state.sla_instants):
- first response: from the SLA start to the first public reply, without the pauses that
  began before it;
- resolution: from the SLA start, or from the last reopening, to the resolution, without
  the pauses since;
- paused: the clock's time inside the pauses that have ended.

A target is *breached* when the workflow fired its breach (at any time: a breach notified
before a reopening stays one), when it was reached after its due instant, or when it is not
reached and its due instant has passed; *met* when reached in time; else *pending*.
"""

from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from soporte.policy import Priority, Status
from soporte.policy.calendar import BOGOTA, Pause, counted
from soporte.policy.sla import clock_for
from soporte.policy.tickets import EventType, LogEvent, TicketView

CLOSED_STATUSES = (Status.RESOLVED, Status.CLOSED)
# The log lines the facts are computed from (the projection reads only these back).
FACT_EVENTS = (
    EventType.SLA_PAUSED.value,
    EventType.SLA_RESUMED.value,
    EventType.RESOLVED.value,
    EventType.REOPENED.value,
    EventType.SLA_BREACH.value,
)


class Outcome(StrEnum):
    MET = "met"
    BREACHED = "breached"
    PENDING = "pending"


class GroupBy(StrEnum):
    PRIORITY = "priority"
    CLIENT = "client"
    ENGINEER = "engineer"
    MONTH = "month"


@dataclass(frozen=True)
class SlaFacts:
    """The SLA columns of one ticket's row in the read model."""

    opened_on: date
    next_due: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    first_response_outcome: Outcome
    resolution_outcome: Outcome
    first_response_seconds: int | None
    resolution_seconds: int | None
    paused_seconds: int
    reopen_count: int
    rating: int | None


def bogota_day(instant: datetime) -> date:
    return instant.astimezone(BOGOTA).date()


def search_text(*parts: str) -> str:
    """Text folded for search: lower case, accents dropped ("Facturación" ~ "facturacion")."""
    return fold(" \n".join(parts))


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def next_due(view: TicketView) -> datetime | None:
    """The next SLA instant not yet met: first response while unanswered, else resolution;
    None without a running clock (no SLA, not started, paused, resolved or closed)."""
    sla = view.sla
    if not view.priority.has_sla_clock or sla.started_at is None or sla.paused:
        return None
    if view.status in CLOSED_STATUSES:
        return None
    if sla.first_responded_at is None:
        return sla.first_response_due
    return sla.resolution_due


def outcome(
    reached_at: datetime | None,
    due: datetime | None,
    breach_fired: bool,
    now: datetime | None = None,
) -> Outcome:
    """met/breached/pending of one target (module docstring); `now` None: as projected,
    before the report's own "due instant passed" rule."""
    if breach_fired:
        return Outcome.BREACHED
    if reached_at is not None:
        return Outcome.BREACHED if due is not None and reached_at > due else Outcome.MET
    if due is not None and now is not None and due <= now:
        return Outcome.BREACHED
    return Outcome.PENDING


def pauses_from_log(view: TicketView, events: Iterable[LogEvent]) -> list[Pause]:
    """The SLA clock's pauses, rebuilt from the log as the workflow keeps them.

    A resolution ends a pause without a line of its own; a pause that began with the clock
    (assigned while waiting on the client) has no line either, only its resumption.
    """
    start = view.sla.started_at
    pauses: list[Pause] = []
    open_since: datetime | None = None
    for event in sorted(events, key=lambda e: e.seq):
        if event.type == EventType.SLA_PAUSED and open_since is None:
            open_since = event.at
        elif event.type in (EventType.SLA_RESUMED, EventType.RESOLVED):
            if open_since is None and event.type == EventType.SLA_RESUMED and start is not None:
                open_since = start
            if open_since is not None:
                pauses.append((open_since, max(open_since, event.at)))
                open_since = None
    if open_since is None and view.sla.paused and start is not None:
        open_since = start
    if open_since is not None:
        pauses.append((open_since, None))
    return pauses


def _breach_fired(events: Iterable[LogEvent], target: str) -> bool:
    return any(e.type == EventType.SLA_BREACH and e.data.get("target") == target for e in events)


def _seconds(value: float) -> int:
    return int(round(value))


def sla_facts(view: TicketView, events: Sequence[LogEvent], holidays: Iterable[date]) -> SlaFacts:
    """A ticket's SLA facts from its current view and its whole log (FACT_EVENTS suffice)."""
    sla = view.sla
    start = sla.started_at
    resolved_at = view.resolution.at if view.resolution and view.status in CLOSED_STATUSES else None
    reopenings = [e.at for e in events if e.type == EventType.REOPENED]
    rating = view.rating.score if view.rating is not None else None
    first_fired = _breach_fired(events, "first_response")
    resolution_fired = _breach_fired(events, "resolution")
    facts = {
        "opened_on": bogota_day(view.created_at),
        "next_due": next_due(view),
        "first_responded_at": sla.first_responded_at,
        "resolved_at": resolved_at,
        "reopen_count": len(reopenings),
        "rating": rating,
    }
    if start is None or not view.priority.has_sla_clock:
        return SlaFacts(
            **facts,  # type: ignore[arg-type]
            first_response_outcome=Outcome.BREACHED if first_fired else Outcome.PENDING,
            resolution_outcome=Outcome.BREACHED if resolution_fired else Outcome.PENDING,
            first_response_seconds=None,
            resolution_seconds=None,
            paused_seconds=0,
        )
    clock = clock_for(view.priority, holidays)
    pauses = [p for p in pauses_from_log(view, events) if p[0] >= start]
    responded = sla.first_responded_at
    first_seconds = None
    if responded is not None:
        before = [p for p in pauses if p[0] < responded]
        first_seconds = _seconds(counted(clock, start, responded, before).total_seconds())
    resolution_start = max([start, *reopenings])
    resolution_seconds = None
    if resolved_at is not None:
        since = [p for p in pauses if p[0] >= resolution_start]
        elapsed = counted(clock, resolution_start, resolved_at, since)
        resolution_seconds = _seconds(elapsed.total_seconds())
    paused = sum(
        clock.elapsed(paused_at, resumed_at).total_seconds()
        for paused_at, resumed_at in pauses
        if resumed_at is not None
    )
    return SlaFacts(
        **facts,  # type: ignore[arg-type]
        first_response_outcome=outcome(responded, sla.first_response_due, first_fired),
        resolution_outcome=outcome(resolved_at, sla.resolution_due, resolution_fired),
        first_response_seconds=first_seconds,
        resolution_seconds=resolution_seconds,
        paused_seconds=_seconds(paused),
    )


# --- The report's rows ---------------------------------------------------------------------


@dataclass(frozen=True)
class TargetCounts:
    met: int = 0
    breached: int = 0
    pending: int = 0


@dataclass(frozen=True)
class ReportRow:
    key: str | None
    tickets: int
    first_response: TargetCounts
    resolution: TargetCounts
    median_first_response_seconds: float | None
    median_resolution_seconds: float | None
    paused_seconds: int
    reopened: int
    csat_average: float | None


@dataclass(frozen=True)
class ReportTicket:
    """What the aggregation needs of one ticket (a row of the read model)."""

    priority: Priority
    nit: str
    assignee: str | None
    opened_on: date
    first_response_outcome: Outcome
    first_response_due: datetime | None
    resolution_outcome: Outcome
    resolution_due: datetime | None
    first_response_seconds: int | None
    resolution_seconds: int | None
    paused_seconds: int
    reopen_count: int
    rating: int | None


def month_key(day: date) -> str:
    return f"{day:%Y-%m}"


GROUP_KEYS: dict[GroupBy, Callable[[ReportTicket], str | None]] = {
    GroupBy.PRIORITY: lambda t: t.priority.value,
    GroupBy.CLIENT: lambda t: t.nit,
    GroupBy.ENGINEER: lambda t: t.assignee,
    GroupBy.MONTH: lambda t: month_key(t.opened_on),
}


def current_outcome(projected: Outcome, due: datetime | None, now: datetime) -> Outcome:
    """A pending target whose due instant has passed is breached, even before the workflow
    fires it (a stopped worker, or a report read between the instant and the timer)."""
    if projected is Outcome.PENDING and due is not None and due <= now:
        return Outcome.BREACHED
    return projected


def _counts(outcomes: list[Outcome]) -> TargetCounts:
    return TargetCounts(
        met=outcomes.count(Outcome.MET),
        breached=outcomes.count(Outcome.BREACHED),
        pending=outcomes.count(Outcome.PENDING),
    )


def median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def aggregate_group(key: str | None, tickets: Sequence[ReportTicket], now: datetime) -> ReportRow:
    ratings = [t.rating for t in tickets if t.rating is not None]
    return ReportRow(
        key=key,
        tickets=len(tickets),
        first_response=_counts(
            [current_outcome(t.first_response_outcome, t.first_response_due, now) for t in tickets]
        ),
        resolution=_counts(
            [current_outcome(t.resolution_outcome, t.resolution_due, now) for t in tickets]
        ),
        median_first_response_seconds=median(
            [t.first_response_seconds for t in tickets if t.first_response_seconds is not None]
        ),
        median_resolution_seconds=median(
            [t.resolution_seconds for t in tickets if t.resolution_seconds is not None]
        ),
        paused_seconds=sum(t.paused_seconds for t in tickets),
        reopened=sum(1 for t in tickets if t.reopen_count > 0),
        csat_average=round(statistics.fmean(ratings), 2) if ratings else None,
    )


def sort_key(key: Hashable) -> tuple[bool, str]:
    """Rows in key order, the row without a key (no engineer) last."""
    return (key is None, str(key or ""))


def aggregate(tickets: Iterable[ReportTicket], group_by: GroupBy, now: datetime) -> list[ReportRow]:
    """The report's rows: one per key present, in key order."""
    groups: dict[str | None, list[ReportTicket]] = {}
    key_of = GROUP_KEYS[group_by]
    for ticket in tickets:
        groups.setdefault(key_of(ticket), []).append(ticket)
    return [aggregate_group(key, groups[key], now) for key in sorted(groups, key=sort_key)]
