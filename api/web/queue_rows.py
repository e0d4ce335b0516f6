"""The queue's rows: a ticket summary with its client's name, the assignee's name and the
time left to (or overdue since) its next SLA target, counted on the ticket's own clock
(business hours for P2/P3, 24/7 for P1: the one calendar of soporte.policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.web import words
from soporte.db.models import Client, Staff, TicketEvent
from soporte.policy import Status
from soporte.policy.sla import SLA_TARGETS, clock_for
from soporte.services.intake import holidays_for
from soporte.services.schemas import TicketSummary


@dataclass
class QueueRow:
    ticket: TicketSummary
    client_name: str
    assignee_name: str
    next_due: datetime | None
    left: str = ""
    overdue: bool = False
    business: bool = False
    target_word: str = ""
    waiting_for: str = ""

    def __getattr__(self, name: str) -> object:
        return getattr(self.ticket, name)

    @property
    def tone(self) -> str:
        if self.overdue or self.ticket.breached:
            return "row-bad"
        return "row-warn" if self.ticket.warned else ""


def next_due_of(ticket: TicketSummary) -> tuple[datetime | None, str]:
    """The next SLA instant not yet met, and what it is (first response or solution)."""
    if ticket.status in (Status.RESOLVED, Status.CLOSED) or ticket.paused:
        return None, ""
    if ticket.next_due is None:
        return None, ""
    if ticket.first_response_due == ticket.next_due and ticket.first_responded_at is None:
        return ticket.first_response_due, "Primera respuesta"
    return ticket.next_due, "Solución"


def timed(row: QueueRow, now: datetime) -> QueueRow:
    target = SLA_TARGETS.get(row.ticket.priority)
    if row.next_due is None or target is None:
        return row
    clock = clock_for(row.ticket.priority, holidays_for(now))
    row.business = target.business_hours
    if now < row.next_due:
        row.left = words.duration(clock.elapsed(now, row.next_due))
    else:
        row.overdue = True
        row.left = words.duration(clock.elapsed(row.next_due, now))
    return row


async def names_of(
    session: AsyncSession, tickets: list[TicketSummary]
) -> tuple[dict[str, str], dict[str, str]]:
    nits = {t.nit for t in tickets}
    emails = {t.assignee for t in tickets if t.assignee}
    clients = (
        dict(
            (
                await session.execute(select(Client.nit, Client.name).where(Client.nit.in_(nits)))
            ).all()
        )
        if nits
        else {}
    )
    staff = (
        dict(
            (
                await session.execute(
                    select(Staff.email, Staff.name).where(Staff.email.in_(emails))
                )
            ).all()
        )
        if emails
        else {}
    )
    return clients, staff


async def paused_since(session: AsyncSession, tickets: list[TicketSummary]) -> dict[int, datetime]:
    """When each paused ticket's clock last stopped (its last `sla_paused` log line)."""
    numbers = [t.number for t in tickets if t.paused]
    if not numbers:
        return {}
    rows = await session.execute(
        select(TicketEvent.number, func.max(TicketEvent.at))
        .where(TicketEvent.number.in_(numbers), TicketEvent.type == "sla_paused")
        .group_by(TicketEvent.number)
    )
    return {number: at for number, at in rows.all() if at is not None}


async def queue_rows(
    session: AsyncSession, tickets: list[TicketSummary], now: datetime
) -> list[QueueRow]:
    clients, staff = await names_of(session, tickets)
    since = await paused_since(session, tickets)
    rows = []
    for ticket in tickets:
        due, target_word = next_due_of(ticket)
        row = QueueRow(
            ticket=ticket,
            client_name=clients.get(ticket.nit, ticket.nit),
            assignee_name=staff.get(ticket.assignee or "", ticket.assignee or ""),
            next_due=due,
            target_word=target_word,
        )
        if ticket.number in since:
            row.waiting_for = words.duration(max(timedelta(0), now - since[ticket.number]))
        rows.append(timed(row, now))
    return rows


@dataclass
class FilterChoices:
    """What the queue's selects offer: clients by name, the engineers, the categories."""

    clients: list[tuple[str, str]]
    engineers: list[tuple[str, str]]
    categories: list[str]


async def filter_choices(session: AsyncSession) -> FilterChoices:
    clients = (await session.execute(select(Client.nit, Client.name).order_by(Client.name))).all()
    staff = (
        await session.execute(
            select(Staff.email, Staff.name, Staff.roles)
            .where(Staff.active.is_(True))
            .order_by(Staff.name)
        )
    ).all()
    engineers = [(e, n) for e, n, roles in staff if {"engineer", "supervisor"} & set(roles)]
    return FilterChoices(
        clients=[(nit, name) for nit, name in clients],
        engineers=engineers,
        categories=list(words.CATEGORIES),
    )
