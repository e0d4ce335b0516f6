"""The SLA report against figures computed by hand, from real ticket workflows on the
time-skipping server projected by the real projection activity into SQLite.

One business week (Monday M to Friday F, no holidays, and the Monday after, M2):
- A, P1, opened M 08:00, answered 08:40 (40 min: met), resolved 10:00 (7,200 s: met);
- B, P2, opened M 09:00, first response due 10:00, answered 11:30 (9,000 s: breached, the
  breach fired at 10:00), resolved 14:00 (18,000 s: met);
- D, P2, opened Tu 08:00, answered 08:30 (1,800 s), resolved 10:00, reopened W 09:00,
  resolved again W 11:00 (7,200 s counted from the reopening), rated 4;
- C, P3, opened F 15:00, information requested 15:30 (the first response: 1,800 s), the
  client answers M2 09:00 (paused: F 15:30-17:00 and M2 07:30-09:00, 10,800 business
  seconds), resolved M2 10:00 (F 15:00-15:30 plus M2 09:00-10:00: 5,400 s).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import TicketActivities
from soporte.db.models import Ticket
from soporte.db.session import create_engine, create_sessionmaker
from soporte.policy import Channel, Priority, ResolutionKind, Role
from soporte.policy.sla_report import GroupBy
from soporte.policy.tickets import (
    ClientMessage,
    EngineerMessage,
    RatingCommand,
    ReopenCommand,
    RequestInfoCommand,
    ResolveCommand,
)
from soporte.services.auth import Principal
from soporte.services.reports import ReportQuery, sla_report
from soporte.settings import load_settings
from tests.api_support import database
from tests.workflow_support import (
    ENGINEER,
    HOLIDAY_SET,
    REPORTER,
    Recorder,
    at_bogota,
    move_to,
    next_day_after,
    start_ticket,
    ticket_input,
)
from workflows.registry import ALL_WORKFLOWS
from workflows.ticket import TicketWorkflow

ADMIN = Principal(email="admin@btw.com.co", roles=frozenset({Role.ADMIN}))


def quiet_week(day: date) -> bool:
    """A Monday whose week and the next Monday have no holiday."""
    return day.weekday() == 0 and not any(day + timedelta(n) in HOLIDAY_SET for n in range(8))


def reply() -> EngineerMessage:
    return EngineerMessage(author_email=ENGINEER, body="Revisando")


def resolution() -> ResolveCommand:
    return ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body="Listo")


async def test_report_figures_match_the_hand_computed_ones(
    time_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    monday = next_day_after(await time_env.get_current_time(), quiet_week)
    tuesday, wednesday, friday = (monday + timedelta(n) for n in (1, 2, 4))
    next_monday = monday + timedelta(7)
    with database("sqlite", tmp_path) as url:
        settings = load_settings(data_dir=tmp_path, database_url=url)
        real = TicketActivities(settings)
        recorder = Recorder()
        stand_ins = {a.__name__: a for a in recorder.activities()}  # type: ignore[attr-defined]
        activities = [
            real.project_ticket,
            stand_ins["deliver_notification"],
            stand_ins["deliver_notifications"],
            stand_ins["pick_assignee"],
            real.write_ticket,  # the projection with the mail (to the Maildir in tmp_path)
        ]
        env = time_env

        async def at(day: date, hour: int, minute: int = 0) -> None:
            await move_to(env, at_bogota(day, hour, minute))

        async def open_ticket(priority: Priority, day: date, hour: int) -> Any:
            await at(day, hour)
            ticket = ticket_input(registered_at=at_bogota(day, hour), priority=priority)
            return await start_ticket(env.client, task_queue, ticket)

        async with Worker(
            env.client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=activities
        ):
            a = await open_ticket(Priority.P1, monday, 8)
            await at(monday, 8, 40)
            await a.execute_update(TicketWorkflow.reply, reply())
            b = await open_ticket(Priority.P2, monday, 9)
            await at(monday, 10)
            await a.execute_update(TicketWorkflow.resolve, resolution())
            await at(monday, 11, 30)
            await b.execute_update(TicketWorkflow.reply, reply())
            await at(monday, 14)
            await b.execute_update(TicketWorkflow.resolve, resolution())

            d = await open_ticket(Priority.P2, tuesday, 8)
            await at(tuesday, 8, 30)
            await d.execute_update(TicketWorkflow.reply, reply())
            await at(tuesday, 10)
            await d.execute_update(TicketWorkflow.resolve, resolution())
            await at(wednesday, 9)
            reopen = ReopenCommand(actor_email=REPORTER, reason="Sigue fallando")
            await d.execute_update(TicketWorkflow.reopen, reopen)
            await at(wednesday, 11)
            await d.execute_update(TicketWorkflow.resolve, resolution())
            await at(wednesday, 12)
            await d.execute_update(
                TicketWorkflow.rate, RatingCommand(actor_email=REPORTER, score=4)
            )

            c = await open_ticket(Priority.P3, friday, 15)
            await at(friday, 15, 30)
            request = RequestInfoCommand(actor_email=ENGINEER, body="¿Qué prefijo usa?")
            await c.execute_update(TicketWorkflow.request_info, request)
            await at(next_monday, 9)
            answer = ClientMessage(
                message_id="c-1", author_email=REPORTER, body="FE", channel=Channel.EMAIL
            )
            await c.signal(TicketWorkflow.client_message, answer)
            await at(next_monday, 10)
            await c.execute_update(TicketWorkflow.resolve, resolution())

            engine = create_engine(url)
            sessions = create_sessionmaker(engine)
            try:
                numbers = [int(h.id.split("-")[1]) for h in (a, b, c, d)]
                await until_projected(sessions, numbers)
                report = await run(sessions, monday, next_monday, GroupBy.PRIORITY)
                by_engineer = await run(sessions, monday, next_monday, GroupBy.ENGINEER)
                only_p2 = await run(sessions, monday, next_monday, GroupBy.CLIENT, Priority.P2)
                outside = await run(sessions, next_monday, next_monday, GroupBy.PRIORITY)
            finally:
                await engine.dispose()

    assert report["rows"] == [
        row("P1", 1, (1, 0, 0), (1, 0, 0), 2400.0, 7200.0, 0, 0, None),
        row("P2", 2, (1, 1, 0), (2, 0, 0), 5400.0, 12600.0, 0, 1, 4.0),
        row("P3", 1, (1, 0, 0), (1, 0, 0), 1800.0, 5400.0, 10800, 0, None),
    ]
    [everyone] = by_engineer["rows"]
    assert everyone["key"] == ENGINEER and everyone["tickets"] == 4
    assert everyone["first_response"] == {"met": 3, "breached": 1, "pending": 0}
    assert everyone["median_first_response_seconds"] == 2100.0  # of 1800, 1800, 2400, 9000
    [client] = only_p2["rows"]
    assert client["tickets"] == 2 and client["reopened"] == 1
    assert outside["rows"] == []  # nothing was opened on M2


def row(
    key: str,
    tickets: int,
    first: tuple[int, int, int],
    resolution: tuple[int, int, int],
    median_first: float,
    median_resolution: float,
    paused: int,
    reopened: int,
    csat: float | None,
) -> dict[str, Any]:
    names = ("met", "breached", "pending")
    return {
        "key": key,
        "tickets": tickets,
        "first_response": dict(zip(names, first, strict=True)),
        "resolution": dict(zip(names, resolution, strict=True)),
        "median_first_response_seconds": median_first,
        "median_resolution_seconds": median_resolution,
        "paused_seconds": paused,
        "reopened": reopened,
        "csat_average": csat,
    }


async def until_projected(sessions: Any, numbers: list[int]) -> None:
    """Every ticket's last projection has run (resolved; the reopened one also rated)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 30
    while True:
        async with sessions() as session:
            rows = list(await session.scalars(select(Ticket).where(Ticket.number.in_(numbers))))
        if len(rows) == len(numbers) and all(
            r.resolved_at is not None and (r.reopen_count == 0 or r.rating == 4) for r in rows
        ):
            break
        assert loop.time() < give_up, "the read model never caught up with the workflows"
        await asyncio.sleep(0.05)
    # B's breach was fired by its workflow at 10:00, before the reply came.
    assert [r.priority for r in rows if r.first_response_outcome == "breached"] == ["P2"]


async def run(
    sessions: Any,
    first: date,
    last: date,
    group_by: GroupBy,
    priority: Priority | None = None,
) -> dict[str, Any]:
    async with sessions() as session:
        query = ReportQuery(first, last, group_by, priority=priority)
        return (await sla_report(session, ADMIN, query)).as_json()
