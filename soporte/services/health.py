"""Is the database answering? Is Temporal? Does a worker poll? (GET /healthz)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client as TemporalClient

from soporte.services.schemas import HealthOut
from soporte.settings import Settings

TIMEOUT_SECONDS = 3.0
TemporalGetter = Callable[[], Awaitable[TemporalClient]]


async def database_ok(engine: AsyncEngine) -> bool:
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def temporal_ok(client: TemporalGetter) -> bool:
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            connected = await client()
            return await connected.service_client.check_health(
                timeout=timedelta(seconds=TIMEOUT_SECONDS)
            )
    except Exception:
        return False


async def workers_polling(client: TemporalGetter, settings: Settings) -> int:
    """How many workers polled the ticket task queue within `health_poller_max_age`. A
    stopped, stalled (SIGSTOP) or disconnected worker stops polling; the server keeps each
    poller's identity and last access time (DescribeTaskQueue)."""
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            connected = await client()
            described = await connected.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=settings.temporal_namespace,
                    task_queue=TaskQueue(name=settings.task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                ),
                timeout=timedelta(seconds=TIMEOUT_SECONDS),
            )
    except Exception:
        return 0
    oldest = datetime.now(UTC) - settings.health_poller_max_age
    return len(
        {
            poller.identity
            for poller in described.pollers
            if poller.last_access_time.ToDatetime(tzinfo=UTC) >= oldest
        }
    )


async def check(engine: AsyncEngine, client: TemporalGetter, settings: Settings) -> HealthOut:
    db, temporal, workers = await asyncio.gather(
        database_ok(engine), temporal_ok(client), workers_polling(client, settings)
    )
    return HealthOut(
        status="ok" if db and temporal and workers else "unavailable",
        database="ok" if db else "unavailable",
        temporal="ok" if temporal else "unavailable",
        worker="ok" if workers else "not polling",
        workers=workers,
    )
