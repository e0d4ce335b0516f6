"""Test helpers for the ticket workflow: in-memory activities under the real names, inputs.

The real activities (SQL projection, mail delivery, engineer picking) are tested on their
own; here they only record what the workflow asked for, keyed like the real ones, so a
retried call is visible as a repeat and never as a second log line.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from soporte.holiday_dates import colombian_holidays
from soporte.policy import Kind, Priority
from soporte.policy.calendar import BOGOTA
from soporte.policy.config import PolicyConfig
from soporte.policy.names import Activity
from soporte.policy.tickets import (
    LogEvent,
    Notification,
    NotificationBatch,
    PickAssigneeInput,
    ProjectionBatch,
    TicketInput,
    TicketView,
    TicketWrite,
    workflow_id,
)
from workflows.registry import ALL_WORKFLOWS
from workflows.ticket import TicketWorkflow

HOLIDAYS = colombian_holidays(2025, 2035)
HOLIDAY_SET = frozenset(HOLIDAYS)
HISTORIES = Path(__file__).parent / "histories"
ENGINEER = "ana@btw.com.co"
REPORTER = "compras@cliente.co"


def bogota(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BOGOTA)


def new_number() -> int:
    """A ticket number no other test uses (the dev server lives for the whole session)."""
    return uuid.uuid4().int % 900_000_000 + 100_000


def ticket_input(
    *,
    number: int | None = None,
    registered_at: datetime | None = None,
    kind: Kind = Kind.SUPPORT,
    priority: Priority = Priority.P2,
    policy: PolicyConfig | None = None,
    **fields: Any,
) -> TicketInput:
    values: dict[str, Any] = {
        "number": number if number is not None else new_number(),
        "kind": kind,
        "category": "facturación",
        "subject": "No puedo facturar",
        "description": "La factura electrónica no se envía a la DIAN",
        "expected_result": "Que la factura se envíe",
        "nit": "900123456-7",
        "client_name": "Cliente S.A.S.",
        "reporter_email": REPORTER,
        "notify": ["gerencia@cliente.co"],
        "system_priority": priority,
        "priority": priority,
        "registered_at": registered_at or datetime.now(UTC),
        "holidays": HOLIDAYS,
        "policy": policy or PolicyConfig(),
    }
    values.update(fields)
    return TicketInput(**values)


class Recorder:
    """In-memory stand-ins for the three activities the ticket workflow calls."""

    def __init__(
        self,
        engineer: str | None = ENGINEER,
        failing_deliveries: int = 0,
        fatal_deliveries: int = 0,
        pick_gate: asyncio.Event | None = None,
    ) -> None:
        self.engineer = engineer
        # When set, the pick waits for it: the ticket stays mid-registration meanwhile.
        self.pick_gate = pick_gate
        self.failing_deliveries = failing_deliveries
        self.fatal_deliveries = fatal_deliveries
        self.events: dict[tuple[int, int], LogEvent] = {}
        self.conflicts: list[tuple[LogEvent, LogEvent]] = []  # (replaced line, its successor)
        self.views: dict[int, TicketView] = {}
        self.notifications: dict[str, Notification] = {}
        self.delivery_attempts: list[str] = []
        self.delivery_batches: list[list[str]] = []
        self.batch_ran_locally: list[bool] = []  # per deliver_notifications call

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name=Activity.PROJECT_TICKET.value)
        async def project_ticket(batch: ProjectionBatch) -> None:
            for event in batch.events:
                # As activities/projection.py: another line at a stored seq replaces it (a
                # task the server refused, retried, may number its log otherwise).
                key = (event.number, event.seq)
                known = self.events.get(key)
                if known is not None and known != event:
                    self.conflicts.append((known, event))
                self.events[key] = event
            self.views[batch.view.number] = batch.view

        @activity.defn(name=Activity.DELIVER_NOTIFICATION.value)
        async def deliver_notification(notification: Notification) -> None:
            self.delivery_attempts.append(notification.id)
            if self.fatal_deliveries > 0:
                self.fatal_deliveries -= 1
                raise ApplicationError("template missing", non_retryable=True)
            if self.failing_deliveries > 0:
                self.failing_deliveries -= 1
                raise RuntimeError("SMTP server unavailable")
            self.notifications.setdefault(notification.id, notification)

        @activity.defn(name=Activity.DELIVER_NOTIFICATIONS.value)
        async def deliver_notifications(batch: NotificationBatch) -> None:
            self.delivery_batches.append([n.id for n in batch.notifications])
            self.batch_ran_locally.append(activity.info().is_local)
            for notification in batch.notifications:
                await deliver_notification(notification)

        @activity.defn(name=Activity.WRITE_TICKET.value)
        async def write_ticket(write: TicketWrite) -> list[str]:
            # As activities/ticket_writes.py: the projection, then the mail in order until a
            # send fails (not raised: the ids sent are the answer).
            if write.events:
                await project_ticket(ProjectionBatch(view=write.view, events=write.events))
            if write.notifications:
                self.delivery_batches.append([n.id for n in write.notifications])
            done = []
            for notification in write.notifications:
                try:
                    await deliver_notification(notification)
                except Exception:
                    break
                done.append(notification.id)
            return done

        @activity.defn(name=Activity.PICK_ASSIGNEE.value)
        async def pick_assignee(request: PickAssigneeInput) -> str | None:
            if self.pick_gate is not None:
                await self.pick_gate.wait()
            return self.engineer

        return [
            project_ticket,
            deliver_notification,
            deliver_notifications,
            pick_assignee,
            write_ticket,
        ]

    def worker(self, client: Client, task_queue: str) -> Worker:
        return Worker(
            client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=self.activities()
        )

    def log(self, number: int) -> list[LogEvent]:
        return [self.events[key] for key in sorted(self.events) if key[0] == number]

    def of_type(self, number: int, event_type: str) -> list[LogEvent]:
        return [event for event in self.log(number) if event.type == event_type]

    def sent(self, number: int, template: str | None = None) -> list[Notification]:
        return [
            n
            for n in self.notifications.values()
            if n.number == number and (template is None or n.template == template)
        ]


async def start_ticket(
    client: Client, task_queue: str, ticket: TicketInput
) -> WorkflowHandle[TicketWorkflow, TicketView]:
    return await client.start_workflow(
        TicketWorkflow.run,
        args=[ticket],
        id=workflow_id(ticket.number),
        task_queue=task_queue,
    )


def assert_log_is_contiguous(events: Sequence[LogEvent]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    instants = [e.at for e in events]
    assert instants == sorted(instants)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


# --- Time-skipping helpers ---------------------------------------------------------------------


def next_day_after(after: datetime, wanted: Callable[[date], bool]) -> date:
    """The first Bogota date after `after` (and at least a day later) that is wanted."""
    day = after.astimezone(BOGOTA).date() + timedelta(days=1)
    while not wanted(day):
        day += timedelta(days=1)
    return day


def friday_before_monday_holiday(day: date) -> bool:
    return day.weekday() == 4 and day + timedelta(days=3) in HOLIDAY_SET


def at_bogota(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BOGOTA)


async def move_to(env: WorkflowEnvironment, instant: datetime) -> None:
    """Skip the test server's clock forward to `instant` (it starts at the real now)."""
    now = await env.get_current_time()
    assert instant > now, f"{instant} is not ahead of the test server's clock {now}"
    await env.sleep(instant - now)


async def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait for activities running beside the test to have done what `check` looks for."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while not check():
        assert loop.time() < give_up, "the workflow's activities never got there"
        await asyncio.sleep(0.02)


class HistoryExists(FileExistsError):
    """A committed history is never overwritten: it proves what running workflows did."""


def history_path(folder: str, name: str) -> Path:
    """Where a history recorded under `folder` (the newest patch of the code that recorded
    it) is kept: tests/histories/<folder>/<name>.json."""
    if not folder or folder in (".", "..") or "/" in folder or folder == "1":
        raise ValueError(
            "SOPORTE_WRITE_HISTORIES names the folder to record into, the newest patch of the "
            f"code (e.g. SOPORTE_WRITE_HISTORIES=my-new-patch), not {folder!r}"
        )
    return HISTORIES / folder / f"{name}.json"


def write_history(path: Path, text: str) -> None:
    """Write a new history; refuse to replace one that exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x") as out:  # "x": fails if the file exists
            out.write(text)
    except FileExistsError:
        raise HistoryExists(
            f"{path} exists: a recorded history is never overwritten; record the new path "
            "into a new folder named after its patch"
        ) from None


async def keep_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With SOPORTE_WRITE_HISTORIES=<patch folder>, store this run's history there for the
    replay tests (never over an existing one)."""
    folder = os.environ.get("SOPORTE_WRITE_HISTORIES")
    if not folder:
        return
    path = history_path(folder, name)
    history = await handle.fetch_history()
    write_history(path, history.to_json())
