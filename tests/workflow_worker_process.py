"""A ticket worker in its own process, for the killed-worker test.

    python -m tests.workflow_worker_process <temporal address> <task queue> <record file>

Its activities append what they are asked to a JSON-lines file (one line per call: a
retried call shows as a repeated key, never as a new one), and pick the same engineer
always. SIGTERM stops it gracefully; the test also kills it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from soporte.policy.names import Activity
from soporte.policy.tickets import (
    Notification,
    NotificationBatch,
    PickAssigneeInput,
    ProjectionBatch,
    TicketWrite,
)
from soporte.temporal_client import quiet_runtime
from tests.workflow_support import ENGINEER
from workflows.registry import ALL_WORKFLOWS


def recording_activities(record: Path) -> list[Any]:
    def append(line: dict[str, object]) -> None:
        with record.open("a") as file:
            file.write(json.dumps(line) + "\n")
            file.flush()

    @activity.defn(name=Activity.PROJECT_TICKET.value)
    async def project_ticket(batch: ProjectionBatch) -> None:
        for event in batch.events:
            append({"kind": "event", "event": event.model_dump(mode="json")})

    @activity.defn(name=Activity.DELIVER_NOTIFICATION.value)
    async def deliver_notification(notification: Notification) -> None:
        append({"kind": "notification", "notification": notification.model_dump(mode="json")})

    @activity.defn(name=Activity.DELIVER_NOTIFICATIONS.value)
    async def deliver_notifications(batch: NotificationBatch) -> None:
        for notification in batch.notifications:
            await deliver_notification(notification)

    @activity.defn(name=Activity.WRITE_TICKET.value)
    async def write_ticket(write: TicketWrite) -> list[str]:
        await project_ticket(ProjectionBatch(view=write.view, events=write.events))
        for notification in write.notifications:
            await deliver_notification(notification)
        return [notification.id for notification in write.notifications]

    @activity.defn(name=Activity.PICK_ASSIGNEE.value)
    async def pick_assignee(request: PickAssigneeInput) -> str | None:
        return ENGINEER

    return [
        project_ticket,
        deliver_notification,
        deliver_notifications,
        pick_assignee,
        write_ticket,
    ]


async def main(address: str, task_queue: str, record: Path) -> None:
    client = await Client.connect(
        address, data_converter=pydantic_data_converter, runtime=quiet_runtime()
    )
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=ALL_WORKFLOWS,
        activities=recording_activities(record),
        # A killed worker's sticky queue is abandoned quickly, so its tickets move on.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        graceful_shutdown_timeout=timedelta(seconds=5),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
    # Finalizing after a Temporal client may hang or abort (sdk-python #300); the test
    # waits for this process to end, so end it here.
    sys.stdout.flush()
    os._exit(0)
