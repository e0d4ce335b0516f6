"""pick_assignee: the least-loaded active engineer (fewest open tickets; ties by email).

Each pick is kept in `assignment_picks`: a retried activity answers the same engineer,
and picks the read model has not seen yet still count as load.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities._db import upsert_insert
from soporte.db.models import AssignmentPick, Staff, Ticket
from soporte.db.session import bind_of, write_turn
from soporte.policy import Role, Status
from soporte.tickets import PickAssigneeInput

DONE_STATUSES = (Status.RESOLVED.value, Status.CLOSED.value)


async def active_staff(session: AsyncSession, role: Role | None = None) -> list[Staff]:
    rows = (await session.scalars(select(Staff).where(Staff.active.is_(True)))).all()
    return [row for row in rows if role is None or role.value in row.roles]


async def open_load(session: AsyncSession, engineers: list[str]) -> Counter[str]:
    load: Counter[str] = Counter({email: 0 for email in engineers})
    projected = await session.execute(
        select(Ticket.assignee, func.count())
        .where(Ticket.assignee.in_(engineers), Ticket.status.not_in(DONE_STATUSES))
        .group_by(Ticket.assignee)
    )
    for email, count in projected.all():
        if email is not None:
            load[email] += count
    unseen = await session.execute(
        select(AssignmentPick.engineer, func.count())
        .outerjoin(Ticket, Ticket.number == AssignmentPick.number)
        .where(AssignmentPick.engineer.in_(engineers))
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


async def choose(session: AsyncSession, data: PickAssigneeInput) -> str | None:
    earlier = await session.get(AssignmentPick, data.number)
    engineers = sorted(staff.email for staff in await active_staff(session, Role.ENGINEER))
    if earlier is not None and earlier.engineer in engineers:
        return earlier.engineer
    if data.consultant_email:
        everyone = {staff.email for staff in await active_staff(session)}
        if data.consultant_email.lower() in everyone:
            return data.consultant_email.lower()
    return least_loaded(await open_load(session, engineers))


async def pick(sessions: async_sessionmaker[AsyncSession], data: PickAssigneeInput) -> str | None:
    async with write_turn(bind_of(sessions)), sessions() as session:
        chosen = await choose(session, data)
        if chosen is not None:
            statement = upsert_insert(session, AssignmentPick).values(
                number=data.number, engineer=chosen
            )
            statement = statement.on_conflict_do_update(
                index_elements=[AssignmentPick.number], set_={"engineer": chosen}
            )
            await session.execute(statement)
        await session.commit()
        return chosen
