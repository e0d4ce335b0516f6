"""The ticket workflow: one per ticket (id `ticket-<number>`), the system of record of its
lifecycle from registration to closing (POLICY.md).

The rules live in soporte.policy.ticket as pure transitions on one TicketState; this module
only wires them to Temporal:
- client messages, committee decisions and incident news are signals (never refused: what
  does not apply is logged internally), a client message through the API or the portal the
  update `post_message` (the signal's effect, answered once projected); engineer and client
  commands are updates whose validators refuse impossible ones (ApplicationError, nothing
  changes); `view` is a query;
- the main loop is a deadline loop: it waits for a change or for the next SLA, reminder,
  abandonment, advisory reminder or closing instant, and acts at once on an instant
  already passed;
- a projector task sends new log events, with the mail owed at that moment, to the local
  activity `write_ticket` (PROJECTION_WITH_MAIL_PATCH; tickets started before project and
  mail in activities of their own), retried forever; an update returns only once its
  events are projected, so a read of the SQL log right after sees them. The projector waits
  neither on the main loop nor on a handler, so that wait cannot deadlock;
- the run continues as new with the same state when history grows, and completes once
  the ticket is closed, after every handler has finished and everything is projected/sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from soporte.policy import Priority, Status, visibility
    from soporte.policy import ticket as ts
    from soporte.policy.committee import CommitteeDecisionSignal
    from soporte.policy.incidents import (
        IncidentLinkedSignal,
        IncidentPrioritySignal,
        IncidentResolvedSignal,
    )
    from soporte.policy.names import Activity, Query, TicketSignal, TicketUpdate, WorkflowType
    from soporte.policy.ticket import CommandRefused, TicketState
    from soporte.policy.tickets import (
        AbandonCommand,
        AdvisoryDoneCommand,
        AssignCommand,
        BookingCommand,
        ClientMessage,
        DeliverCommand,
        EngineerMessage,
        Notification,
        NotificationBatch,
        PickAssigneeInput,
        PriorityCommand,
        ProjectionBatch,
        RatingCommand,
        ReopenCommand,
        RequestInfoCommand,
        ResolveCommand,
        TicketInput,
        TicketView,
        TicketWrite,
    )
    from workflows.visibility import search_attribute_updates, state_attribute_updates

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# A projection or a send that fails is retried until it succeeds: never lost.
RETRY_FOREVER = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=0,
)
MAX_EVENTS_PER_PROJECTION = 100
# A local activity retries inside its workflow task until its backoff reaches this, and the
# task (with every command it answers) waits meanwhile; past it the backoff is a timer. Mail
# that fails (the SMTP server down) must not hold a ticket's tasks: short.
LOCAL_MAIL_RETRY_THRESHOLD = timedelta(seconds=2)
# Advisories registered before issue 6 got no booking link (nor its wait on the client).
BOOKING_LINK_PATCH = "issue6-advisory-booking-link"
# The pick and the projections, short database writes, run as local activities: without
# a trip through the server's task queue each, the server does about half the work per
# ticket (bench/open_tickets.py). Tickets started before keep running them as activities.
LOCAL_WRITES_PATCH = "local-db-writes"
# The notifications owed at one moment (at registration: the acknowledgement and the
# assignee's notice, say) go out in one activity, not one each: each activity is several
# writes on the server, whose single SQLite writer new tickets wait behind.
BATCHED_MAIL_PATCH = "batched-mail"
# A client's email whose attachments were not kept gets a notice to its sender. A ticket
# that took such a message on older code (which ignored the list) replays without one.
REFUSED_ATTACHMENTS_NOTICE_PATCH = "refused-attachments-notice"
# An unverified client message (issue 16) is logged for staff and changes nothing; before,
# every message acted as the client's.
UNVERIFIED_MESSAGE_PATCH = "unverified-client-message"
# No mail leaves before the acknowledgement is queued (it goes first): an engineer's reply
# during the assignment pick once reached the client before it. Decided once, the first
# time mail is owed before registration (an update may come before `run` starts), so a
# ticket that started on older code keeps sending as it did.
ACK_FIRST_PATCH = "ack-first"
# The Temporal UI's list shows and filters tickets by number, client NIT, priority and
# state (search attributes), with a memo carrying the subject; tickets started before keep
# their histories without those upserts.
SEARCH_ATTRIBUTES_PATCH = "search-attributes"
# Fewer server writes per event (issue 15): the deadline loop keeps its timer while the
# next deadline stays the same, instead of cancelling and starting it again on every event.
LEAN_STEPS_PATCH = "lean-steps"
# Mail goes out in a local activity, inside the workflow task that owes it, instead of a
# queued one (issue 15: a queued activity is three more history events, a task dispatch and
# another workflow task per mail). A local activity may run in a task the server then
# refuses or that never completes (a signal came in as the run was completing, a worker
# died), and the retried task may number its log otherwise (signals go first in a task), so
# each step's notifications are named from its cause (TicketState.cause, deadline_cause),
# not from the seq: the retry names the mail it already sent the same, and the send is
# skipped. Tickets that started before keep queued activities and seq names.
LOCAL_MAIL_PATCH = "local-mail"
# One local activity per step for its projection and its mail (issue 15): two were an
# activation, a marker and a transaction more per command. A mail that fails there is sent
# again on its own (deliver_notifications), so an SMTP server down does not hold the
# projection, nor the command waiting on it. Tickets that started before (or before
# local-mail) keep the two.
PROJECTION_WITH_MAIL_PATCH = "projection-with-mail"
# The memo is upserted once a run (what does not change: number, client, subject) and a move
# of state or priority upserts those two search attributes only (issue 15: each upsert is
# a history event and a visibility write on the server). Tickets started before upsert the
# memo, with state and priority in it, and every attribute on each move.
MEMO_ONCE_PATCH = "memo-once"
# A mail that write_ticket could not send goes out again in a queued activity, retried by
# the server, not a local one: a local activity holds its workflow task, and the command
# answered in that task, while the SMTP server does not answer. Tickets that retried a mail
# locally before keep doing so.
MAIL_RETRY_QUEUED_PATCH = "mail-retry-queued"


@workflow.defn(name=WorkflowType.TICKET)
class TicketWorkflow:
    @workflow.init
    def __init__(self, ticket: TicketInput, state: TicketState | None = None) -> None:
        # The SDK only decodes arguments by type when their count matches the signature, so
        # a start with the input alone hands over a plain dict: validate both either way.
        ticket = TicketInput.model_validate(ticket)
        if state is not None:
            self._state = TicketState.model_validate(state)
        else:
            self._state = TicketState.initial(ticket)
        self._changes = 0
        self._handled_this_run = 0
        self._sending: set[str] = set()  # ids of the notifications being delivered
        self._senders: set[asyncio.Task[None]] = set()  # the tasks delivering them
        self._batch_due = False
        self._ack_first: bool | None = None  # decided on first use (see ACK_FIRST_PATCH)
        self._shown: tuple[Status, Priority] | None = None  # (status, priority) upserted last
        self._lean: bool | None = None  # decided on first use (see LEAN_STEPS_PATCH)
        self._local_mail: bool | None = None  # decided on first use (see LOCAL_MAIL_PATCH)
        # Decided on first use (see PROJECTION_WITH_MAIL_PATCH); with it, the projector
        # takes the mail owed too, and this says some is waiting for it.
        self._together: bool | None = None
        self._mail_for_projector = False
        self._memo_once: bool | None = None  # decided on first use (see MEMO_ONCE_PATCH)
        self._timer: tuple[object, asyncio.Task[None]] | None = None  # (instant, its sleep)

    @workflow.run
    async def run(self, ticket: TicketInput, state: TicketState | None = None) -> TicketView:
        self._show()
        projector = asyncio.create_task(self._project_forever())
        # Registration waits on an activity; the deadline loop must not wait with it.
        registration = asyncio.create_task(self._register())
        self._start_deliveries()
        while self._state.status is not Status.CLOSED and not self._should_continue_as_new():
            await self._next_step()
        await workflow.wait_condition(
            lambda: registration.done() and workflow.all_handlers_finished() and self._drained()
        )
        await registration  # re-raises a bug in registration rather than hiding it
        projector.cancel()
        self._drop_timer()
        if self._state.status is not Status.CLOSED:
            workflow.continue_as_new(args=[self._state.input, self._state])
        return ts.view(self._state)

    # --- Queries and signals ---------------------------------------------------------------

    @workflow.query(name=Query.VIEW)
    def view(self) -> TicketView:
        return ts.view(self._state)

    @workflow.signal(name=TicketSignal.CLIENT_MESSAGE)
    def client_message(self, message: ClientMessage) -> None:
        """The client wrote; a repeated message_id is ignored. Never raises."""
        if message.refused_attachments and not workflow.patched(REFUSED_ATTACHMENTS_NOTICE_PATCH):
            message = message.model_copy(update={"refused_attachments": []})
        if not message.verified and not workflow.patched(UNVERIFIED_MESSAGE_PATCH):
            message = message.model_copy(update={"verified": True})
        self._apply_signal(ts.client_message, message, f"client message {message.message_id}")

    @workflow.update(name=TicketUpdate.POST_MESSAGE)
    async def post_message(self, message: ClientMessage) -> TicketView:
        """The client wrote, through a door that waits for the answer (API, portal): what the
        signal does, answered once projected. One workflow task (issue 15): a signal and a
        query right after it took two or three, the query making the signal's task complete
        before its projection. No validator: never refused."""
        self.client_message(message)
        await workflow.wait_condition(lambda: self._state.projected_seq >= self._state.last_seq)
        return ts.view(self._state)

    @workflow.signal(name=TicketSignal.COMMITTEE_DECISION)
    def committee_decision(self, decision: CommitteeDecisionSignal) -> None:
        """The committee accepted, rejected or deferred this requirement; a repeated
        (session, decision) is ignored. Never raises."""
        what = f"committee decision {decision.session_id}:{decision.decision.value}"
        self._apply_signal(ts.committee_decision, decision, what)

    @workflow.signal(name=TicketSignal.INCIDENT_LINKED)
    def incident_linked(self, signal: IncidentLinkedSignal) -> None:
        """The ticket was linked to an incident. Once per incident; never raises."""
        self._apply_signal(ts.incident_linked, signal, f"incident {signal.incident_id} link")

    @workflow.signal(name=TicketSignal.INCIDENT_PRIORITY)
    def incident_priority(self, signal: IncidentPrioritySignal) -> None:
        """The ticket's incident spans several clients: P1. Once per incident; never raises."""
        what = f"incident {signal.incident_id} priority"
        self._apply_signal(ts.incident_priority, signal, what)

    @workflow.signal(name=TicketSignal.INCIDENT_RESOLVED)
    def incident_resolved(self, signal: IncidentResolvedSignal) -> None:
        """The ticket's incident was resolved: so is the ticket. Once; never raises."""
        what = f"incident {signal.incident_id} resolution"
        self._apply_signal(ts.incident_resolved, signal, what)

    def _apply_signal(
        self, transition: Callable[..., int | None], payload: object, what: str
    ) -> None:
        """Apply a signal to a copy and keep it unless it was a repeat (None) or failed."""
        candidate = self._state.clone()
        try:
            with self._caused_by(candidate, what):
                seq = transition(candidate, payload, workflow.now())
        except Exception:
            workflow.logger.exception("%s not applied", what)
            return
        if seq is not None:
            self._commit(candidate)

    # --- Updates: engineer and client commands -----------------------------------------------

    @workflow.update(name=TicketUpdate.REPLY)
    async def reply(self, message: EngineerMessage) -> TicketView:
        return await self._execute(ts.reply, message)

    @reply.validator
    def _validate_reply(self, message: EngineerMessage) -> None:
        self._validate(ts.check_reply, message)

    @workflow.update(name=TicketUpdate.ASSIGN)
    async def assign(self, command: AssignCommand) -> TicketView:
        return await self._execute(ts.assign, command)

    @assign.validator
    def _validate_assign(self, command: AssignCommand) -> None:
        self._validate(ts.check_assign, command)

    @workflow.update(name=TicketUpdate.CHANGE_PRIORITY)
    async def change_priority(self, command: PriorityCommand) -> TicketView:
        return await self._execute(ts.change_priority, command)

    @change_priority.validator
    def _validate_change_priority(self, command: PriorityCommand) -> None:
        self._validate(ts.check_change_priority, command)

    @workflow.update(name=TicketUpdate.REQUEST_INFO)
    async def request_info(self, command: RequestInfoCommand) -> TicketView:
        return await self._execute(ts.request_info, command)

    @request_info.validator
    def _validate_request_info(self, command: RequestInfoCommand) -> None:
        self._validate(ts.check_request_info, command)

    @workflow.update(name=TicketUpdate.RESOLVE)
    async def resolve(self, command: ResolveCommand) -> TicketView:
        return await self._execute(ts.resolve, command)

    @resolve.validator
    def _validate_resolve(self, command: ResolveCommand) -> None:
        self._validate(ts.check_resolve, command)

    @workflow.update(name=TicketUpdate.ABANDON)
    async def abandon(self, command: AbandonCommand) -> TicketView:
        return await self._execute(ts.abandon, command)

    @abandon.validator
    def _validate_abandon(self, command: AbandonCommand) -> None:
        self._validate(ts.check_abandon, command)

    @workflow.update(name=TicketUpdate.REOPEN)
    async def reopen(self, command: ReopenCommand) -> TicketView:
        return await self._execute(ts.reopen, command)

    @reopen.validator
    def _validate_reopen(self, command: ReopenCommand) -> None:
        self._validate(ts.check_reopen, command)

    @workflow.update(name=TicketUpdate.RATE)
    async def rate(self, command: RatingCommand) -> TicketView:
        return await self._execute(ts.rate, command)

    @rate.validator
    def _validate_rate(self, command: RatingCommand) -> None:
        self._validate(ts.check_rate, command)

    @workflow.update(name=TicketUpdate.DELIVER)
    async def deliver(self, command: DeliverCommand) -> TicketView:
        return await self._execute(ts.deliver, command)

    @deliver.validator
    def _validate_deliver(self, command: DeliverCommand) -> None:
        self._validate(ts.check_deliver, command)

    @workflow.update(name=TicketUpdate.BOOK)
    async def book(self, command: BookingCommand) -> TicketView:
        return await self._execute(ts.book, command)

    @book.validator
    def _validate_book(self, command: BookingCommand) -> None:
        self._validate(ts.check_book, command)

    @workflow.update(name=TicketUpdate.ADVISORY_DONE)
    async def advisory_done(self, command: AdvisoryDoneCommand) -> TicketView:
        return await self._execute(ts.advisory_done, command)

    @advisory_done.validator
    def _validate_advisory_done(self, command: AdvisoryDoneCommand) -> None:
        self._validate(ts.check_advisory_done, command)

    def _validate(self, check: Callable[..., None], command: object) -> None:
        try:
            check(self._state, command, workflow.now())
        except CommandRefused as refused:
            raise _refusal(refused) from None

    async def _execute(self, transition: Callable[..., int], command: object) -> TicketView:
        """Apply a command to a copy, keep it only if it succeeded, return once projected."""
        candidate = self._state.clone()
        update = workflow.current_update_info()
        cause = f"update {update.id if update else type(command).__name__}"
        try:
            with self._caused_by(candidate, cause):
                seq = transition(candidate, command, workflow.now())
        except CommandRefused as refused:
            raise _refusal(refused) from None
        except Exception as error:
            # Any other exception would fail the workflow task and wedge the ticket.
            workflow.logger.exception("command %s failed", type(command).__name__)
            raise ApplicationError(
                f"internal error: {error}", type="InternalError", non_retryable=True
            ) from None
        self._commit(candidate)
        await workflow.wait_condition(lambda: self._state.projected_seq >= seq)
        return ts.view(self._state)

    # --- The main loop -----------------------------------------------------------------------

    async def _register(self) -> None:
        if ts.needs_auto_assignment(self._state):
            ticket = self._state.input
            engineer = await _until_done(
                Activity.PICK_ASSIGNEE,
                PickAssigneeInput(
                    number=ticket.number,
                    nit=ticket.nit,
                    kind=ticket.kind,
                    consultant_email=ticket.consultant_email,
                ),
                result_type=str,
                local=workflow.patched(LOCAL_WRITES_PATCH),
            )
            with self._caused_by(self._state, "assignment"):
                ts.auto_assign(self._state, engineer, workflow.now())
            self._changed()
        if not self._state.registration_done:
            with self._caused_by(self._state, "registration"):
                ts.acknowledge(self._state, workflow.now())
                # Only here, at registration: a ticket registered before the patch never
                # gets a link later (say, in a run continued as new).
                if ts.needs_booking_link(self._state) and workflow.patched(BOOKING_LINK_PATCH):
                    ts.send_booking_link(self._state, workflow.now())
            self._changed()

    async def _next_step(self) -> None:
        """Act on a passed deadline at once, else wait for a change or the next deadline."""
        now = workflow.now()
        deadline = ts.next_deadline(self._state, now)
        if deadline is not None and deadline.at <= now:
            with self._caused_by(self._state, ts.deadline_cause(self._state, deadline)):
                ts.apply_deadline(self._state, deadline)
            self._changed()
            return
        seen = self._changes
        if self._is_lean():
            timer = self._timer_until(deadline, now)
            await workflow.wait_condition(
                lambda: (
                    self._changes != seen
                    or self._should_continue_as_new()
                    or (timer is not None and timer.done())
                )
            )
            return
        with contextlib.suppress(TimeoutError):  # the deadline came: the loop acts on it
            await workflow.wait_condition(
                lambda: self._changes != seen or self._should_continue_as_new(),
                timeout=None if deadline is None else deadline.at - now,
                timeout_summary=None if deadline is None else deadline.action.value,
            )

    def _timer_until(
        self, deadline: ts.Deadline | None, now: datetime
    ) -> asyncio.Task[None] | None:
        """The sleep until `deadline`: the running one when the instant is the same."""
        if deadline is None:
            self._drop_timer()
            return None
        if self._timer is not None and self._timer[0] == deadline.at and not self._timer[1].done():
            return self._timer[1]
        self._drop_timer()
        sleep = asyncio.create_task(
            workflow.sleep(deadline.at - now, summary=deadline.action.value)
        )
        self._timer = (deadline.at, sleep)
        return sleep

    def _drop_timer(self) -> None:
        if self._timer is not None:
            self._timer[1].cancel()
            self._timer = None

    @contextlib.contextmanager
    def _caused_by(self, state: TicketState, cause: str) -> Iterator[None]:
        """Name the notifications `state` owes in this step from `cause` (LOCAL_MAIL_PATCH)."""
        if not self._mails_locally():
            yield
            return
        state.cause = cause
        try:
            yield
        finally:
            state.cause = None

    def _mails_locally(self) -> bool:
        if self._local_mail is None:
            self._local_mail = workflow.patched(LOCAL_MAIL_PATCH)
        return self._local_mail

    def _is_lean(self) -> bool:
        if self._lean is None:
            self._lean = workflow.patched(LEAN_STEPS_PATCH)
        return self._lean

    def _should_continue_as_new(self) -> bool:
        return (
            self._handled_this_run >= self._state.input.policy.max_events_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    def _commit(self, candidate: TicketState) -> None:
        self._state = candidate
        self._changed()

    def _changed(self) -> None:
        self._changes += 1
        self._handled_this_run += 1
        self._start_deliveries()
        self._show()

    def _show(self) -> None:
        """Upsert the search attributes and the memo when the state or priority moved."""
        shown = (self._state.status, self._state.priority)
        if shown == self._shown or not workflow.patched(SEARCH_ATTRIBUTES_PATCH):
            return
        first = self._shown is None
        self._shown = shown
        if not first and self._shows_memo_once():
            workflow.upsert_search_attributes(state_attribute_updates(*shown))
            return
        view = ts.view(self._state)
        workflow.upsert_search_attributes(search_attribute_updates(view))
        if self._shows_memo_once():
            workflow.upsert_memo(visibility.memo(view))
        else:
            workflow.upsert_memo(visibility.memo_with_state(view))

    def _shows_memo_once(self) -> bool:
        if self._memo_once is None:
            self._memo_once = workflow.patched(MEMO_ONCE_PATCH)
        return self._memo_once

    def _drained(self) -> bool:
        return not self._state.pending_events and not self._state.outbox

    # --- Projection and delivery ---------------------------------------------------------------

    async def _project_forever(self) -> None:
        while True:
            await workflow.wait_condition(
                lambda: bool(self._state.pending_events) or self._mail_for_projector
            )
            if self._writes_together():
                await self._write_step()
                continue
            batch = list(self._state.pending_events[:MAX_EVENTS_PER_PROJECTION])
            await _until_done(
                Activity.PROJECT_TICKET,
                ProjectionBatch(view=ts.view(self._state), events=batch),
                local=workflow.patched(LOCAL_WRITES_PATCH),
            )
            ts.mark_projected(self._state, batch[-1].seq)

    async def _write_step(self) -> None:
        """This step's projection and the mail owed, in one local activity."""
        self._mail_for_projector = False
        events = list(self._state.pending_events[:MAX_EVENTS_PER_PROJECTION])
        owed = self._owed()
        if not events and not owed:
            return
        self._sending.update(notification.id for notification in owed)
        write = TicketWrite(view=ts.view(self._state), events=events, notifications=owed)
        done = set(
            await _until_done(Activity.WRITE_TICKET, write, result_type=list[str], local=True)
        )
        if events:
            ts.mark_projected(self._state, events[-1].seq)
        self._delivered([n for n in owed if n.id in done])
        failed = [n for n in owed if n.id not in done]
        if failed:
            self._send(self._deliver_again(failed))

    async def _deliver_again(self, failed: list[Notification]) -> None:
        batch = NotificationBatch(notifications=failed)
        if workflow.patched(MAIL_RETRY_QUEUED_PATCH):
            await _until_done(Activity.DELIVER_NOTIFICATIONS, batch)
        else:
            await _until_done(
                Activity.DELIVER_NOTIFICATIONS,
                batch,
                local=True,
                retry_threshold=LOCAL_MAIL_RETRY_THRESHOLD,
            )
        self._delivered(failed)

    def _writes_together(self) -> bool:
        if self._together is None:
            self._together = self._mails_locally() and workflow.patched(
                PROJECTION_WITH_MAIL_PATCH
            )
        return self._together

    def _start_deliveries(self) -> None:
        owed = self._owed()
        if not owed:
            return
        if self._writes_together():
            self._mail_for_projector = True
            return
        if workflow.patched(BATCHED_MAIL_PATCH):
            if not self._batch_due:
                # Sent once this step's code yields: whatever else the same step owes (the
                # assignee's notice and then the acknowledgement, say) joins the batch.
                self._batch_due = True
                self._send(self._deliver_batch())
            return
        for notification in owed:
            self._sending.add(notification.id)
            self._send(self._deliver(notification))

    def _owed(self) -> list[Notification]:
        if not self._state.registration_done and self._holds_mail_until_acknowledged():
            return []  # held until the acknowledgement, first in the outbox, is queued
        return [n for n in self._state.outbox if n.id not in self._sending]

    def _holds_mail_until_acknowledged(self) -> bool:
        if self._ack_first is None:
            self._ack_first = workflow.patched(ACK_FIRST_PATCH)
        return self._ack_first

    def _send(self, delivery: Coroutine[Any, Any, None]) -> None:
        sender = asyncio.create_task(delivery)
        self._senders.add(sender)
        sender.add_done_callback(self._senders.discard)

    async def _deliver(self, notification: Notification) -> None:
        """Before the patch batched-mail: one activity per notification."""
        await _until_done(Activity.DELIVER_NOTIFICATION, notification)
        self._delivered([notification])

    async def _deliver_batch(self) -> None:
        self._batch_due = False
        owed = self._owed()
        self._sending.update(notification.id for notification in owed)
        if owed:
            batch = NotificationBatch(notifications=owed)
            if self._mails_locally():
                await _until_done(
                    Activity.DELIVER_NOTIFICATIONS,
                    batch,
                    local=True,
                    retry_threshold=LOCAL_MAIL_RETRY_THRESHOLD,
                )
            else:
                await _until_done(Activity.DELIVER_NOTIFICATIONS, batch)
        self._delivered(owed)

    def _delivered(self, notifications: list[Notification]) -> None:
        for notification in notifications:
            ts.mark_delivered(self._state, notification.id)
            self._sending.discard(notification.id)


async def _until_done(
    name: Activity,
    arg: object,
    result_type: type | None = None,
    *,
    local: bool = False,
    retry_threshold: timedelta | None = None,
) -> Any:
    """Run an activity (a local one if `local`) until it succeeds. Retries are forever
    already; an activity that still gives up (a non-retryable error) is tried again later,
    so nothing is ever lost and a fixed deployment picks it up. (A local activity's
    failure reaches the workflow as the ApplicationError itself, not an ActivityError.)"""
    while True:
        try:
            if local:
                return await workflow.execute_local_activity(
                    name,
                    arg,
                    result_type=result_type,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=RETRY_FOREVER,
                    local_retry_threshold=retry_threshold,
                )
            return await workflow.execute_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY_FOREVER,
            )
        except (ActivityError, ApplicationError):
            workflow.logger.exception("activity %s gave up; trying again later", name.value)
            await workflow.sleep(RETRY_FOREVER.maximum_interval or ACTIVITY_TIMEOUT)


def _refusal(refused: CommandRefused) -> ApplicationError:
    """The refusal for the caller; a structured one travels as the details (field, code)."""
    details = [refused.refusal.details()] if refused.refusal is not None else []
    return ApplicationError(refused.message, *details, type=refused.reason, non_retryable=True)
