"""project_ticket: the read model follows the workflow, idempotently.

The ticket row is upserted from the view (an older view never overwrites a newer one);
log lines are inserted by their unique (number, seq), duplicates ignored, so a retried
activity never writes a line twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from activities._db import upsert_insert
from soporte.db.models import Ticket, TicketEvent
from soporte.db.session import bind_of, write_in_one_go
from soporte.policy.tickets import LogEvent, ProjectionBatch, TicketView


def ticket_row(view: TicketView) -> dict[str, Any]:
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


def upsert_ticket(session: Session, view: TicketView) -> None:
    row = ticket_row(view)
    statement = upsert_insert(session, Ticket).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=[Ticket.number],
        set_={key: statement.excluded[key] for key in row if key != "number"},
        where=Ticket.updated_at <= statement.excluded.updated_at,
    )
    session.execute(statement)


def insert_events(session: Session, events: list[LogEvent]) -> None:
    if not events:
        return
    statement = upsert_insert(session, TicketEvent).values([event_row(e) for e in events])
    session.execute(statement.on_conflict_do_nothing(index_elements=["number", "seq"]))


def write_projection(session: Session, batch: ProjectionBatch) -> None:
    upsert_ticket(session, batch.view)
    insert_events(session, batch.events)


async def project(sessions: async_sessionmaker[AsyncSession], batch: ProjectionBatch) -> None:
    await write_in_one_go(bind_of(sessions), lambda session: write_projection(session, batch))
