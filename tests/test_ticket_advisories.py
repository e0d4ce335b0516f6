"""Personalised advisories booked from an emailed link (POLICY.md §VI.e): the pure
transitions, then the ticket workflow on real Temporal servers (time-skipping for the timer
paths, the dev server for the refusals). With SOPORTE_WRITE_HISTORIES=<new patch folder>
the timer paths write their histories for tests/test_replay.py (never over a committed one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from activities.notifications import with_context
from soporte.policy import Kind, Priority, ResolutionKind, Status, slots
from soporte.policy.ticket import (
    DeadlineAction,
    FlowEvent,
    TicketState,
    acknowledge,
    advisory_done,
    book,
    check_advisory_done,
    check_book,
    client_message,
    next_deadline,
    view,
)
from soporte.policy.tickets import (
    AdvisoryDoneCommand,
    ClientMessage,
    EventType,
)
from soporte.settings import load_settings
from tests.flow_support import (
    CALENDAR,
    WEDNESDAY,
    advisory,
    booking,
    in_log_order,
    outbox,
    refusal,
    refused,
    registered,
    run_deadlines_until,
    utc_iso,
)
from tests.workflow_support import (
    ENGINEER,
    HOLIDAY_SET,
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
from workflows.ticket import TicketWorkflow


def test_an_advisory_gets_its_booking_link_as_attempt_one_of_waiting() -> None:
    state = registered(Kind.ADVISORY)
    [link] = outbox(state, "booking_link")
    assert link.data["attempt"] == 1
    # The policy names no API path; the door makes the link absolute with its public URL.
    assert "slots_path" not in link.data
    settings = load_settings(public_url="https://soporte.btw.co/")
    booking_page = f"https://soporte.btw.co/solicitudes/{state.input.number}/agendar"
    assert with_context(link, settings).data["booking_url"] == booking_page  # a portal page
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
    to_client = in_log_order(
        [n for n in recorder.sent(ticket.number) if REPORTER in n.to], recorder.log(ticket.number)
    )
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
