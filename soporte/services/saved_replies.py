"""Saved replies (plantillas de respuesta): texts an engineer inserts into a reply.

Staff who work tickets (engineers, supervisors) and admin list, create and edit them
(soporte.services.access, Action.USE_SAVED_REPLIES).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.console_models import SavedReply
from soporte.services import access
from soporte.services.access import Action
from soporte.services.auth import Principal
from soporte.services.errors import Conflict, NotFound
from soporte.services.schemas import Name, Request

Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]


class SavedReplyIn(Request):
    title: Name
    body: Body


class SavedReplyOut(BaseModel):
    id: int
    title: str
    body: str
    updated_by: str
    updated_at: datetime


def require_editor(principal: Principal) -> None:
    access.check(principal, Action.USE_SAVED_REPLIES)


def _out(row: SavedReply) -> SavedReplyOut:
    return SavedReplyOut(
        id=row.id,
        title=row.title,
        body=row.body,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


async def list_replies(session: AsyncSession, principal: Principal) -> list[SavedReplyOut]:
    require_editor(principal)
    rows = await session.scalars(select(SavedReply).order_by(SavedReply.title))
    return [_out(row) for row in rows]


async def get_reply(session: AsyncSession, principal: Principal, reply_id: int) -> SavedReplyOut:
    require_editor(principal)
    row = await session.get(SavedReply, reply_id)
    if row is None:
        raise NotFound(f"there is no saved reply {reply_id}")
    return _out(row)


async def _commit(session: AsyncSession, title: str) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"title: a saved reply is already called {title!r}") from None


async def create_reply(
    session: AsyncSession, principal: Principal, data: SavedReplyIn
) -> SavedReplyOut:
    require_editor(principal)
    now = datetime.now(UTC)
    row = SavedReply(
        title=data.title,
        body=data.body,
        created_by=principal.email,
        updated_by=principal.email,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await _commit(session, data.title)
    return _out(row)


async def update_reply(
    session: AsyncSession, principal: Principal, reply_id: int, data: SavedReplyIn
) -> SavedReplyOut:
    require_editor(principal)
    row = await session.get(SavedReply, reply_id)
    if row is None:
        raise NotFound(f"there is no saved reply {reply_id}")
    row.title, row.body = data.title, data.body
    row.updated_by, row.updated_at = principal.email, datetime.now(UTC)
    await _commit(session, data.title)
    return _out(row)
