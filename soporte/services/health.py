"""Is the database answering? Is Temporal? (GET /healthz)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client as TemporalClient

from soporte.services.schemas import HealthOut

TIMEOUT_SECONDS = 3.0


async def database_ok(engine: AsyncEngine) -> bool:
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def temporal_ok(client: Callable[[], Awaitable[TemporalClient]]) -> bool:
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            connected = await client()
            return await connected.service_client.check_health(
                timeout=timedelta(seconds=TIMEOUT_SECONDS)
            )
    except Exception:
        return False


async def check(engine: AsyncEngine, client: Callable[[], Awaitable[TemporalClient]]) -> HealthOut:
    db, temporal = await asyncio.gather(database_ok(engine), temporal_ok(client))
    return HealthOut(
        status="ok" if db and temporal else "unavailable",
        database="ok" if db else "unavailable",
        temporal="ok" if temporal else "unavailable",
    )
