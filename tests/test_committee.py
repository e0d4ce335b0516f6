"""The Comité Operativo: a session end to end on the time-skipping server, its schedule on
the dev server. Activities are small in-memory stand-ins registered under the real names
(the SQL ones are tested against SQL elsewhere); a tiny `TicketWorkflow` stand-in records
the `committee_decision` signals it receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.client import WorkflowUpdateFailedError as UpdateFailed
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from soporte.email.templates import render
from soporte.holiday_dates import colombian_holidays
from soporte.policy.calendar import BOGOTA, BusinessCalendar
from soporte.policy.committee import (
    AgendaItem,
    CommitteeDecisionSignal,
    Decision,
    DecisionKind,
    SessionInput,
    SessionStatus,
    SessionView,
    session_end,
)
from soporte.policy.config import CommitteeSchedule
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification, workflow_id
from soporte.schedules import (
    COMMITTEE_SCHEDULE_ID,
    ensure_committee_schedule,
    next_committee_runs,
    start_session_now,
)
from soporte.settings import load_settings
from workflows.committee import CommitteeSessionWorkflow

HOLIDAYS = colombian_holidays(2024, 2030)
CALENDAR = BusinessCalendar(HOLIDAYS)
FILED = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


@workflow.defn(name="TicketWorkflow", sandboxed=False)
class TicketStandIn:
    """Records the committee decisions a requirement receives."""

    def __init__(self) -> None:
        self.decisions: list[CommitteeDecisionSignal] = []

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal(name="committee_decision")
    def committee_decision(self, signal: CommitteeDecisionSignal) -> None:
        self.decisions.append(signal)

    @workflow.query
    def received(self) -> list[CommitteeDecisionSignal]:
        return self.decisions


class FakeDesk:
    """In-memory stand-ins of the committee's activities."""

    def __init__(self, pending: list[AgendaItem]) -> None:
        self.pending = pending
        self.mails: list[Notification] = []
        self.projections: list[SessionView] = []

    @activity.defn(name="committee_agenda")
    async def committee_agenda(self) -> list[AgendaItem]:
        return list(reversed(self.pending))  # the workflow puts them in filing order

    @activity.defn(name="committee_holidays")
    async def committee_holidays(self, at: datetime) -> list[date]:
        return HOLIDAYS

    @activity.defn(name="deliver_notification")
    async def deliver_notification(self, notification: Notification) -> None:
        self.mails.append(notification)

    @activity.defn(name="project_committee_session")
    async def project_committee_session(self, view: SessionView) -> None:
        self.projections.append(view)

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.committee_agenda,
            self.committee_holidays,
            self.deliver_notification,
            self.project_committee_session,
        ]


def requirement(number: int) -> AgendaItem:
    return AgendaItem(
        number=number,
        subject=f"Requerimiento {number}",
        nit="900123456-7",
        client_name="Cliente",
        filed_at=FILED + timedelta(hours=number),
    )


def bogota_today() -> date:
    return datetime.now(BOGOTA).date()


async def start_tickets(client: Client, task_queue: str, numbers: list[int]) -> None:
    for number in numbers:
        ticket_id = workflow_id(number)
        await client.start_workflow(TicketStandIn.run, id=ticket_id, task_queue=task_queue)


async def received(client: Client, number: int) -> list[CommitteeDecisionSignal]:
    handle = client.get_workflow_handle(workflow_id(number))
    return await handle.query(TicketStandIn.received)


async def open_view(handle: WorkflowHandle[Any, SessionView]) -> SessionView:
    for _ in range(200):
        try:
            view = await handle.query(CommitteeSessionWorkflow.view)
            if view.agenda or view.version:
                return view
        except WorkflowQueryFailedError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the session never opened")


async def refusal(handle: WorkflowHandle[Any, SessionView], decision: Decision) -> str:
    with pytest.raises(UpdateFailed) as failure:
        await handle.execute_update(CommitteeSessionWorkflow.decide, decision)
    return str(failure.value.cause)


Session = WorkflowHandle[CommitteeSessionWorkflow, SessionView]


@asynccontextmanager
async def session_on_agenda(
    env: WorkflowEnvironment, task_queue: str, desk: FakeDesk
) -> AsyncIterator[Session]:
    """A worker, a stand-in ticket per requirement, and a session started as the schedule does."""
    workflows = [CommitteeSessionWorkflow, TicketStandIn]
    worker = Worker(
        env.client, task_queue=task_queue, workflows=workflows, activities=desk.activities()
    )
    async with worker:
        await start_tickets(env.client, task_queue, [item.number for item in desk.pending])
        yield await env.client.start_workflow(
            "CommitteeSessionWorkflow",
            id="committee-session-test",
            task_queue=task_queue,
            result_type=SessionView,
        )


def four_requirements() -> FakeDesk:
    return FakeDesk([requirement(n) for n in (101, 102, 103, 104)])


def decision(number: int, kind: DecisionKind, **details: object) -> Decision:
    return Decision.model_validate({"number": number, "decision": kind, **details})


async def test_a_session_mails_its_agenda_in_filing_order(
    time_env: WorkflowEnvironment, task_queue: str
):
    desk = four_requirements()
    async with session_on_agenda(time_env, task_queue, desk) as session:
        view = await open_view(session)
    assert [item.number for item in view.agenda] == [101, 102, 103, 104]
    assert view.ends_at == session_end(view.started_at, CALENDAR)
    [agenda_mail] = desk.mails
    assert agenda_mail.template == MailTemplate.COMMITTEE_AGENDA
    assert agenda_mail.to == ["@committee"]
    assert [item["number"] for item in agenda_mail.data["items"]] == [101, 102, 103, 104]  # type: ignore[attr-defined]
    rendered = render(agenda_mail)
    assert "Comité Operativo" in rendered.subject
    assert rendered.text.index("#101") < rendered.text.index("#104")


async def test_each_decision_reaches_its_ticket_and_bad_ones_are_refused(
    time_env: WorkflowEnvironment, task_queue: str
):
    client, decide = time_env.client, CommitteeSessionWorkflow.decide
    delivery = bogota_today() + timedelta(days=30)
    async with session_on_agenda(time_env, task_queue, four_requirements()) as session:
        await open_view(session)
        accepted = await session.execute_update(
            decide, decision(101, DecisionKind.ACCEPT, estimated_delivery=delivery)
        )
        assert accepted.estimated_delivery == delivery
        await session.execute_update(
            decide, decision(102, DecisionKind.REJECT, reason="fuera de alcance")
        )
        await session.execute_update(decide, decision(103, DecisionKind.DEFER))
        await assert_refusals(session)

        [to_101] = await received(client, 101)
        assert (to_101.decision, to_101.estimated_delivery) == (DecisionKind.ACCEPT, delivery)
        assert to_101.session_id == "committee-session-test"
        [to_102] = await received(client, 102)
        assert (to_102.decision, to_102.reason) == (DecisionKind.REJECT, "fuera de alcance")
        [to_103] = await received(client, 103)
        assert to_103.decision is DecisionKind.DEFER
        assert await received(client, 104) == []


async def assert_refusals(session: Session) -> None:
    yesterday = bogota_today() - timedelta(days=1)
    refusals = {
        "not on this session's agenda": decision(999, DecisionKind.DEFER),
        "in the past": decision(104, DecisionKind.ACCEPT, estimated_delivery=yesterday),
        "estimated_delivery: required": decision(104, DecisionKind.ACCEPT),
        "reason: required": decision(104, DecisionKind.REJECT, reason="  "),
        "already been decided": decision(101, DecisionKind.REJECT, reason="otra vez"),
    }
    for reason, refused in refusals.items():
        assert reason in await refusal(session, refused)


async def test_the_session_ends_at_its_close_and_undecided_items_roll_over_in_order(
    time_env: WorkflowEnvironment, task_queue: str
):
    desk = four_requirements()
    async with session_on_agenda(time_env, task_queue, desk) as session:
        await open_view(session)
        await session.execute_update(
            CommitteeSessionWorkflow.decide, decision(102, DecisionKind.REJECT, reason="no")
        )
        closed = await session.result()
        assert closed.status is SessionStatus.CLOSED
        assert await time_env.get_current_time() >= closed.ends_at
        assert [item.number for item in closed.undecided()] == [101, 103, 104]
        assert desk.projections[-1].status is SessionStatus.CLOSED
        await Replayer(
            workflows=[CommitteeSessionWorkflow], data_converter=pydantic_data_converter
        ).replay_workflow(await session.fetch_history())

        # The rejected ticket left pending_committee; the others wait for the next session.
        desk.pending = [requirement(n) for n in (104, 101, 103)]
        next_session = await time_env.client.start_workflow(
            CommitteeSessionWorkflow.run,
            SessionInput(session_id="next", holidays=HOLIDAYS, started_by="admin@btw.com.co"),
            id="committee-session-next",
            task_queue=task_queue,
        )
        next_view = await open_view(next_session)
    assert [item.number for item in next_view.agenda] == [101, 103, 104]
    assert next_view.session_id == "next" and next_view.started_by == "admin@btw.com.co"


async def test_an_empty_agenda_ends_the_session_at_once(
    time_env: WorkflowEnvironment, task_queue: str
):
    desk = FakeDesk([])
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[CommitteeSessionWorkflow],
        activities=desk.activities(),
    ):
        view = await time_env.client.execute_workflow(
            CommitteeSessionWorkflow.run,
            SessionInput(holidays=[]),
            id="committee-empty",
            task_queue=task_queue,
        )
    assert view.status is SessionStatus.CLOSED and view.agenda == []
    assert desk.mails[0].data["items"] == []


@pytest.mark.parametrize(
    ("started", "ends"),
    [
        (datetime(2026, 12, 2, 9, 0), datetime(2026, 12, 2, 18, 0)),  # Wednesday
        (datetime(2026, 12, 4, 16, 30), datetime(2026, 12, 4, 17, 0)),  # Friday
        (datetime(2026, 12, 2, 19, 0), datetime(2026, 12, 3, 18, 0)),  # after closing
        (datetime(2026, 12, 5, 9, 0), datetime(2026, 12, 7, 18, 0)),  # Saturday
        (datetime(2026, 12, 8, 9, 0), datetime(2026, 12, 9, 18, 0)),  # a holiday Tuesday
        (datetime(2026, 12, 2, 6, 0), datetime(2026, 12, 2, 18, 0)),  # before opening
    ],
)
def test_a_session_ends_at_the_close_of_its_business_day(started: datetime, ends: datetime):
    start = started.replace(tzinfo=BOGOTA)
    assert session_end(start, CALENDAR) == ends.replace(tzinfo=BOGOTA)


async def test_the_weekly_schedule_is_created_once_and_runs_on_wednesdays_at_nine(
    dev_env: WorkflowEnvironment, task_queue: str
):
    client = dev_env.client
    try:
        thursday = load_settings(committee_schedule=CommitteeSchedule(weekday=3, at=time(10, 0)))
        await ensure_committee_schedule(client, thursday, task_queue=task_queue)
        assert all(run.weekday() == 3 for run in await next_committee_runs(client))

        settings = load_settings()
        await ensure_committee_schedule(client, settings, task_queue=task_queue)
        await ensure_committee_schedule(client, settings, task_queue=task_queue)
        schedules = [s.id async for s in await client.list_schedules()]
        assert schedules.count(COMMITTEE_SCHEDULE_ID) <= 1

        runs = await next_committee_runs(client)
        assert runs and all(run > datetime.now(UTC) for run in runs)
        for run in runs:
            assert run.astimezone(BOGOTA).weekday() == 2
            assert run.astimezone(BOGOTA).time() == time(9, 0)
            assert (run.hour, run.minute) == (14, 0)
        assert [b - a for a, b in zip(runs, runs[1:], strict=False)] == [timedelta(days=7)] * (
            len(runs) - 1
        )
    finally:
        await client.get_schedule_handle(COMMITTEE_SCHEDULE_ID).delete()


async def test_an_admin_starts_a_session_now(dev_env: WorkflowEnvironment, task_queue: str):
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    handle = await start_session_now(
        dev_env.client, load_settings(), started_by="admin@btw", now=now, task_queue=task_queue
    )
    try:
        assert handle.id == "committee-manual-20261202T100000"
        description = await handle.describe()
        assert description.workflow_type == "CommitteeSessionWorkflow"
    finally:
        await handle.terminate()
