"""CommitteeSessionWorkflow: one session of the weekly Comité Operativo.

Started by the Schedule `committee-weekly` (no input) or by an admin (a SessionInput). It
builds the agenda (every requirement still pending_committee, in filing order), mails it to
the committee, accepts decisions through the update `decide` and signals each one to the
requirement's ticket workflow, and ends at `ends_at` (or once every item is decided).
Undecided items stay pending_committee, so the next session's agenda has them, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from soporte.policy.calendar import BusinessCalendar
    from soporte.policy.committee import (
        COMMITTEE_RECIPIENT,
        AgendaItem,
        Decision,
        RecordedDecision,
        SessionInput,
        SessionStatus,
        SessionView,
        bogota_today,
        decision_problem,
        decision_signal,
        in_filing_order,
        session_end,
    )
    from soporte.policy.names import (
        Activity,
        CommitteeUpdate,
        MailTemplate,
        Query,
        TicketSignal,
        WorkflowType,
    )
    from soporte.policy.tickets import Notification, workflow_id

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))


async def wait_until(predicate: Callable[[], bool], deadline: datetime) -> bool:
    """Wait for predicate until deadline; True when it holds. A passed deadline checks once."""
    left = deadline - workflow.now()
    if left <= timedelta(0):
        return predicate()
    try:
        await workflow.wait_condition(predicate, timeout=left)
    except TimeoutError:
        return predicate()
    return True


@workflow.defn(name=WorkflowType.COMMITTEE_SESSION)
class CommitteeSessionWorkflow:
    def __init__(self) -> None:
        self._view: SessionView | None = None
        self._in_flight: set[int] = set()
        self._closing = False
        self._projected = 0

    @workflow.run
    async def run(self, start: SessionInput | None = None) -> SessionView:
        self._view = await self._open_session(start or SessionInput())
        await self._project()
        await self._mail_agenda()
        await self._hold_session()
        self._closing = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        view = self._current()
        view.status = SessionStatus.CLOSED
        view.version += 1
        await self._project()
        return view

    # --- Handlers -------------------------------------------------------------------------

    @workflow.query(name=Query.VIEW)
    def view(self) -> SessionView:
        return self._current()

    @workflow.update(name=CommitteeUpdate.DECIDE)
    async def decide(self, decision: Decision) -> RecordedDecision:
        self._in_flight.add(decision.number)
        recorded = RecordedDecision(**decision.model_dump(), decided_at=workflow.now())
        try:
            await self._signal_ticket(recorded)
        finally:
            self._in_flight.discard(decision.number)
        view = self._current()
        view.decisions.append(recorded)
        view.version += 1
        return recorded

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        if self._view is None:
            raise ApplicationError("the session is still preparing its agenda: try again")
        if self._closing or self._view.status is SessionStatus.CLOSED:
            raise ApplicationError(f"session {self._view.session_id} is closed")
        taken = {d.number for d in self._view.decisions} | self._in_flight
        today = bogota_today(workflow.now())
        problem = decision_problem(decision, self._view.agenda, taken, today)
        if problem is not None:
            raise ApplicationError(str(problem), problem.details(), type="InvalidDecision")

    # --- Steps ----------------------------------------------------------------------------

    async def _open_session(self, start: SessionInput) -> SessionView:
        started_at = start.started_at or workflow.now()
        holidays = start.holidays
        if holidays is None:
            holidays = await self._holidays(started_at)
        ends_at = start.ends_at or session_end(started_at, BusinessCalendar(holidays))
        agenda = await workflow.execute_activity(
            Activity.COMMITTEE_AGENDA.value,
            result_type=list[AgendaItem],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return SessionView(
            session_id=start.session_id or workflow.info().workflow_id,
            started_at=started_at,
            ends_at=ends_at,
            started_by=start.started_by,
            agenda=in_filing_order(agenda),
            version=1,
        )

    async def _holidays(self, started_at: datetime) -> list[date]:
        return await workflow.execute_activity(
            Activity.COMMITTEE_HOLIDAYS.value,
            started_at,
            result_type=list[date],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def _mail_agenda(self) -> None:
        view = self._current()
        notification = Notification(
            id=f"{view.session_id}-agenda",
            number=0,
            template=MailTemplate.COMMITTEE_AGENDA,
            to=[COMMITTEE_RECIPIENT],
            data={
                "session_id": view.session_id,
                "started_at": view.started_at.isoformat(),
                "ends_at": view.ends_at.isoformat(),
                "items": [item.model_dump(mode="json") for item in view.agenda],
            },
        )
        await workflow.execute_activity(
            Activity.DELIVER_NOTIFICATION.value,
            notification,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def _hold_session(self) -> None:
        """Until ends_at, or every item decided: project each change as it comes."""
        ends_at = self._current().ends_at
        while True:
            await wait_until(lambda: not self._is_projected() or self._all_decided(), ends_at)
            if not self._is_projected():
                await self._project()
            if self._all_decided() or workflow.now() >= ends_at:
                return

    def _is_projected(self) -> bool:
        return self._projected == self._current().version

    def _all_decided(self) -> bool:
        return not self._current().undecided() and not self._in_flight

    async def _signal_ticket(self, decision: RecordedDecision) -> None:
        session_id = self._current().session_id
        ticket = workflow.get_external_workflow_handle(workflow_id(decision.number))
        try:
            await ticket.signal(
                TicketSignal.COMMITTEE_DECISION, decision_signal(decision, session_id)
            )
        except Exception as error:  # an unreachable ticket refuses the decision
            raise ApplicationError(
                f"requirement {decision.number}: its ticket could not be reached ({error})",
                type="TicketUnreachable",
            ) from error

    async def _project(self) -> None:
        view = self._current()
        version = view.version
        await workflow.execute_activity(
            Activity.PROJECT_COMMITTEE_SESSION.value,
            view,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        self._projected = version

    def _current(self) -> SessionView:
        if self._view is None:
            raise ApplicationError("the session is still preparing its agenda")
        return self._view
