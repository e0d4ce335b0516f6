"""Incidents: tickets of two or more clients become P1 once; resolving resolves them all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.client import WorkflowUpdateFailedError as UpdateFailed
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from soporte.policy import Priority, ResolutionKind
from soporte.policy.incidents import (
    IncidentInput,
    IncidentLinkedSignal,
    IncidentPrioritySignal,
    IncidentResolvedSignal,
    IncidentStatus,
    IncidentView,
    LinkTicket,
    ResolveIncident,
    incident_workflow_id,
    link_problem,
)
from soporte.policy.tickets import workflow_id
from workflows.incident import IncidentWorkflow

CLIENT_A, CLIENT_B = "900123456-7", "800987654-3"
Incident = WorkflowHandle[Any, IncidentView]


@workflow.defn(name="TicketWorkflow", sandboxed=False)
class TicketStandIn:
    """Records the incident signals a ticket receives."""

    def __init__(self) -> None:
        self.links: list[IncidentLinkedSignal] = []
        self.priorities: list[IncidentPrioritySignal] = []
        self.resolutions: list[IncidentResolvedSignal] = []

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal(name="incident_linked")
    def incident_linked(self, signal: IncidentLinkedSignal) -> None:
        self.links.append(signal)

    @workflow.query
    def links_received(self) -> list[IncidentLinkedSignal]:
        return self.links

    @workflow.signal(name="incident_priority")
    def incident_priority(self, signal: IncidentPrioritySignal) -> None:
        self.priorities.append(signal)

    @workflow.signal(name="incident_resolved")
    def incident_resolved(self, signal: IncidentResolvedSignal) -> None:
        self.resolutions.append(signal)

    @workflow.query
    def received(self) -> tuple[list[IncidentPrioritySignal], list[IncidentResolvedSignal]]:
        return self.priorities, self.resolutions


projections: list[IncidentView] = []


@activity.defn(name="project_incident")
async def project_incident(view: IncidentView) -> None:
    projections.append(view)


@pytest.fixture
async def incident(time_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Incident]:
    projections.clear()
    client = time_env.client
    workflows = [IncidentWorkflow, TicketStandIn]
    async with Worker(
        client, task_queue=task_queue, workflows=workflows, activities=[project_incident]
    ):
        for number in (1, 2, 3):
            await client.start_workflow(
                TicketStandIn.run, id=workflow_id(number), task_queue=task_queue
            )
        start = IncidentInput(incident_id="7", title="Caída de facturación", opened_by="sup@btw")
        yield await client.start_workflow(
            IncidentWorkflow.run, start, id=incident_workflow_id("7"), task_queue=task_queue
        )


async def link(incident: Incident, number: int, nit: str) -> IncidentView:
    return await incident.execute_update(IncidentWorkflow.link, LinkTicket(number=number, nit=nit))


async def priorities(client: Client, number: int) -> list[IncidentPrioritySignal]:
    received = await client.get_workflow_handle(workflow_id(number)).query(TicketStandIn.received)
    return received[0]


async def resolutions(client: Client, number: int) -> list[IncidentResolvedSignal]:
    received = await client.get_workflow_handle(workflow_id(number)).query(TicketStandIn.received)
    return received[1]


async def test_tickets_of_two_clients_make_the_incident_and_every_ticket_p1_once(
    incident: Incident, time_env: WorkflowEnvironment
):
    client = time_env.client
    await link(incident, 1, CLIENT_A)
    view = await link(incident, 2, CLIENT_A)
    assert view.priority is None
    assert await priorities(client, 1) == [] and await priorities(client, 2) == []

    view = await link(incident, 3, CLIENT_B)
    assert view.priority is Priority.P1
    for number in (1, 2, 3):
        [signal] = await priorities(client, number)
        assert signal.priority is Priority.P1 and signal.incident_id == "7"
        assert "2 clientes" in signal.reason

    with pytest.raises(UpdateFailed) as duplicate:
        await link(incident, 3, CLIENT_B)
    assert "already linked" in str(duplicate.value.cause)


async def test_every_linked_ticket_is_told_its_incident(
    incident: Incident, time_env: WorkflowEnvironment
):
    client = time_env.client
    await link(incident, 1, CLIENT_A)
    await link(incident, 2, CLIENT_A)
    for number in (1, 2):
        handle = client.get_workflow_handle(workflow_id(number))
        [linked] = await handle.query(TicketStandIn.links_received)
        assert (linked.incident_id, linked.title) == ("7", "Caída de facturación")
    assert await priorities(client, 1) == []  # one client: told, but not P1
    untouched = client.get_workflow_handle(workflow_id(3))
    assert await untouched.query(TicketStandIn.links_received) == []


async def test_resolving_the_incident_resolves_every_linked_ticket(
    incident: Incident, time_env: WorkflowEnvironment
):
    client = time_env.client
    await link(incident, 1, CLIENT_A)
    await link(incident, 2, CLIENT_B)
    body = "Servicio restablecido"
    command = ResolveIncident(kind=ResolutionKind.SOLUTION, body=body, actor="e@btw")
    await incident.execute_update(IncidentWorkflow.resolve, command)
    view = await incident.result()
    assert view.status is IncidentStatus.RESOLVED
    for number in (1, 2):
        [resolved] = await resolutions(client, number)
        assert (resolved.kind, resolved.body) == (ResolutionKind.SOLUTION, body)
    assert await resolutions(client, 3) == []
    assert projections[-1].status is IncidentStatus.RESOLVED
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(await incident.fetch_history())


async def test_nothing_is_linked_after_resolution_and_bad_resolutions_are_refused(
    incident: Incident,
):
    await link(incident, 1, CLIENT_A)
    with pytest.raises(UpdateFailed) as no_body:
        await incident.execute_update(
            IncidentWorkflow.resolve, ResolveIncident(kind=ResolutionKind.SOLUTION, body=" ")
        )
    assert "body: required" in str(no_body.value.cause)
    # Structured: the door maps the field and the code, never the message's words.
    assert no_body.value.cause.details[0] == {
        "field": "body",
        "code": "required",
        "message": "required",
    }
    await incident.execute_update(
        IncidentWorkflow.resolve, ResolveIncident(kind=ResolutionKind.ADVICE, body="Hecho")
    )
    # Refused by the validator, or by the server once the workflow has completed.
    with pytest.raises((UpdateFailed, RPCError)):
        await link(incident, 2, CLIENT_B)
    assert link_problem(await incident.result(), LinkTicket(number=2, nit=CLIENT_B))
