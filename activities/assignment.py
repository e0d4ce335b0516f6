"""pick_assignee: the least-loaded active engineer (fewest open tickets; ties by email).

Each pick is kept in `assignment_picks`: a retried activity answers the same engineer,
and recent picks the read model has not seen yet still count as load.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from activities._db import upsert_insert
from soporte.db.models import AssignmentPick, Staff, Ticket
from soporte.db.session import bind_of, write_in_one_go
from soporte.policy import Role, Status
from soporte.policy.tickets import PickAssigneeInput

log = logging.getLogger("soporte.assignment")

DONE_STATUSES = (Status.RESOLVED.value, Status.CLOSED.value)
# A pick the read model has not caught up with counts as load. The projection follows a
# pick within seconds, so only picks this recent are looked at: the load query reads the
# last hour's picks (an index), not every pick ever made, whose number grows all season.
UNSEEN_PICK_WINDOW = timedelta(hours=1)


ACTIVE_STAFF = select(Staff).where(Staff.active.is_(True))


def having_role(staff: Sequence[Staff], role: Role | None) -> list[Staff]:
    return [row for row in staff if role is None or role.value in row.roles]


def active_staff(session: Session, role: Role | None = None) -> list[Staff]:
    return having_role(session.scalars(ACTIVE_STAFF).all(), role)


def open_load(session: Session, engineers: list[str], now: datetime | None = None) -> Counter[str]:
    load: Counter[str] = Counter({email: 0 for email in engineers})
    projected = session.execute(
        select(Ticket.assignee, func.count())
        .where(Ticket.assignee.in_(engineers), Ticket.status.not_in(DONE_STATUSES))
        .group_by(Ticket.assignee)
    )
    for email, count in projected.all():
        if email is not None:
            load[email] += count
    unseen = session.execute(
        select(AssignmentPick.engineer, func.count())
        .outerjoin(Ticket, Ticket.number == AssignmentPick.number)
        .where(AssignmentPick.engineer.in_(engineers))
        .where(AssignmentPick.picked_at >= (now or datetime.now(UTC)) - UNSEEN_PICK_WINDOW)
        .where(or_(Ticket.number.is_(None), Ticket.assignee.is_(None)))
        .group_by(AssignmentPick.engineer)
    )
    for email, count in unseen.all():
        load[email] += count
    return load


def least_loaded(load: Counter[str]) -> str | None:
    if not load:
        return None
    return min(load, key=lambda email: (load[email], email))


def choose(session: Session, data: PickAssigneeInput) -> str | None:
    everyone = session.scalars(ACTIVE_STAFF).all()
    earlier = session.get(AssignmentPick, data.number)
    engineers = sorted(staff.email for staff in having_role(everyone, Role.ENGINEER))
    if earlier is not None and earlier.engineer in engineers:
        return earlier.engineer
    if data.consultant_email and data.consultant_email.lower() in {s.email for s in everyone}:
        return data.consultant_email.lower()
    chosen = least_loaded(open_load(session, engineers))
    if data.consultant_email:
        log.warning(
            "ticket %s: consultant %s is not active staff; routed to %s instead",
            data.number,
            data.consultant_email,
            chosen or "nobody",
        )
    return chosen


def choose_and_record(session: Session, data: PickAssigneeInput) -> str | None:
    chosen = choose(session, data)
    if chosen is not None:
        statement = upsert_insert(session, AssignmentPick).values(
            number=data.number, engineer=chosen
        )
        statement = statement.on_conflict_do_update(
            index_elements=[AssignmentPick.number], set_={"engineer": chosen}
        )
        session.execute(statement)
    return chosen


async def pick(sessions: async_sessionmaker[AsyncSession], data: PickAssigneeInput) -> str | None:
    """Read the load and record the pick in one write transaction: concurrent picks
    each see the ones before them."""
    return await write_in_one_go(
        bind_of(sessions), lambda session: choose_and_record(session, data)
    )
