"""IncidentWorkflow (`incident-<id>`): the tickets of one failure.

Each linked ticket is told its incident (signal `incident_linked`). Linking tickets of two
or more distinct clients makes the incident and every linked ticket P1 (each ticket is told
once, by the signal `incident_priority`, and so is every ticket linked later). Resolving
the incident sends `incident_resolved` to each linked ticket and completes the workflow.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from soporte.policy import Priority
    from soporte.policy.incidents import (
        IncidentInput,
        IncidentLinkedSignal,
        IncidentPrioritySignal,
        IncidentResolution,
        IncidentResolvedSignal,
        IncidentStatus,
        IncidentView,
        LinkedTicket,
        LinkTicket,
        ResolveIncident,
        is_multi_client,
        link_problem,
        p1_reason,
        resolve_problem,
    )
    from soporte.policy.names import Activity, IncidentUpdate, Query, TicketSignal, WorkflowType
    from soporte.policy.tickets import workflow_id

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))
# Each linked ticket is told its incident (before, a ticket of a single-client incident
# learnt it only at P1 or at the resolution). Incidents linked on older code replay as
# they ran.
LINK_SIGNAL_PATCH = "incident-linked-signal"


@workflow.defn(name=WorkflowType.INCIDENT)
class IncidentWorkflow:
    @workflow.init
    def __init__(self, start: IncidentInput) -> None:
        self._view = IncidentView(
            incident_id=start.incident_id,
            title=start.title,
            opened_by=start.opened_by,
            opened_at=start.opened_at or workflow.now(),
            version=1,
        )
        self._projected = 0
        self._resolved_everywhere = False

    @workflow.run
    async def run(self, start: IncidentInput) -> IncidentView:
        while not (self._resolved_everywhere and self._is_projected()):
            await workflow.wait_condition(
                lambda: not self._is_projected() or self._resolved_everywhere
            )
            if not self._is_projected():
                await self._project()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not self._is_projected():
            await self._project()
        return self._view

    # --- Handlers -------------------------------------------------------------------------

    @workflow.query(name=Query.VIEW)
    def view(self) -> IncidentView:
        return self._view

    @workflow.update(name=IncidentUpdate.LINK)
    async def link(self, link: LinkTicket) -> IncidentView:
        view = self._view
        view.tickets.append(
            LinkedTicket(
                number=link.number, nit=link.nit, linked_at=workflow.now(), linked_by=link.actor
            )
        )
        view.version += 1
        if workflow.patched(LINK_SIGNAL_PATCH):
            linked = IncidentLinkedSignal(
                incident_id=view.incident_id, title=view.title, actor=link.actor, at=workflow.now()
            )
            await self._signal(link.number, TicketSignal.INCIDENT_LINKED, linked)
        if is_multi_client(view.tickets):
            view.priority = Priority.P1
            await self._raise_to_p1()
        return view

    @link.validator
    def _validate_link(self, link: LinkTicket) -> None:
        problem = link_problem(self._view, link)
        if problem is not None:
            raise ApplicationError(str(problem), problem.details(), type="InvalidLink")

    @workflow.update(name=IncidentUpdate.RESOLVE)
    async def resolve(self, command: ResolveIncident) -> IncidentView:
        view = self._view
        view.status = IncidentStatus.RESOLVED
        view.resolution = IncidentResolution(
            kind=command.kind, body=command.body, at=workflow.now(), by=command.actor
        )
        view.version += 1
        signal = IncidentResolvedSignal(
            incident_id=view.incident_id,
            kind=command.kind,
            body=command.body,
            actor=command.actor,
            at=view.resolution.at,
        )
        for ticket in list(view.tickets):
            await self._signal(ticket.number, TicketSignal.INCIDENT_RESOLVED, signal)
        self._resolved_everywhere = True
        return view

    @resolve.validator
    def _validate_resolve(self, command: ResolveIncident) -> None:
        problem = resolve_problem(self._view, command)
        if problem is not None:
            raise ApplicationError(str(problem), problem.details(), type="InvalidResolution")

    # --- Steps ----------------------------------------------------------------------------

    def _is_projected(self) -> bool:
        return self._projected == self._view.version

    async def _raise_to_p1(self) -> None:
        """Tell every linked ticket not yet told that it is P1; each is told once."""
        view = self._view
        pending = [ticket for ticket in view.tickets if not ticket.p1_signalled]
        for ticket in pending:
            ticket.p1_signalled = True
        signal = IncidentPrioritySignal(
            incident_id=view.incident_id, reason=p1_reason(view), at=workflow.now()
        )
        for ticket in pending:
            await self._signal(ticket.number, TicketSignal.INCIDENT_PRIORITY, signal)

    async def _signal(self, number: int, name: str, payload: object) -> None:
        """A ticket that cannot be reached (unknown, or already finished) is logged, not fatal."""
        ticket = workflow.get_external_workflow_handle(workflow_id(number))
        try:
            await ticket.signal(name, payload)
        except Exception as error:  # an unreachable ticket must not wedge the incident
            workflow.logger.warning("signal %s to ticket %s failed: %s", name, number, error)

    async def _project(self) -> None:
        version = self._view.version
        await workflow.execute_activity(
            Activity.PROJECT_INCIDENT,
            self._view,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        self._projected = version
