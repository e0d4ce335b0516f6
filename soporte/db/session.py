"""The async engine and session factory for a database URL (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as _create_sync_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool

T = TypeVar("T")

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


Bind = AsyncEngine | AsyncConnection | None


def engine_of(bind: Bind) -> AsyncEngine:
    """The engine behind a session's bind (sessions here are bound to an engine)."""
    if isinstance(bind, AsyncConnection):
        return bind.engine
    assert bind is not None, "sessions are bound to an engine"  # nosec B101  # invariant (never run -O)
    return bind


# Synchronous twins of an async SQLite engine, per purpose: writes on worker threads
# (the default pool, shared across threads; a new connection per transaction cost
# 1.3 ms, its pragmas included, against 0.09 ms for a pooled one) and reads on the event
# loop's thread (one connection for that thread). Disposing the engine disposes them.
_SQLITE_TWINS: weakref.WeakKeyDictionary[Any, dict[str, Engine]] = weakref.WeakKeyDictionary()
_TWIN_POOLS: dict[str, dict[str, Any]] = {
    "thread": {},
    "loop": {"poolclass": SingletonThreadPool, "pool_size": 1},
}


def _sqlite_twin(engine: AsyncEngine, purpose: str) -> Engine:
    if engine.sync_engine not in _SQLITE_TWINS:
        _SQLITE_TWINS[engine.sync_engine] = {}
        event.listen(engine.sync_engine, "engine_disposed", _dispose_twins)
    twins = _SQLITE_TWINS[engine.sync_engine]
    if purpose not in twins:
        url = engine.url.set(drivername="sqlite")
        twin = _create_sync_engine(url, connect_args={"timeout": 15}, **_TWIN_POOLS[purpose])
        event.listen(twin, "connect", _sqlite_on_connect)
        twins[purpose] = twin
    return twins[purpose]


def _dispose_twins(sync_engine: Engine) -> None:
    for twin in _SQLITE_TWINS.pop(sync_engine, {}).values():
        twin.dispose()


async def read_at_once(
    bind: AsyncEngine | AsyncConnection | None, work: Callable[[Connection], T]
) -> T:
    """Run `work` (plain synchronous Core code that only reads) and return its result.

    On SQLite it runs right here on the event loop's thread: an indexed read in WAL
    mode takes microseconds and never waits for a writer, while aiosqlite needs about
    five thread hops per query (cursor, execute, fetch, close, rollback), each a turn of
    a loop that is busy under load. A Core connection, not a Session: a Session and its
    transaction cost twice the query. For short reads on the hot path only (every
    request's authentication). PostgreSQL: the async connection, as usual.
    """
    engine = engine_of(bind)
    if engine.dialect.name == "sqlite":
        with _sqlite_twin(engine, "loop").connect() as connection:
            return work(connection)
    async with engine.connect() as connection:
        return await connection.run_sync(work)


async def read_on_a_thread(bind: Bind, work: Callable[[Connection], T]) -> T:
    """Run `work` (synchronous Core code that only reads, and reads much: a report) on a
    thread with a plain SQLite connection, so the event loop stays free and no row goes
    through aiosqlite (about 3 us a row: a second for 300,000). PostgreSQL: the async
    connection, as usual."""
    engine = engine_of(bind)
    if engine.dialect.name == "sqlite":

        def run() -> T:
            with _sqlite_twin(engine, "thread").connect() as connection:
                return work(connection)

        return await asyncio.to_thread(run)
    async with engine.connect() as connection:
        return await connection.run_sync(work)


def _run_in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return work(session)


async def write_in_one_go(bind: Bind, work: Callable[[Session], T]) -> T:
    """Run `work` (plain synchronous ORM code) in one write transaction, and commit.

    On SQLite the whole transaction, from its first statement to its commit, runs on a
    thread with a synchronous connection, never waiting for the event loop in between:
    SQLite's single write lock is held only while the statements run. Held across
    event-loop turns of a busy process (one per statement with aiosqlite), it kept the
    other processes waiting in the busy handler's sleeps: the worker's projections
    starved the API's ticket intake (bench/open_tickets.py). Writers of one process
    still take turns (`write_turn`). PostgreSQL locks rows, not the database: there the
    same code runs on the async session as usual.
    """
    engine = engine_of(bind)
    if engine.dialect.name == "sqlite":
        async with write_turn(engine):
            return await asyncio.to_thread(
                _run_in_transaction, _sqlite_twin(engine, "thread"), work
            )
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return await session.run_sync(work)
