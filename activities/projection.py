"""project_ticket: the read model follows the workflow, idempotently.

The ticket row is upserted from the view (an older view never overwrites a newer one);
log lines are inserted by their unique (number, seq): a retried activity's line, the same
as the one stored, changes nothing and is not counted again; a line that differs replaces
the stored one (see `events_insert`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from activities._db import dialect_of, insert_for
from soporte import metrics
from soporte.db.models import Ticket, TicketEvent
from soporte.db.session import bind_of, write_in_one_go
from soporte.db.ticket_facts import facts_row
from soporte.policy.sla_report import FACT_EVENTS
from soporte.policy.tickets import LogEvent, ProjectionBatch, TicketView


def ticket_row(view: TicketView, events: Sequence[LogEvent] = ()) -> dict[str, Any]:
    return {
        "number": view.number,
        "kind": view.kind.value,
        "status": view.status.value,
        "priority": view.priority.value,
        "nit": view.nit,
        "assignee": view.assignee,
        "subject": view.subject[:300],
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "breached": view.sla.breached,
        "warned": view.sla.warned,
        "paused": view.sla.paused,
        "first_response_due": view.sla.first_response_due,
        "resolution_due": view.sla.resolution_due,
        "booked_slot": view.booked_slot,
        "view": view.model_dump(mode="json"),
        **facts_row(view, events),
    }


def event_row(event: LogEvent) -> dict[str, Any]:
    return {
        "number": event.number,
        "seq": event.seq,
        "at": event.at,
        "type": event.type,
        "actor": event.actor,
        "channel": event.channel.value if event.channel else None,
        "visibility": event.visibility.value,
        "body": event.body,
        "data": event.model_dump(mode="json")["data"],
    }


def fact_events(session: Session, number: int, new: Sequence[LogEvent]) -> list[LogEvent]:
    """The ticket's log lines the SLA facts come from: those stored and the batch's."""
    query = fact_lines()
    stored = {
        row.seq: LogEvent(
            number=row.number,
            seq=row.seq,
            at=row.at,
            type=row.type,
            actor=row.actor,
            data=row.data or {},
        )
        for row in session.connection().execute(query, {"number": number})
    }
    stored.update({e.seq: e for e in new if e.type in FACT_EVENTS})
    return [stored[seq] for seq in sorted(stored)]


@cache
def fact_lines() -> Any:
    """The stored lines of ticket `number` (a parameter) the SLA facts come from, built once."""
    table = TicketEvent.__table__
    return (
        select(table.c.number, table.c.seq, table.c.at, table.c.type, table.c.actor, table.c.data)
        .where(table.c.number == bindparam("number"), table.c.type.in_(FACT_EVENTS))
        .order_by(table.c.seq)
    )


@cache
def ticket_upsert(dialect: str, columns: tuple[str, ...]) -> Any:
    """The ticket row's upsert, built once per backend and set of columns (building and
    keying the statement anew for every projection cost more than running it)."""
    statement = insert_for(dialect, Ticket.__table__)
    return statement.on_conflict_do_update(
        index_elements=[Ticket.number],
        set_={key: statement.excluded[key] for key in columns if key != "number"},
        where=Ticket.updated_at <= statement.excluded.updated_at,
    )


# What tells two lines at one (number, seq) apart.
LINE_IDENTITY = ("type", "at", "actor", "body")
LINE_COLUMNS = ("at", "type", "actor", "channel", "visibility", "body", "data")


@cache
def events_insert(dialect: str) -> Any:
    """The log lines' insert, answering the seqs it stored or replaced.

    A line the same as the stored one (a retried batch) changes nothing. A different line
    at a stored (number, seq) replaces it: the projection runs as a local activity, inside
    a workflow task the server may still refuse (a signal came in as the run completed) or
    lose (the worker died before completing it), and the retried task, which is the one in
    the history, may number its lines differently. The last writer is that retry."""
    table = TicketEvent.__table__
    statement = insert_for(dialect, table)
    differs = or_(
        *(table.c[name].is_distinct_from(statement.excluded[name]) for name in LINE_IDENTITY)
    )
    statement = statement.on_conflict_do_update(
        index_elements=["number", "seq"],
        set_={name: statement.excluded[name] for name in LINE_COLUMNS},
        where=differs,
    )
    return statement.returning(table.c.seq)


def upsert_ticket(session: Session, view: TicketView, events: Sequence[LogEvent] = ()) -> None:
    row = ticket_row(view, fact_events(session, view.number, events))
    session.connection().execute(ticket_upsert(dialect_of(session), tuple(row)), row)


def insert_events(session: Session, events: list[LogEvent]) -> list[LogEvent]:
    """Insert the lines not stored yet (or stored differently); returns those (a retried
    batch returns none)."""
    if not events:
        return []
    statement = events_insert(dialect_of(session))
    inserted = set(session.connection().scalars(statement, [event_row(e) for e in events]))
    return [event for event in events if event.seq in inserted]


def write_projection(session: Session, batch: ProjectionBatch) -> list[LogEvent]:
    upsert_ticket(session, batch.view, batch.events)
    return insert_events(session, batch.events)


async def project(sessions: async_sessionmaker[AsyncSession], batch: ProjectionBatch) -> None:
    stored = await write_in_one_go(
        bind_of(sessions), lambda session: write_projection(session, batch)
    )
    metrics.count_projected(batch.view, stored)
