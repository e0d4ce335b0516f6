"""The Temporal worker: every workflow and activity of the product on one task queue.

Stateless: run as many as capacity needs. SIGTERM (or Ctrl-C) drains it gracefully.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import TypedDict

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from activities import build_activities
from soporte import worker_metrics
from soporte.backup import finish_restore
from soporte.schedules import ensure_committee_schedule
from soporte.search_attributes import ensure_search_attributes
from soporte.services.orphans import repair_orphans
from soporte.settings import Settings
from soporte.temporal_client import connect
from soporte.temporal_interceptors import RequestIdInWorkerLogs
from workflows.registry import ALL_WORKFLOWS, WORKFLOW_RUNNER

log = logging.getLogger("soporte.worker")
GRACEFUL_SHUTDOWN = timedelta(seconds=15)


class WorkerSlots(TypedDict):
    max_concurrent_workflow_tasks: int
    max_concurrent_local_activities: int
    max_concurrent_activities: int
    max_concurrent_workflow_task_polls: int
    max_concurrent_activity_task_polls: int


def worker_slots(concurrency: int) -> WorkerSlots:
    """A worker's slots at SOPORTE_WORKER_CONCURRENCY `concurrency`: that many workflow
    tasks at once, twice as many local activities (a ticket's task may run its projection
    and its mail together), twice as many activities. Fewer slots leave the embedded
    server freer to accept new tickets (2 against 4: the API's rate 5-20 % higher, a burst
    settled about 5 % later, bench/open_tickets.py), but a workflow task holds its slot
    while its local activities run, and with 2 the commands on open tickets queued behind
    them (4 or 6: 1.1-1.4x the rate, bench/commands.py and bench/scale.py): default 4.
    Activities mostly wait on the SMTP server, so more of them cost the CPU little."""
    return WorkerSlots(
        max_concurrent_workflow_tasks=concurrency,
        max_concurrent_local_activities=2 * concurrency,
        max_concurrent_activities=2 * concurrency,
        max_concurrent_workflow_task_polls=max(2, concurrency // 2),
        max_concurrent_activity_task_polls=max(1, concurrency // 2),
    )


def build_worker(client: Client, settings: Settings, task_queue: str | None = None) -> Worker:
    """A worker with bounded concurrency (`worker_slots`)."""
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=ALL_WORKFLOWS,
        workflow_runner=WORKFLOW_RUNNER,
        activities=build_activities(settings),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        interceptors=[RequestIdInWorkerLogs()],
        max_cached_workflows=settings.worker_cached_workflows,
        **worker_slots(settings.worker_concurrency),
    )


async def prepare_worker(
    client: Client, settings: Settings, task_queue: str | None = None
) -> Worker:
    """The worker, once the ticket search attributes are registered and the weekly committee
    schedule exists and is up to date (idempotent: every worker start ensures both, so any
    number of workers leave exactly one schedule)."""
    await ensure_search_attributes(client, settings.temporal_namespace)
    await ensure_committee_schedule(client, settings, task_queue=task_queue)
    log.info("committee schedule ensured (%s)", settings.committee_schedule)
    await finish_restore(settings, client)
    return build_worker(client, settings, task_queue)


async def run_worker(settings: Settings) -> None:
    runtime, metrics_server = await start_metrics(settings)
    try:
        client = await connect(settings, runtime)
        worker = await prepare_worker(client, settings)
        await repair_orphans(client, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info(
            "worker polling task queue %s at %s", settings.task_queue, settings.temporal_address
        )
        async with worker:
            await stop.wait()
            log.info("worker stopping: finishing the tasks in hand")
    finally:
        if metrics_server is not None:
            metrics_server.close()
            await metrics_server.wait_closed()


async def start_metrics(settings: Settings) -> tuple[Runtime | None, asyncio.Server | None]:
    """The SDK runtime with its Prometheus exporter and our endpoint in front of it, unless
    SOPORTE_WORKER_METRICS_PORT is 0. Metrics that cannot start never stop the worker."""
    if not settings.worker_metrics_port:
        return None, None
    sdk_port = worker_metrics.free_loopback_port()
    try:
        runtime = worker_metrics.runtime_with_metrics(sdk_port)
    except Exception as error:  # the SDK's exporter could not bind: run on without it
        log.warning("Temporal SDK metrics not exported: %s", error)
        runtime = None
    server = await worker_metrics.serve_metrics(
        settings.worker_metrics_host, settings.worker_metrics_port, sdk_port
    )
    return runtime, server
