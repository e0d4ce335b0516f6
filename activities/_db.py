"""Helpers the activities share: dialect-aware INSERT for upserts."""

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
