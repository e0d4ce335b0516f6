"""Requirements decided by the weekly committee (POLICY.md §VI.d): the pure transitions,
then the ticket workflow on real Temporal servers (time-skipping for the timer path, the
dev server for the signals). With SOPORTE_WRITE_HISTORIES=<new patch folder> the timer
path writes its history for tests/test_replay.py (never over a committed one)."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio.testing import WorkflowEnvironment

from soporte.policy import Kind, ResolutionKind, Status, Visibility
from soporte.policy.committee import (
    DecisionKind,
)
from soporte.policy.names import TicketSignal
from soporte.policy.ticket import (
    DeadlineAction,
    FlowEvent,
    check_deliver,
    committee_decision,
    deliver,
    next_deadline,
    reopen,
    view,
)
from soporte.policy.tickets import (
    DeliverCommand,
    EventType,
    ReopenCommand,
)
from tests.flow_support import (
    WEDNESDAY,
    decision,
    outbox,
    refusal,
    refused,
    registered,
    requirement,
    run_deadlines_until,
    utc_iso,
)
from tests.workflow_support import (
    ENGINEER,
    REPORTER,
    Recorder,
    assert_log_is_contiguous,
    eventually,
    keep_history,
    start_ticket,
    ticket_input,
)
from workflows.ticket import TicketWorkflow


def test_an_accepted_requirement_is_planned_and_the_client_told_the_date() -> None:
    state = registered(Kind.REQUIREMENT)
    seq = committee_decision(state, decision(DecisionKind.ACCEPT), WEDNESDAY)
    assert seq == state.last_seq
    shown = view(state)
    assert shown.status is Status.PLANNED and shown.estimated_delivery == date(2027, 1, 15)
    logged = [e for e in state.pending_events if e.type == FlowEvent.COMMITTEE_DECISION]
    assert logged[0].visibility is Visibility.PUBLIC
    assert logged[0].data["session_id"] == "committee-session-1"
    [accepted] = outbox(state, "committee_accepted")
    assert accepted.to == [REPORTER, "gerencia@cliente.co"]
    assert accepted.data["estimated_delivery"] == "2027-01-15"
    # The same decision again is applied once; nothing waits on a timer.
    assert committee_decision(state, decision(DecisionKind.ACCEPT), WEDNESDAY) is None
    assert next_deadline(state, WEDNESDAY) is None


def test_a_planned_requirement_is_delivered_and_a_reopening_keeps_it_planned() -> None:
    state = registered(Kind.REQUIREMENT)
    command = DeliverCommand(actor_email=ENGINEER, body="Publicado en producción")
    assert "planned" in refused(check_deliver, state, command, WEDNESDAY).message
    committee_decision(state, decision(DecisionKind.ACCEPT), WEDNESDAY)
    later = WEDNESDAY + timedelta(days=20)
    deliver(state, command, later)
    assert state.status is Status.RESOLVED
    assert state.resolution and state.resolution.kind is ResolutionKind.DELIVERED
    assert state.resolution.body == "Publicado en producción"
    assert outbox(state, "requirement_delivered")[0].data["estimated_delivery"] == "2027-01-15"
    assert outbox(state, "rating_invitation")
    assert refused(check_deliver, state, command, later).reason == "InvalidState"
    reopen(state, ReopenCommand(actor_email=REPORTER, reason="falta un campo"), later)
    assert state.status is Status.PLANNED


def test_a_rejected_requirement_is_resolved_then_closed_after_the_window() -> None:
    state = registered(Kind.REQUIREMENT)
    committee_decision(state, decision(DecisionKind.REJECT, reason="fuera del alcance"), WEDNESDAY)
    assert state.status is Status.RESOLVED
    assert state.resolution and state.resolution.kind is ResolutionKind.REJECTED
    assert state.resolution.body == "fuera del alcance"
    [rejected] = outbox(state, "committee_rejected")
    assert rejected.data["reason"] == "fuera del alcance"
    assert rejected.data["reopen_until"] == utc_iso(WEDNESDAY + timedelta(days=15))
    done = run_deadlines_until(state, WEDNESDAY + timedelta(days=30))
    assert done == [(DeadlineAction.CLOSE, WEDNESDAY + timedelta(days=15))]
    assert state.status is Status.CLOSED


def test_a_deferred_requirement_stays_pending_once_per_session() -> None:
    state = registered(Kind.REQUIREMENT)
    committee_decision(state, decision(DecisionKind.DEFER, reason="falta estimar"), WEDNESDAY)
    assert committee_decision(state, decision(DecisionKind.DEFER), WEDNESDAY) is None
    next_week = decision(DecisionKind.DEFER, session="committee-session-2")
    committee_decision(state, next_week, WEDNESDAY + timedelta(days=7))
    decided = [e for e in state.pending_events if e.type == FlowEvent.COMMITTEE_DECISION]
    assert [e.visibility for e in decided] == [Visibility.INTERNAL] * 2
    assert state.status is Status.PENDING_COMMITTEE
    assert not [n for n in state.outbox if n.template.startswith("committee")]


def test_a_decision_that_does_not_apply_is_only_logged_internally() -> None:
    support = registered(Kind.SUPPORT)
    before = view(support)
    committee_decision(support, decision(DecisionKind.ACCEPT), WEDNESDAY)
    note = support.pending_events[-1]
    assert note.type == EventType.INTERNAL_NOTE and note.visibility is Visibility.INTERNAL
    assert note.data["signal"] == "committee_decision"
    assert view(support).status is before.status and view(support).estimated_delivery is None
    planned = registered(Kind.REQUIREMENT)
    committee_decision(planned, decision(DecisionKind.ACCEPT), WEDNESDAY)
    late = decision(DecisionKind.REJECT, session="committee-session-2", reason="no")
    committee_decision(planned, late, WEDNESDAY)
    assert planned.status is Status.PLANNED and planned.pending_events[-1].data["ignored"]


async def test_a_requirement_accepted_then_delivered(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = requirement(await time_env.get_current_time())
    accept = decision(DecisionKind.ACCEPT, estimated=date(2099, 3, 31))
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        command = DeliverCommand(actor_email=ENGINEER, body="Disponible en producción")
        early = await refusal(handle.execute_update(TicketWorkflow.deliver, command))
        assert early.type == "InvalidState" and "planned" in early.message
        await handle.signal(TicketWorkflow.committee_decision, accept)
        await handle.signal(TicketWorkflow.committee_decision, accept)  # a repeat: once
        await eventually(lambda: bool(recorder.sent(ticket.number, "committee_accepted")))
        planned = await handle.query(TicketWorkflow.view)
        delivered = await handle.execute_update(TicketWorkflow.deliver, command)
        result = await handle.result()
        await keep_history(handle, "requirement_accepted_delivered")
    assert planned.status is Status.PLANNED and planned.estimated_delivery == date(2099, 3, 31)
    assert delivered.status is Status.RESOLVED
    assert delivered.resolution and delivered.resolution.kind is ResolutionKind.DELIVERED
    assert len(recorder.of_type(ticket.number, FlowEvent.COMMITTEE_DECISION)) == 1
    [told] = recorder.sent(ticket.number, "committee_accepted")
    assert told.data["estimated_delivery"] == "2099-03-31"
    assert len(recorder.sent(ticket.number, "requirement_delivered")) == 1
    assert result.status is Status.CLOSED
    assert_log_is_contiguous(recorder.log(ticket.number))


async def test_committee_reject_and_defer_reach_the_ticket(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    rejected, deferred, support = requirement(), requirement(), ticket_input()
    async with recorder.worker(dev_env.client, task_queue):
        handles = [
            await start_ticket(dev_env.client, task_queue, t) for t in (rejected, deferred, support)
        ]
        reject = decision(DecisionKind.REJECT, reason="No está en la hoja de ruta")
        await handles[0].signal(TicketSignal.COMMITTEE_DECISION, reject)  # the sender's name
        defer = decision(DecisionKind.DEFER, reason="Falta estimar")
        await handles[1].signal(TicketWorkflow.committee_decision, defer)
        await handles[1].signal(TicketWorkflow.committee_decision, defer)
        await handles[2].signal(TicketWorkflow.committee_decision, decision(DecisionKind.ACCEPT))
        await eventually(lambda: bool(recorder.sent(rejected.number, "committee_rejected")))
        await eventually(lambda: bool(recorder.of_type(deferred.number, "committee_decision")))
        await eventually(lambda: bool(recorder.of_type(support.number, EventType.INTERNAL_NOTE)))
        views = [await h.query(TicketWorkflow.view) for h in handles]
        for handle in handles:
            await handle.terminate()
    assert views[0].status is Status.RESOLVED
    assert views[0].resolution and views[0].resolution.kind is ResolutionKind.REJECTED
    assert views[0].resolution.body == "No está en la hoja de ruta"
    assert views[0].reopen_until is not None
    assert views[1].status is Status.PENDING_COMMITTEE
    [logged] = recorder.of_type(deferred.number, "committee_decision")
    assert logged.visibility is Visibility.INTERNAL and logged.body == "Falta estimar"
    assert views[2].status is Status.OPEN and views[2].estimated_delivery is None
    assert not recorder.sent(support.number, "committee_accepted")
