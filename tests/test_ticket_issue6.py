"""Issue 6: requirements decided by the committee, advisories booked from a link, incidents.

The pure transitions (soporte.policy.ticket) first, then the ticket workflow on real Temporal
servers: timer paths on the time-skipping server, signals and refusals on the dev server.
With SOPORTE_WRITE_HISTORIES=1 the timer paths write tests/histories/*.json for the replay
test (run this file alone, so the histories recorded before issue 6 stay as they were).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notifications import with_context
from soporte.policy import Kind, Priority, ResolutionKind, Status, Visibility, sla, slots
from soporte.policy.calendar import BusinessCalendar
from soporte.policy.committee import (
    COMMITTEE_DECISION_SIGNAL,
    CommitteeDecisionSignal,
    DecisionKind,
)
from soporte.policy.incidents import (
    INCIDENT_PRIORITY_SIGNAL,
    INCIDENT_RESOLVED_SIGNAL,
    PROJECT_INCIDENT_ACTIVITY,
    IncidentInput,
    IncidentPrioritySignal,
    IncidentResolvedSignal,
    IncidentView,
    LinkTicket,
    ResolveIncident,
    incident_workflow_id,
)
from soporte.policy.ticket import (
    CommandRefused,
    DeadlineAction,
    FlowEvent,
    TicketState,
    acknowledge,
    advisory_done,
    apply_deadline,
    auto_assign,
    book,
    change_priority,
    check_advisory_done,
    check_book,
    check_deliver,
    client_message,
    committee_decision,
    deliver,
    incident_priority,
    incident_resolved,
    next_deadline,
    reopen,
    reply,
    send_booking_link,
    view,
)
from soporte.policy.tickets import (
    AdvisoryDoneCommand,
    BookingCommand,
    ClientMessage,
    DeliverCommand,
    EngineerMessage,
    EventType,
    PriorityCommand,
    ReopenCommand,
    TicketView,
)
from soporte.settings import load_settings
from tests.workflow_support import (
    ENGINEER,
    HOLIDAY_SET,
    HOLIDAYS,
    REPORTER,
    Recorder,
    assert_log_is_contiguous,
    at_bogota,
    bogota,
    eventually,
    friday_before_monday_holiday,
    keep_history,
    move_to,
    next_day_after,
    start_ticket,
    ticket_input,
)
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow

Handle = WorkflowHandle[TicketWorkflow, TicketView]
CALENDAR = BusinessCalendar(HOLIDAYS)
# Wednesday 2026-12-02 09:00 Bogota: an ordinary business day.
WEDNESDAY = bogota(2026, 12, 2, 9, 0)


def registered(kind: Kind, start: datetime = WEDNESDAY, **fields: Any) -> TicketState:
    """What the workflow does at registration (the booking link is the patched step)."""
    priority = {
        Kind.SUPPORT: Priority.P3,
        Kind.REQUIREMENT: Priority.REQUIREMENT,
        Kind.ADVISORY: Priority.ADVISORY,
    }[kind]
    fields.setdefault("priority", priority)
    state = TicketState.initial(ticket_input(registered_at=start, kind=kind, **fields))
    auto_assign(state, ENGINEER, start)
    acknowledge(state, start)
    send_booking_link(state, start)
    return state


def decision(
    kind: DecisionKind,
    session: str = "committee-session-1",
    estimated: date | None = date(2027, 1, 15),
    reason: str | None = None,
) -> CommitteeDecisionSignal:
    return CommitteeDecisionSignal(
        number=0,
        decision=kind,
        estimated_delivery=estimated if kind is DecisionKind.ACCEPT else None,
        reason=reason,
        session_id=session,
        decided_by="comite@btw.com.co",
        decided_at=WEDNESDAY,
    )


def p1_signal(incident: str = "inc-1") -> IncidentPrioritySignal:
    return IncidentPrioritySignal(
        incident_id=incident, reason=f"incidente {incident} afecta a 2 clientes", at=WEDNESDAY
    )


def resolved_signal(incident: str = "inc-1") -> IncidentResolvedSignal:
    return IncidentResolvedSignal(
        incident_id=incident,
        kind=ResolutionKind.SOLUTION,
        body="Se restableció el servicio de la DIAN",
        actor=ENGINEER,
        at=WEDNESDAY,
    )


def booking(start: datetime, taken: list[datetime] | None = None) -> BookingCommand:
    return BookingCommand(actor_email=REPORTER, start=start, taken=taken or [])


def utc_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def in_log_order(notifications: list[Any]) -> list[Any]:
    """Sends run concurrently; a notification's id carries the seq of its log line."""
    return sorted(notifications, key=lambda n: int(n.id.split("-")[1]))


def pending_types(state: TicketState) -> list[str]:
    return [event.type for event in state.pending_events]


def outbox(state: TicketState, template: str) -> list[Any]:
    return [n for n in state.outbox if n.template == template]


def run_deadlines_until(
    state: TicketState, until: datetime
) -> list[tuple[DeadlineAction, datetime]]:
    done = []
    now = state.updated_at
    while (deadline := next_deadline(state, now)) is not None and deadline.at <= until:
        now = max(now, deadline.at)
        apply_deadline(state, deadline)
        done.append((deadline.action, deadline.at))
    return done


def refused(check: Any, state: TicketState, command: Any, now: datetime) -> CommandRefused:
    before = state.model_copy(deep=True)
    with pytest.raises(CommandRefused) as caught:
        check(state, command, now)
    assert state == before
    return caught.value


# --- Requirements (pure) -------------------------------------------------------------------


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


# --- Advisories (pure) ---------------------------------------------------------------------


def test_an_advisory_gets_its_booking_link_as_attempt_one_of_waiting() -> None:
    state = registered(Kind.ADVISORY)
    [link] = outbox(state, "booking_link")
    assert link.data["attempt"] == 1
    # The policy names no API path; the door makes the link absolute with its public URL.
    assert "slots_path" not in link.data
    settings = load_settings(public_url="https://soporte.btw.co/")
    slots_url = f"https://soporte.btw.co/api/v1/tickets/{state.input.number}/slots"
    assert with_context(link, settings).data["booking_url"] == slots_url
    shown = view(state)
    assert shown.status is Status.SCHEDULING and shown.waiting_attempts == 1
    assert shown.sla.first_response_due is None and not shown.sla.paused
    done = run_deadlines_until(state, WEDNESDAY + timedelta(days=10))
    assert done[:4] == [
        (DeadlineAction.REMINDER, WEDNESDAY + timedelta(days=1)),
        (DeadlineAction.REMINDER, WEDNESDAY + timedelta(days=2)),
        (DeadlineAction.REMINDER, WEDNESDAY + timedelta(days=4)),
        (DeadlineAction.NO_REPLY_RESOLUTION, WEDNESDAY + timedelta(days=5)),
    ]
    assert [n.data["attempt"] for n in outbox(state, "booking_link")] == [1, 2, 3, 4]
    assert not outbox(state, "reminder")
    assert state.resolution and state.resolution.kind is ResolutionKind.NO_CLIENT_REPLY
    assert state.resolution.body == "sin respuesta del cliente"


def test_a_client_message_ends_the_wait_for_a_booking() -> None:
    state = registered(Kind.ADVISORY)
    client_message(
        state, ClientMessage(message_id="m1", author_email=REPORTER, body="¿y?"), WEDNESDAY
    )
    assert state.status is Status.SCHEDULING and state.waiting_attempts == 0
    assert next_deadline(state, WEDNESDAY) is None


def test_booking_refuses_taken_outside_hours_past_and_unaligned_starts() -> None:
    state = registered(Kind.ADVISORY)
    now = WEDNESDAY
    friday_10 = bogota(2026, 12, 4, 10, 0)
    cases = {
        "already taken": booking(friday_10, taken=[friday_10 + timedelta(minutes=30)]),
        "business hours": booking(bogota(2026, 12, 5, 10, 0)),  # Saturday
        "in the past": booking(bogota(2026, 12, 1, 10, 0)),
        "half-hour": booking(bogota(2026, 12, 4, 10, 15)),
        "beyond": booking(bogota(2026, 12, 30, 10, 0)),
        "timezone": booking(friday_10, taken=[datetime(2026, 12, 4, 10, 0)]),
    }
    for words, command in cases.items():
        problem = refused(check_book, state, command, now)
        assert problem.reason == "InvalidInput" and words in problem.message, words
    support = registered(Kind.SUPPORT)
    assert refused(check_book, support, booking(friday_10), now).reason == "InvalidState"


def test_booking_confirms_and_reminds_one_business_day_before_then_done() -> None:
    state = registered(Kind.ADVISORY)
    # Tuesday 2026-12-08 is a holiday (Inmaculada Concepción): Wednesday's reminder is Monday.
    slot = bogota(2026, 12, 9, 10, 0)
    book(state, booking(slot), WEDNESDAY + timedelta(hours=1))
    shown = view(state)
    assert shown.status is Status.SCHEDULED and shown.booked_slot == slot
    assert shown.waiting_attempts == 0
    assert [n.to for n in outbox(state, "booking_confirmed")] == [
        [REPORTER, "gerencia@cliente.co"],
        ["@assignee"],
    ]
    assert state.slot_reminder_at == slots.reminder_at(CALENDAR, slot) == bogota(2026, 12, 7, 10)
    done = run_deadlines_until(state, slot)
    assert done == [(DeadlineAction.SLOT_REMINDER, bogota(2026, 12, 7, 10))]
    reminders = outbox(state, "advisory_reminder")
    assert len(reminders) == 2 and reminders[0].data["booked_slot"] == utc_iso(slot)
    after = slot + timedelta(hours=1)
    advisory_done(state, AdvisoryDoneCommand(actor_email=ENGINEER, body="Se vio nómina"), after)
    assert state.resolution and state.resolution.kind is ResolutionKind.ADVICE
    assert outbox(state, "advisory_done") and view(state).booked_slot == slot


def test_rebooking_moves_the_reminder_and_ignores_its_own_slot() -> None:
    state = registered(Kind.ADVISORY)
    first = bogota(2026, 12, 10, 10, 0)
    book(state, booking(first), WEDNESDAY)
    # The API's taken list may hold the ticket's own slot: it does not block a move.
    moved = first + timedelta(minutes=30)
    book(state, booking(moved, taken=[first]), WEDNESDAY)
    assert state.booked_slot == moved and state.slot_reminder_at == bogota(2026, 12, 9, 10, 30)
    assert outbox(state, "booking_confirmed")[-1].data["previous_slot"] == utc_iso(first)
    same = refused(check_book, state, booking(moved), WEDNESDAY)
    assert "already booked" in same.message


def test_a_slot_booked_for_tomorrow_morning_gets_no_late_reminder() -> None:
    state = registered(Kind.ADVISORY)
    tomorrow = bogota(2026, 12, 3, 8, 0)  # its reminder instant, today 08:00, has passed
    book(state, booking(tomorrow), WEDNESDAY)
    assert state.slot_reminder_at is None and next_deadline(state, WEDNESDAY) is None


def test_done_only_for_a_scheduled_advisory() -> None:
    state = registered(Kind.ADVISORY)
    command = AdvisoryDoneCommand(actor_email=ENGINEER)
    assert "scheduled" in refused(check_advisory_done, state, command, WEDNESDAY).message
    support = registered(Kind.SUPPORT)
    assert refused(check_advisory_done, support, command, WEDNESDAY).reason == "InvalidState"


def test_done_is_refused_before_the_booked_session_starts() -> None:
    state = registered(Kind.ADVISORY)
    slot = bogota(2026, 12, 9, 10, 0)
    book(state, booking(slot), WEDNESDAY)
    command = AdvisoryDoneCommand(actor_email=ENGINEER)
    early = refused(check_advisory_done, state, command, slot - timedelta(seconds=1))
    assert early.reason == "InvalidState" and "session starts at" in early.message
    assert utc_iso(slot) in early.message
    check_advisory_done(state, command, slot)  # from its start on, it may be marked done


def test_an_advisory_registered_before_the_booking_link_has_no_timers() -> None:
    """What a ticket started before issue 6 looks like (the workflow's patch skipped the link)."""
    state = TicketState.initial(
        ticket_input(registered_at=WEDNESDAY, kind=Kind.ADVISORY, priority=Priority.ADVISORY)
    )
    acknowledge(state, WEDNESDAY)
    assert next_deadline(state, WEDNESDAY) is None and state.waiting_attempts == 0
    book(state, booking(bogota(2026, 12, 10, 10, 0)), WEDNESDAY)
    assert state.status is Status.SCHEDULED


# --- Incidents (pure) ----------------------------------------------------------------------


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


# --- The workflow: timer paths (time-skipping server) ------------------------------------------


async def refusal(update: object) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await update  # type: ignore[misc]
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


def advisory(registered_at: datetime) -> Any:
    return ticket_input(
        registered_at=registered_at,
        kind=Kind.ADVISORY,
        priority=Priority.ADVISORY,
        subject="Capacitación en nómina electrónica",
    )


def requirement(registered_at: datetime | None = None) -> Any:
    return ticket_input(
        registered_at=registered_at or datetime.now(UTC),
        kind=Kind.REQUIREMENT,
        priority=Priority.REQUIREMENT,
        subject="Nuevo reporte de cartera",
    )


async def test_an_advisory_booked_is_reminded_at_the_exact_instant_then_done(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    friday = next_day_after(await time_env.get_current_time(), friday_before_monday_holiday)
    assert friday not in HOLIDAY_SET
    start = at_bogota(friday - timedelta(days=1), 9, 0)  # Thursday
    await move_to(time_env, start)
    slot = at_bogota(friday + timedelta(days=4), 10, 0)  # Tuesday, after the Monday holiday
    reminder = at_bogota(friday, 10, 0)  # one business day before: the Friday
    assert slots.reminder_at(CALENDAR, slot) == reminder
    recorder = Recorder()
    ticket = advisory(start)
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await eventually(lambda: bool(recorder.sent(ticket.number, "booking_link")))
        booked = await handle.execute_update(TicketWorkflow.book, booking(slot))
        assert booked.status is Status.SCHEDULED and booked.booked_slot == slot
        assert booked.waiting_attempts == 0
        await move_to(time_env, slot + timedelta(hours=2))
        await eventually(lambda: len(recorder.sent(ticket.number, "advisory_reminder")) == 2)
        done = await handle.execute_update(
            TicketWorkflow.advisory_done,
            AdvisoryDoneCommand(actor_email=ENGINEER, body="Se revisó la nómina electrónica"),
        )
        result = await handle.result()
        await keep_history(handle, "advisory_booked_reminded_done")
    [sent] = recorder.of_type(ticket.number, FlowEvent.SLOT_REMINDER_SENT)
    assert sent.at == reminder
    assert done.status is Status.RESOLVED
    assert done.resolution and done.resolution.kind is ResolutionKind.ADVICE
    assert result.status is Status.CLOSED and result.booked_slot == slot
    assert len(recorder.sent(ticket.number, "booking_link")) == 1  # booked at once: no reminder
    assert not recorder.of_type(ticket.number, EventType.REMINDER_SENT)
    to_client = in_log_order([n for n in recorder.sent(ticket.number) if REPORTER in n.to])
    assert [n.template for n in to_client] == [
        "acknowledgement",
        "booking_link",
        "booking_confirmed",
        "advisory_reminder",
        "advisory_done",
        "rating_invitation",
        "closed",
    ]
    assert_log_is_contiguous(recorder.log(ticket.number))
    assert not recorder.conflicts


async def test_an_advisory_never_booked_is_resolved_without_reply_at_five_days(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = advisory(await time_env.get_current_time())
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        result = await handle.result()
    [linked] = recorder.of_type(ticket.number, FlowEvent.BOOKING_LINK_SENT)
    reminders = recorder.of_type(ticket.number, EventType.REMINDER_SENT)
    assert [e.at - linked.at for e in reminders] == [timedelta(days=d) for d in (1, 2, 4)]
    links = recorder.sent(ticket.number, "booking_link")
    assert sorted(int(str(n.data["attempt"])) for n in links) == [1, 2, 3, 4]
    [resolved] = recorder.of_type(ticket.number, EventType.RESOLVED)
    assert resolved.at - linked.at == timedelta(days=5)
    assert resolved.data["kind"] == ResolutionKind.NO_CLIENT_REPLY.value
    assert resolved.body == "sin respuesta del cliente"
    assert len(recorder.sent(ticket.number, "resolved_no_reply")) == 1
    assert result.status is Status.CLOSED and result.booked_slot is None
    assert_log_is_contiguous(recorder.log(ticket.number))


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


# --- The workflow: signals and refusals (dev server) ---------------------------------------


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
        await handles[0].signal(COMMITTEE_DECISION_SIGNAL, reject)  # the sender's name
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


async def test_booking_refusals_change_nothing(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = advisory(datetime.now(UTC))
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await eventually(lambda: bool(recorder.sent(ticket.number, "booking_link")))
        before = await handle.query(TicketWorkflow.view)
        now = datetime.now(UTC)
        # Slots the workflow offers from its own now, at least an hour ahead: a horizon
        # counted from now + 1 h would end past the workflow's own.
        free = [s for s in slots.free_slots(CALENDAR, now) if s >= now + timedelta(hours=1)]
        saturday = next_day_after(now, lambda d: d.weekday() == 5)
        last_week = next_day_after(now - timedelta(days=8), lambda d: d.weekday() == 2)
        cases = {
            "already taken": booking(free[0], taken=[free[0]]),
            "business hours": booking(at_bogota(saturday, 10, 0)),
            "in the past": booking(at_bogota(last_week, 10, 0)),
        }
        for words, command in cases.items():
            problem = await refusal(handle.execute_update(TicketWorkflow.book, command))
            assert problem.type == "InvalidInput" and words in problem.message, words
        done = handle.execute_update(
            TicketWorkflow.advisory_done, AdvisoryDoneCommand(actor_email=ENGINEER)
        )
        assert (await refusal(done)).type == "InvalidState"
        assert await handle.query(TicketWorkflow.view) == before
        booked = await handle.execute_update(TicketWorkflow.book, booking(free[0]))
        moved = await handle.execute_update(TicketWorkflow.book, booking(free[-1]))
        # An update returns once its events are projected; its mail follows.
        await eventually(lambda: len(recorder.sent(ticket.number, "booking_confirmed")) == 4)
        await handle.terminate()
    assert booked.booked_slot == free[0] and moved.booked_slot == free[-1]
    assert moved.status is Status.SCHEDULED
    assert len(recorder.sent(ticket.number, "booking_confirmed")) == 4  # client + assignee, twice


async def test_the_incident_workflow_raises_and_resolves_real_tickets(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The sender's signal names and payloads reach the ticket workflow as they are."""
    assert (INCIDENT_PRIORITY_SIGNAL, INCIDENT_RESOLVED_SIGNAL) == (
        "incident_priority",
        "incident_resolved",
    )
    recorder = Recorder()
    projected: list[Any] = []

    @activity.defn(name=PROJECT_INCIDENT_ACTIVITY)
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
