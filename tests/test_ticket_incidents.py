"""Incidents (POLICY.md "Kinds and priorities"): linked tickets of several clients become P1
and are resolved with the incident; the pure transitions, then the ticket and incident
workflows on real Temporal servers. With SOPORTE_WRITE_HISTORIES=<new patch folder> the
timer path writes its history for tests/test_replay.py (never over a committed one)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from soporte.policy import Kind, Priority, ResolutionKind, Status, sla
from soporte.policy.incidents import (
    IncidentInput,
    IncidentView,
    LinkTicket,
    ResolveIncident,
    incident_workflow_id,
)
from soporte.policy.names import Activity, TicketSignal
from soporte.policy.ticket import (
    change_priority,
    incident_priority,
    incident_resolved,
    next_deadline,
    reply,
    view,
)
from soporte.policy.tickets import (
    EngineerMessage,
    EventType,
    PriorityCommand,
)
from tests.flow_support import (
    WEDNESDAY,
    outbox,
    p1_signal,
    registered,
    resolved_signal,
)
from tests.workflow_support import (
    ENGINEER,
    HOLIDAYS,
    REPORTER,
    Recorder,
    assert_log_is_contiguous,
    at_bogota,
    eventually,
    keep_history,
    move_to,
    next_day_after,
    start_ticket,
    ticket_input,
)
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow


def test_an_incident_makes_a_p3_ticket_p1_from_its_sla_start() -> None:
    state = registered(Kind.SUPPORT)
    reply(state, EngineerMessage(author_email=ENGINEER, body="revisando"), WEDNESDAY)
    later = WEDNESDAY + timedelta(hours=2)
    incident_priority(state, p1_signal(), later)
    shown = view(state)
    assert shown.priority is Priority.P1 and shown.incident_id == "inc-1"
    due = sla.due_instants(Priority.P1, WEDNESDAY, HOLIDAYS)
    assert shown.sla.resolution_due == due.resolution_due == WEDNESDAY + timedelta(hours=8)
    changed = [e for e in state.pending_events if e.type == EventType.PRIORITY_CHANGED][-1]
    assert changed.data["incident_id"] == "inc-1" and changed.data["from"] == "P3"
    assert changed.body == "incidente inc-1 afecta a 2 clientes"
    told = outbox(state, "incident_priority")
    assert [n.to for n in told] == [[REPORTER, "gerencia@cliente.co"], ["@assignee"]]
    assert incident_priority(state, p1_signal(), later) is None


def test_the_incident_p1_recomputes_like_change_priority() -> None:
    by_signal, by_engineer = registered(Kind.SUPPORT), registered(Kind.SUPPORT)
    later = WEDNESDAY + timedelta(hours=7)
    incident_priority(by_signal, p1_signal(), later)
    command = PriorityCommand(actor_email=ENGINEER, priority=Priority.P1, reason="x")
    change_priority(by_engineer, command, later)
    assert view(by_signal).sla == view(by_engineer).sla
    assert by_signal.first_response_flags == by_engineer.first_response_flags
    assert next_deadline(by_signal, later) == next_deadline(by_engineer, later)


def test_an_incident_priority_that_does_not_apply_is_logged_and_sets_the_incident() -> None:
    requirement = registered(Kind.REQUIREMENT)
    incident_priority(requirement, p1_signal(), WEDNESDAY)
    assert requirement.priority is Priority.REQUIREMENT and requirement.incident_id == "inc-1"
    assert requirement.pending_events[-1].type == EventType.INTERNAL_NOTE
    already = registered(Kind.SUPPORT, priority=Priority.P1)
    incident_priority(already, p1_signal(), WEDNESDAY)
    assert already.pending_events[-1].type == EventType.INTERNAL_NOTE
    assert not outbox(already, "incident_priority")


def test_an_incident_resolution_resolves_an_open_ticket_once() -> None:
    state = registered(Kind.SUPPORT)
    incident_resolved(state, resolved_signal(), WEDNESDAY + timedelta(hours=1))
    shown = view(state)
    assert shown.status is Status.RESOLVED and shown.incident_id == "inc-1"
    assert shown.resolution and shown.resolution.kind is ResolutionKind.SOLUTION
    assert shown.resolution.body == "Se restableció el servicio de la DIAN"
    assert shown.resolution.by == ENGINEER
    [told] = outbox(state, "incident_resolved")
    assert told.data["resolution_kind"] == "solution" and told.data["incident_id"] == "inc-1"
    assert incident_resolved(state, resolved_signal(), WEDNESDAY) is None
    other = incident_resolved(state, resolved_signal("inc-2"), WEDNESDAY + timedelta(hours=2))
    assert other is not None and state.pending_events[-1].type == EventType.INTERNAL_NOTE
    assert len([e for e in state.pending_events if e.type == EventType.RESOLVED]) == 1


async def test_an_incident_makes_a_p3_ticket_p1_then_resolves_it(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    wednesday = next_day_after(await time_env.get_current_time(), lambda d: d.weekday() == 2)
    start = at_bogota(wednesday, 9, 0)
    await move_to(time_env, start)
    recorder = Recorder()
    ticket = ticket_input(registered_at=start, priority=Priority.P3)
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await handle.execute_update(
            TicketWorkflow.reply, EngineerMessage(author_email=ENGINEER, body="Revisando")
        )
        await move_to(time_env, start + timedelta(hours=2))
        await handle.signal(TicketWorkflow.incident_priority, p1_signal())
        await handle.signal(TicketWorkflow.incident_priority, p1_signal())  # a repeat: once
        await eventually(lambda: len(recorder.sent(ticket.number, "incident_priority")) == 2)
        raised = await handle.query(TicketWorkflow.view)
        await move_to(time_env, start + timedelta(hours=7))
        await eventually(lambda: bool(recorder.of_type(ticket.number, EventType.SLA_WARNING)))
        await handle.signal(TicketWorkflow.incident_resolved, resolved_signal())
        await eventually(lambda: bool(recorder.sent(ticket.number, "incident_resolved")))
        resolved = await handle.query(TicketWorkflow.view)
        result = await handle.result()
        await keep_history(handle, "incident_p1_then_resolved")
    assert raised.priority is Priority.P1 and raised.incident_id == "inc-1"
    assert raised.sla.first_response_due == start + timedelta(hours=1)
    assert raised.sla.resolution_due == start + timedelta(hours=8)
    [changed] = recorder.of_type(ticket.number, EventType.PRIORITY_CHANGED)
    assert changed.data["incident_id"] == "inc-1" and changed.data["to"] == "P1"
    [warning] = recorder.of_type(ticket.number, EventType.SLA_WARNING)
    assert warning.at == start + timedelta(hours=6)  # 75 % of the P1 resolution target
    assert resolved.status is Status.RESOLVED and resolved.incident_id == "inc-1"
    assert resolved.resolution and resolved.resolution.kind is ResolutionKind.SOLUTION
    assert not recorder.of_type(ticket.number, EventType.SLA_BREACH)
    assert result.status is Status.CLOSED
    assert_log_is_contiguous(recorder.log(ticket.number))


async def test_the_incident_workflow_raises_and_resolves_real_tickets(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The sender's signal names and payloads reach the ticket workflow as they are."""
    assert (TicketSignal.INCIDENT_PRIORITY, TicketSignal.INCIDENT_RESOLVED) == (
        "incident_priority",
        "incident_resolved",
    )
    recorder = Recorder()
    projected: list[Any] = []

    @activity.defn(name=Activity.PROJECT_INCIDENT)
    async def project_incident(incident: IncidentView) -> None:
        projected.append(incident)

    tickets = [
        ticket_input(priority=Priority.P3),
        ticket_input(priority=Priority.P2, nit="800987654-3", client_name="Otra S.A."),
    ]
    worker = Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[TicketWorkflow, IncidentWorkflow],
        activities=[*recorder.activities(), project_incident],
    )
    async with worker:
        handles = [await start_ticket(dev_env.client, task_queue, t) for t in tickets]
        incident_id = f"inc-{tickets[0].number}"
        incident = await dev_env.client.start_workflow(
            IncidentWorkflow.run,
            IncidentInput(incident_id=incident_id, title="DIAN caída", opened_by=ENGINEER),
            id=incident_workflow_id(incident_id),
            task_queue=task_queue,
        )
        for t in tickets:
            await incident.execute_update(
                IncidentWorkflow.link, LinkTicket(number=t.number, nit=t.nit, actor=ENGINEER)
            )
        await eventually(lambda: all(recorder.sent(t.number, "incident_priority") for t in tickets))
        raised = [await h.query(TicketWorkflow.view) for h in handles]
        await incident.execute_update(
            IncidentWorkflow.resolve,
            ResolveIncident(kind=ResolutionKind.SOLUTION, body="DIAN restablecida", actor=ENGINEER),
        )
        await incident.result()
        await eventually(lambda: all(recorder.sent(t.number, "incident_resolved") for t in tickets))
        resolved = [await h.query(TicketWorkflow.view) for h in handles]
        for handle in handles:
            await handle.terminate()
    assert [v.priority for v in raised] == [Priority.P1, Priority.P1]
    assert all(v.incident_id == incident_id for v in raised)
    assert all(v.status is Status.RESOLVED for v in resolved)
    assert all(v.resolution and v.resolution.body == "DIAN restablecida" for v in resolved)
