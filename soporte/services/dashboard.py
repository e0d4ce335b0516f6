"""The supervisor's dashboard beside the SLA report (soporte.services.reports): open
tickets by priority and age, the period's breaches, and the open load per engineer, read
from the read model (supervisor and admin, as the report)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.models import Client, Staff, Ticket
from soporte.policy import SUPPORT_PRIORITIES, Status
from soporte.policy.sla_report import Outcome
from soporte.services import access
from soporte.services.access import Action
from soporte.services.auth import Principal
from soporte.services.reports import ReportQuery

OPEN = [s.value for s in Status if s not in (Status.RESOLVED, Status.CLOSED)]
# Age buckets of open tickets (since they were opened), in order.
AGES = (
    ("< 1 día", timedelta(days=1)),
    ("1–3 días", timedelta(days=3)),
    ("3–7 días", timedelta(days=7)),
    ("> 7 días", None),
)
MAX_BREACHES = 200


def require_reader(principal: Principal) -> None:
    access.check(principal, Action.READ_SLA_REPORT)


@dataclass(frozen=True)
class Breach:
    number: int
    subject: str
    client_name: str
    priority: str
    assignee: str | None
    first_response: bool
    resolution: bool


@dataclass(frozen=True)
class Load:
    email: str | None
    name: str
    open: int
    breached: int


@dataclass(frozen=True)
class OpenNow:
    ages: dict[str, list[int]]
    loads: list[Load]


async def open_now(session: AsyncSession, principal: Principal, now: datetime) -> OpenNow:
    """The tickets open now, by priority and age and by assignee, from one read of them.

    Grouped by state first: the planner then reads the few open tickets from the state's
    index (grouped by priority first, SQLite walked the priority index over every ticket
    ever opened: 60 ms at 100,000 of them)."""
    require_reader(principal)
    bucket = case(
        *(
            (Ticket.created_at > now - upper, index)
            for index, (_, upper) in enumerate(AGES)
            if upper is not None
        ),
        else_=len(AGES) - 1,
    ).label("bucket")
    rows = (
        await session.execute(
            select(Ticket.priority, bucket, Ticket.assignee, Ticket.breached, func.count())
            .where(Ticket.status.in_(OPEN))
            .group_by(Ticket.status, Ticket.priority, bucket, Ticket.assignee, Ticket.breached)
        )
    ).all()
    ages: dict[str, list[int]] = {p.value: [0] * len(AGES) for p in SUPPORT_PRIORITIES}
    per_assignee: dict[str | None, list[int]] = {}
    for priority, index, assignee, breached, count in rows:
        if priority in ages:
            ages[priority][index] += count
        sums = per_assignee.setdefault(assignee, [0, 0])
        sums[0] += count
        sums[1] += count if breached else 0
    names = await _staff_names(session, [e for e in per_assignee if e])
    await session.commit()
    loads = [
        Load(email, names.get(email or "", email or "Sin asignar"), n, b)
        for email, (n, b) in per_assignee.items()
    ]
    return OpenNow(ages, sorted(loads, key=lambda load: (-load.open, load.name)))


async def _staff_names(session: AsyncSession, emails: list[str]) -> dict[str, str]:
    if not emails:
        return {}
    found = await session.execute(select(Staff.email, Staff.name).where(Staff.email.in_(emails)))
    return {email: name for email, name in found.all()}


async def open_by_priority_and_age(
    session: AsyncSession, principal: Principal, now: datetime
) -> dict[str, list[int]]:
    """{priority: [count per age bucket]} of the tickets still open now."""
    return (await open_now(session, principal, now)).ages


def _breached(outcome: Any, due: Any, now: datetime) -> ColumnElement[bool]:
    """As the report counts it: breached, or still pending past its due instant."""
    return or_(
        outcome == Outcome.BREACHED.value,
        and_(outcome == Outcome.PENDING.value, due.is_not(None), due <= now),
    )


async def breaches(
    session: AsyncSession, principal: Principal, query: ReportQuery, now: datetime
) -> list[Breach]:
    """Tickets opened in the period that missed a target, most recent first."""
    require_reader(principal)
    first = _breached(Ticket.first_response_outcome, Ticket.first_response_due, now)
    resolution = _breached(Ticket.resolution_outcome, Ticket.resolution_due, now)
    rows = await session.execute(
        select(
            Ticket.number,
            Ticket.subject,
            Client.name,
            Ticket.priority,
            Ticket.assignee,
            first.label("first"),
            resolution.label("resolution"),
        )
        .join(Client, Client.nit == Ticket.nit, isouter=True)
        .where(
            Ticket.opened_on >= query.first_day,
            Ticket.opened_on <= query.last_day,
            Ticket.priority.in_([p.value for p in SUPPORT_PRIORITIES]),
            or_(first, resolution),
        )
        # The opening day first (the day of created_at in Bogota, so the same order): the
        # covering report index walked backwards finds the most recent breaches without
        # sorting the period (80 ms for a year of 100,000 tickets, now about 1 ms).
        .order_by(Ticket.opened_on.desc(), Ticket.created_at.desc())
        .limit(MAX_BREACHES)
    )
    found = [Breach(n, s, c or "", p, a, bool(f), bool(r)) for n, s, c, p, a, f, r in rows.all()]
    await session.commit()
    return found


async def load_per_engineer(session: AsyncSession, principal: Principal) -> list[Load]:
    """Open tickets per assignee now (and how many of them breached), heaviest first."""
    return (await open_now(session, principal, datetime.now(UTC))).loads


def table_csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return out.getvalue()
