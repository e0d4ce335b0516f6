"""The async engine and session factory for a database URL (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=15000",
    "PRAGMA foreign_keys=ON",
)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine; SQLite connections get WAL and a busy timeout."""
    if is_sqlite(url):
        options.setdefault("connect_args", {"timeout": 15})
    else:
        options.setdefault("pool_pre_ping", True)
    engine = _create_async_engine(url, **options)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_WRITE_LOCKS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def bind_of(sessions: async_sessionmaker[AsyncSession]) -> Any:
    return sessions.kw.get("bind")


@asynccontextmanager
async def write_turn(bind: Any) -> AsyncIterator[None]:
    """One SQLite write transaction at a time per process, in FIFO order.

    Take the turn before the session's first statement: a session waiting for its turn
    while holding a pooled connection could starve the holder of connections.

    SQLite has one writer; without this, concurrent writers of one process poll the
    lock with the busy handler's sleeps and the unlucky ones starve for seconds.
    PostgreSQL needs no such thing: the context is a no-op there.
    """
    engine = getattr(bind, "sync_engine", bind)
    if engine is None or engine.dialect.name != "sqlite":
        yield
        return
    lock = _WRITE_LOCKS.setdefault(engine, asyncio.Lock())
    async with lock:
        yield
