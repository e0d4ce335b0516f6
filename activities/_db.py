"""Helpers the activities share: dialect-aware INSERT for upserts, and the versioned upsert
of a workflow's view (an older version never overwrites a newer one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def upsert_insert(session: Session | AsyncSession, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT, for the session's backend."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database backend {name!r}")


async def upsert_versioned(
    session: AsyncSession, table: Any, key: str, row: dict[str, Any]
) -> None:
    statement = upsert_insert(session, table).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_={name: statement.excluded[name] for name in row if name != key},
        where=table.version <= statement.excluded.version,
    )
    await session.execute(statement)
