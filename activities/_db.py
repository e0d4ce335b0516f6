"""Helpers the activities share: dialect-aware INSERT for upserts, and the versioned upsert
of a workflow's view (an older version never overwrites a newer one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def dialect_of(session: Session | AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_for(dialect: str, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT, for the backend `dialect`."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database backend {dialect!r}")


def upsert_insert(session: Session | AsyncSession, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT, for the session's backend."""
    return insert_for(dialect_of(session), table)


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
