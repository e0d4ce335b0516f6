"""The ticket workflow on real Temporal servers.

Timer paths run on the time-skipping server (days pass in milliseconds; its clock starts at
the real now, so each test skips forward to the instant it needs). Updates, refusals,
continue-as-new and a killed worker run on the dev server.

With SOPORTE_WRITE_HISTORIES=<new patch folder> these tests also write
tests/histories/<folder>/*.json for the replay test; a committed history is never
overwritten.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType as temporal_event_type
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from soporte.policy import Kind, Priority, ResolutionKind, Status, Visibility, sla
from soporte.policy.calendar import BusinessCalendar, due_with_pauses
from soporte.policy.config import PolicyConfig
from soporte.policy.tickets import (
    AbandonCommand,
    AssignCommand,
    ClientMessage,
    EngineerMessage,
    EventType,
    PriorityCommand,
    RatingCommand,
    ReopenCommand,
    RequestInfoCommand,
    ResolveCommand,
    TicketInput,
    TicketView,
    workflow_id,
)
from tests.workflow_support import (
    ENGINEER,
    HOLIDAYS,
    REPORTER,
    Recorder,
    assert_log_is_contiguous,
    at_bogota,
    eventually,
    friday_before_monday_holiday,
    keep_history,
    move_to,
    next_day_after,
    start_ticket,
    ticket_input,
)
from workflows.ticket import TicketWorkflow

Handle = WorkflowHandle[TicketWorkflow, TicketView]
REPO = Path(__file__).resolve().parent.parent


def solved(body: str = "Se corrigió la numeración") -> ResolveCommand:
    return ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body=body)


def public_reply(body: str = "Estamos revisando") -> EngineerMessage:
    return EngineerMessage(author_email=ENGINEER, body=body)


def from_client(message_id: str, body: str = "Aquí está la información") -> ClientMessage:
    return ClientMessage(message_id=message_id, author_email=REPORTER, body=body)


def sla_events(recorder: Recorder, number: int) -> list[tuple[str, datetime, str, str]]:
    return [
        (e.type, e.at, str(e.data["target"]), str(e.data["due"]))
        for e in recorder.log(number)
        if e.type in (EventType.SLA_WARNING, EventType.SLA_BREACH)
    ]


def expected_sla_events(due: sla.DueInstants) -> list[tuple[str, datetime, str, str]]:
    assert due.first_response_due and due.resolution_due
    assert due.first_response_warning and due.resolution_warning
    fr, res = due.first_response_due.isoformat(), due.resolution_due.isoformat()
    return [
        ("sla_warning", due.first_response_warning, "first_response", fr),
        ("sla_breach", due.first_response_due, "first_response", fr),
        ("sla_warning", due.resolution_warning, "resolution", res),
        ("sla_breach", due.resolution_due, "resolution", res),
    ]


async def refusal(update: object) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await update  # type: ignore[misc]
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


# --- Timer paths (time-skipping server) ----------------------------------------------------


async def test_p2_before_a_monday_holiday_warns_and_breaches_at_the_exact_instants(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    friday = next_day_after(await time_env.get_current_time(), friday_before_monday_holiday)
    start = at_bogota(friday, 16, 30)
    await move_to(time_env, start)
    recorder = Recorder()
    ticket = ticket_input(registered_at=start, missing_info=["business_impact"])
    due = sla.due_instants(Priority.P2, start, HOLIDAYS)
    assert due.resolution_due is not None
    # 30 minutes counted on Friday, Monday is a holiday, Tuesday opens at 07:30.
    assert due.first_response_due == at_bogota(friday + timedelta(days=4), 8, 0)
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await move_to(time_env, due.resolution_due + timedelta(hours=1))
        await eventually(lambda: len(sla_events(recorder, ticket.number)) == 4)
        shown = await handle.query(TicketWorkflow.view)
        assert shown.status is Status.OPEN  # breached tickets stay open
        assert shown.sla.warned and shown.sla.breached
        await handle.execute_update(TicketWorkflow.resolve, solved())
        result = await handle.result()
        await keep_history(handle, "p2_breached_then_resolved_closed")
    assert sla_events(recorder, ticket.number) == expected_sla_events(due)
    ack = recorder.sent(ticket.number, "acknowledgement")
    assert len(ack) == 1
    assert ack[0].to == [REPORTER, "gerencia@cliente.co"]
    assert ack[0].data["first_response_due"] == due.first_response_due.isoformat()
    assert ack[0].data["missing_info"] == ["business_impact"]
    breaches = recorder.sent(ticket.number, "sla_breach")
    assert [n.to for n in breaches] == [["@assignee", "@supervisors"]] * 2
    assert result.status is Status.CLOSED
    assert_log_is_contiguous(recorder.log(ticket.number))
    assert not recorder.conflicts


async def test_p3_counts_across_christmas_and_new_year(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    day = next_day_after(await time_env.get_current_time(), lambda d: (d.month, d.day) == (12, 22))
    start = at_bogota(day, 10, 0)
    await move_to(time_env, start)
    recorder = Recorder()
    ticket = ticket_input(registered_at=start, priority=Priority.P3)
    due = sla.due_instants(Priority.P3, start, HOLIDAYS)
    assert due.resolution_due is not None
    assert due.resolution_due.date() > date(day.year + 1, 1, 1)  # it spans both holidays
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await handle.execute_update(TicketWorkflow.reply, public_reply())
        await move_to(time_env, due.resolution_due + timedelta(minutes=1))
        await eventually(lambda: len(sla_events(recorder, ticket.number)) == 2)
        await keep_history(handle, "p3_christmas_resolution_breach")
    resolution = expected_sla_events(due)[2:]
    assert sla_events(recorder, ticket.number) == resolution


async def test_p1_on_a_saturday_night_counts_the_wall_clock(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    saturday = next_day_after(await time_env.get_current_time(), lambda d: d.weekday() == 5)
    start = at_bogota(saturday, 22, 0)
    await move_to(time_env, start)
    recorder = Recorder()
    ticket = ticket_input(registered_at=start, priority=Priority.P1)
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await move_to(time_env, start + timedelta(hours=9))
        await eventually(lambda: len(sla_events(recorder, ticket.number)) == 4)
        shown = await handle.query(TicketWorkflow.view)
    assert shown.sla.first_response_due == start + timedelta(hours=1)
    assert shown.sla.resolution_due == start + timedelta(hours=8)  # Sunday 06:00
    instants = [at for _, at, _, _ in sla_events(recorder, ticket.number)]
    assert instants == [start + timedelta(minutes=m) for m in (45, 60, 360, 480)]


async def test_reminders_at_each_offset_then_resolved_without_reply_then_closed(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input(registered_at=await time_env.get_current_time())
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        asked = await handle.execute_update(
            TicketWorkflow.request_info,
            RequestInfoCommand(actor_email=ENGINEER, body="¿Cuál es el número de la factura?"),
        )
        assert asked.status is Status.WAITING_ON_CLIENT and asked.sla.paused
        result = await handle.result()
        await keep_history(handle, "no_reply_resolved_then_closed")
    log = recorder.log(ticket.number)
    requested = recorder.of_type(ticket.number, EventType.INFO_REQUESTED)[0].at
    reminders = recorder.of_type(ticket.number, EventType.REMINDER_SENT)
    assert [e.at - requested for e in reminders] == [timedelta(days=d) for d in (1, 2, 4)]
    assert [e.data["attempt"] for e in reminders] == [2, 3, 4]
    assert len(recorder.sent(ticket.number, "reminder")) == 3
    resolved = recorder.of_type(ticket.number, EventType.RESOLVED)[0]
    assert resolved.at - requested == timedelta(days=5)
    assert resolved.body == "sin respuesta del cliente"
    assert resolved.data["kind"] == ResolutionKind.NO_CLIENT_REPLY.value
    assert len(recorder.sent(ticket.number, "resolved_no_reply")) == 1
    closed = recorder.of_type(ticket.number, EventType.CLOSED)[0]
    assert closed.at - resolved.at == timedelta(days=15)
    assert result.status is Status.CLOSED
    assert result.resolution and result.resolution.kind is ResolutionKind.NO_CLIENT_REPLY
    assert_log_is_contiguous(log)
    assert recorder.views[ticket.number].status is Status.CLOSED


async def test_an_engineer_abandons_once_four_attempts_are_unanswered(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input(registered_at=await time_env.get_current_time())
    command = AbandonCommand(actor_email=ENGINEER, reason="el cliente no responde")
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await handle.execute_update(
            TicketWorkflow.request_info, RequestInfoCommand(actor_email=ENGINEER, body="¿NIT?")
        )
        asked = recorder.of_type(ticket.number, EventType.INFO_REQUESTED)[0].at
        await move_to(time_env, asked + timedelta(days=2, hours=1))
        await eventually(lambda: len(recorder.of_type(ticket.number, "reminder_sent")) == 2)
        too_early = await refusal(handle.execute_update(TicketWorkflow.abandon, command))
        assert "3 unanswered attempt(s); abandoning needs 4" in too_early.message
        await move_to(time_env, asked + timedelta(days=4, hours=1))
        await eventually(lambda: len(recorder.of_type(ticket.number, "reminder_sent")) == 3)
        abandoned = await handle.execute_update(TicketWorkflow.abandon, command)
        # An update returns once its events are projected; its mail follows.
        await eventually(lambda: bool(recorder.sent(ticket.number, "resolved_no_reply")))
    assert abandoned.status is Status.RESOLVED
    assert abandoned.resolution and abandoned.resolution.kind is ResolutionKind.ABANDONED
    assert abandoned.resolution.body == "sin respuesta del cliente"
    resolved = recorder.of_type(ticket.number, EventType.RESOLVED)[0]
    assert resolved.data["reason"] == "el cliente no responde"
    assert len(recorder.sent(ticket.number, "resolved_no_reply")) == 1


async def test_a_client_reply_on_day_four_resumes_with_the_remaining_time(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    monday = next_day_after(await time_env.get_current_time(), lambda d: d.weekday() == 0)
    start = at_bogota(monday, 9, 0)
    await move_to(time_env, start)
    recorder = Recorder()
    ticket = ticket_input(registered_at=start)
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await move_to(time_env, start + timedelta(hours=2))
        await handle.execute_update(
            TicketWorkflow.request_info, RequestInfoCommand(actor_email=ENGINEER, body="¿NIT?")
        )
        asked = recorder.of_type(ticket.number, EventType.INFO_REQUESTED)[0].at
        await move_to(time_env, asked + timedelta(days=4, hours=1))
        await eventually(lambda: len(recorder.of_type(ticket.number, "reminder_sent")) == 3)
        await handle.signal(TicketWorkflow.client_message, from_client("day-4"))
        await eventually(lambda: recorder.views[ticket.number].status is Status.IN_PROGRESS)
        shown = await handle.query(TicketWorkflow.view)
        answered = recorder.of_type(ticket.number, EventType.CLIENT_MESSAGE)[0].at
        await keep_history(handle, "client_reply_on_day_four")
    calendar = BusinessCalendar(HOLIDAYS)
    expected = due_with_pauses(calendar, start, timedelta(hours=24), [(asked, answered)])
    assert shown.sla.resolution_due == expected
    assert not shown.sla.paused and shown.waiting_attempts == 0
    counted_before_pause = calendar.elapsed(start, asked)
    assert calendar.elapsed(answered, expected) == timedelta(hours=24) - counted_before_pause  # type: ignore[arg-type]
    types = [e.type for e in recorder.log(ticket.number)]
    assert types.count("sla_paused") == 1 and types.count("sla_resumed") == 1


async def test_reopen_inside_the_window_counts_a_new_resolution_target(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input(registered_at=await time_env.get_current_time(), priority=Priority.P1)
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        resolved = await handle.execute_update(TicketWorkflow.resolve, solved())
        assert resolved.reopen_until is not None
        await move_to(time_env, resolved.reopen_until - timedelta(days=1))
        reopened = await handle.execute_update(
            TicketWorkflow.reopen, ReopenCommand(actor_email=REPORTER, reason="volvió a fallar")
        )
        reopened_at = recorder.of_type(ticket.number, EventType.REOPENED)[0].at
        assert reopened.status is Status.IN_PROGRESS and reopened.resolution is None
        assert reopened.sla.resolution_due == reopened_at + timedelta(hours=8)
        assert reopened.sla.first_response_due == ticket.registered_at + timedelta(hours=1)
        await handle.execute_update(TicketWorkflow.resolve, solved("Ahora sí"))
        await handle.execute_update(
            TicketWorkflow.rate, RatingCommand(actor_email=REPORTER, score=4, comment="bien")
        )
        result = await handle.result()
        await keep_history(handle, "reopened_rated_closed")
    assert result.status is Status.CLOSED and result.rating and result.rating.score == 4
    assert len(recorder.sent(ticket.number, "reopened")) == 2  # the client and the assignee
    assert len(recorder.sent(ticket.number, "closed")) == 1
    assert_log_is_contiguous(recorder.log(ticket.number))


async def test_the_window_ends_in_closing_and_a_late_reopen_changes_nothing(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input(registered_at=await time_env.get_current_time())
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        resolved = await handle.execute_update(TicketWorkflow.resolve, solved())
        result = await handle.result()
        # The workflow is gone: the API answers with reopen_window_ended_message (the
        # validator's own refusal is covered in test_ticket_state).
        with pytest.raises((RPCError, WorkflowUpdateFailedError)):
            await handle.execute_update(
                TicketWorkflow.reopen, ReopenCommand(actor_email=REPORTER, reason="otra vez")
            )
    assert result.status is Status.CLOSED
    assert result.reopen_until == resolved.reopen_until
    closed = recorder.of_type(ticket.number, EventType.CLOSED)
    assert [e.at for e in closed] == [resolved.reopen_until]
    assert recorder.views[ticket.number].status is Status.CLOSED
    assert not recorder.of_type(ticket.number, EventType.REOPENED)


async def test_a_priority_change_moves_the_timers(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    wednesday = next_day_after(await time_env.get_current_time(), lambda d: d.weekday() == 2)
    start = at_bogota(wednesday, 9, 0)
    await move_to(time_env, start)
    recorder = Recorder()
    ticket = ticket_input(registered_at=start, priority=Priority.P3)
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await handle.execute_update(TicketWorkflow.reply, public_reply())
        await move_to(time_env, start + timedelta(hours=7))
        changed = await handle.execute_update(
            TicketWorkflow.change_priority,
            PriorityCommand(actor_email=ENGINEER, priority=Priority.P1, reason="falla masiva"),
        )
        # Recomputed from the SLA start: 8 wall-clock hours, so 17:00 the same day.
        assert changed.sla.resolution_due == start + timedelta(hours=8)
        await move_to(time_env, start + timedelta(hours=9))
        await eventually(lambda: len(sla_events(recorder, ticket.number)) == 2)
        await keep_history(handle, "priority_raised_to_p1")
    late_warning, breach = sla_events(recorder, ticket.number)
    # The P1 warning instant (6 h) had passed at the change: it fired at once.
    changed_at = recorder.of_type(ticket.number, EventType.PRIORITY_CHANGED)[0].at
    assert late_warning[0] == "sla_warning" and late_warning[1] == changed_at
    assert breach[:3] == ("sla_breach", start + timedelta(hours=8), "resolution")


async def test_the_notifications_owed_at_registration_go_out_in_one_activity(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input(registered_at=await time_env.get_current_time())
    async with recorder.worker(time_env.client, task_queue):
        await start_ticket(time_env.client, task_queue, ticket)
        await eventually(lambda: bool(recorder.sent(ticket.number, "assigned")))
    acknowledgement = recorder.sent(ticket.number, "acknowledgement")
    assigned = recorder.sent(ticket.number, "assigned")
    # The acknowledgement first (patch ack-first), then the assignee's notice.
    assert recorder.delivery_batches == [[acknowledgement[0].id, assigned[0].id]]
    assert recorder.delivery_attempts == recorder.delivery_batches[0]


async def test_the_acknowledgement_goes_before_a_reply_made_during_registration(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """An engineer's reply while the assignment pick still runs waits for the
    acknowledgement, which goes out first (patch ack-first)."""
    gate = asyncio.Event()
    recorder = Recorder(pick_gate=gate)
    ticket = ticket_input(registered_at=await time_env.get_current_time())
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await handle.execute_update(
            TicketWorkflow.reply, EngineerMessage(author_email=ENGINEER, body="Ya lo vemos")
        )
        assert recorder.delivery_batches == []  # nothing left before the acknowledgement
        gate.set()
        await eventually(lambda: bool(recorder.sent(ticket.number, "assigned")))
        await keep_history(handle, "reply_during_registration_ack_first")
    sent = [n.template for batch in recorder.delivery_batches for n in map(
        lambda i: recorder.notifications[i], batch
    )]  # fmt: skip
    assert sent == ["acknowledgement", "engineer_reply", "assigned"]


async def test_the_acknowledgement_goes_before_a_reply_that_came_with_the_start(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The reply comes in the ticket's very first task (update-with-start), so its handler
    runs before `run` starts: it still waits for the acknowledgement."""
    recorder = Recorder()
    ticket = ticket_input(registered_at=await time_env.get_current_time())
    start = WithStartWorkflowOperation(
        TicketWorkflow.run,
        args=[ticket],
        id=workflow_id(ticket.number),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    async with recorder.worker(time_env.client, task_queue):
        await time_env.client.execute_update_with_start_workflow(
            TicketWorkflow.reply,
            EngineerMessage(author_email=ENGINEER, body="Ya lo vemos"),
            start_workflow_operation=start,
        )
        await eventually(lambda: bool(recorder.sent(ticket.number, "engineer_reply")))
        await keep_history(await start.workflow_handle(), "reply_in_the_first_task_ack_first")
    sent = [
        recorder.notifications[i].template for batch in recorder.delivery_batches for i in batch
    ]
    assert sent == ["acknowledgement", "engineer_reply", "assigned"]


async def test_a_failed_delivery_is_retried_and_sent_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    # The first attempt (with the registration's projection, patch projection-with-mail)
    # fails and is sent again on its own; that attempt gives up for good (non-retryable),
    # two more fail and are retried.
    recorder = Recorder(fatal_deliveries=2, failing_deliveries=2, engineer=None)
    ticket = ticket_input(registered_at=await time_env.get_current_time())
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await eventually(lambda: len(recorder.delivery_attempts) == 2)
        await time_env.sleep(timedelta(minutes=6))  # the workflow tries again later
        await eventually(lambda: bool(recorder.sent(ticket.number, "acknowledgement")))
        shown = await handle.query(TicketWorkflow.view)
        await keep_history(handle, "mail_failed_then_retried_queued")
    ack_id = recorder.sent(ticket.number, "acknowledgement")[0].id
    assert recorder.delivery_attempts == [ack_id] * 5
    # Sent again in a queued activity (patch mail-retry-queued): a local one would hold the
    # ticket's task, and the command answered in it, while the SMTP server does not answer.
    assert recorder.batch_ran_locally and not any(recorder.batch_ran_locally)
    assert len(recorder.notifications) == 1
    assert shown.assignee is None  # nobody to pick: logged, left unassigned
    assigned = recorder.of_type(ticket.number, EventType.ASSIGNED)
    assert assigned and assigned[0].data["engineer"] is None


async def test_a_requirement_waits_for_the_committee_without_sla_timers(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input(
        registered_at=await time_env.get_current_time(),
        kind=Kind.REQUIREMENT,
        priority=Priority.REQUIREMENT,
    )
    async with recorder.worker(time_env.client, task_queue):
        handle = await start_ticket(time_env.client, task_queue, ticket)
        await time_env.sleep(timedelta(days=30))
        await eventually(lambda: bool(recorder.sent(ticket.number, "acknowledgement")))
        shown = await handle.query(TicketWorkflow.view)
        await keep_history(handle, "requirement_pending_committee")
    assert shown.status is Status.PENDING_COMMITTEE
    assert shown.sla.first_response_due is None
    assert not sla_events(recorder, ticket.number)


# --- Updates and refusals (dev server) -------------------------------------------------------


async def test_refused_updates_change_nothing(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input()
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await handle.execute_update(
            TicketWorkflow.request_info, RequestInfoCommand(actor_email=ENGINEER, body="¿NIT?")
        )
        before = await handle.query(TicketWorkflow.view)
        logged = len(recorder.log(ticket.number))
        abandon = handle.execute_update(
            TicketWorkflow.abandon, AbandonCommand(actor_email=ENGINEER, reason="nada")
        )
        assert "abandoning needs 4" in (await refusal(abandon)).message
        reopen = handle.execute_update(
            TicketWorkflow.reopen, ReopenCommand(actor_email=REPORTER, reason="x")
        )
        assert "not resolved" in (await refusal(reopen)).message
        rate = handle.execute_update(
            TicketWorkflow.rate, RatingCommand(actor_email=REPORTER, score=3)
        )
        assert (await refusal(rate)).type == "InvalidState"
        again = handle.execute_update(
            TicketWorkflow.request_info, RequestInfoCommand(actor_email=ENGINEER, body="¿y?")
        )
        assert "already waits" in (await refusal(again)).message
        blank = handle.execute_update(TicketWorkflow.reply, public_reply("   "))
        assert (await refusal(blank)).type == "InvalidInput"
        assert await handle.query(TicketWorkflow.view) == before
        assert len(recorder.log(ticket.number)) == logged

        await handle.execute_update(TicketWorkflow.resolve, solved())
        resolved = await handle.query(TicketWorkflow.view)
        twice = handle.execute_update(TicketWorkflow.resolve, solved())
        assert "already resolved" in (await refusal(twice)).message
        same = handle.execute_update(
            TicketWorkflow.assign, AssignCommand(actor_email=ENGINEER, engineer_email=ENGINEER)
        )
        assert (await refusal(same)).type == "InvalidState"
        assert await handle.query(TicketWorkflow.view) == resolved
        await keep_history(handle, "updates_and_refusals")
        await handle.terminate()
    assert not recorder.conflicts


async def test_an_update_returns_after_its_events_are_projected(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input()
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        note = EngineerMessage(
            author_email=ENGINEER,
            body="revisar el log del servidor",
            visibility=Visibility.INTERNAL,
        )
        await handle.execute_update(TicketWorkflow.reply, note)
        # No waiting: the projection is already there when the update answers.
        notes = recorder.of_type(ticket.number, EventType.INTERNAL_NOTE)
        assert [n.body for n in notes] == ["revisar el log del servidor"]
        assert notes[0].visibility is Visibility.INTERNAL
        shown = await handle.execute_update(TicketWorkflow.reply, public_reply())
        assert recorder.of_type(ticket.number, EventType.ENGINEER_REPLY)
        assert shown.status is Status.IN_PROGRESS and shown.sla.first_responded_at is not None
        await handle.terminate()
    client_templates = [n.template for n in recorder.sent(ticket.number) if REPORTER in n.to]
    assert "engineer_reply" in client_templates
    assert all(n.data.get("body") != note.body for n in recorder.sent(ticket.number))


async def test_a_duplicate_signal_is_logged_once(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input()
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await handle.signal(TicketWorkflow.client_message, from_client("mail-1"))
        await handle.signal(TicketWorkflow.client_message, from_client("mail-1"))
        await handle.execute_update(TicketWorkflow.reply, public_reply())
        await handle.terminate()
    assert len(recorder.of_type(ticket.number, EventType.CLIENT_MESSAGE)) == 1
    assert_log_is_contiguous(recorder.log(ticket.number))


async def test_the_sender_hears_of_attachments_not_kept(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input()
    refused = from_client("mail-2", "Va el programa").model_copy(
        update={"refused_attachments": ["arreglo.exe: tipo no permitido"]}
    )
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await handle.signal(TicketWorkflow.client_message, from_client("mail-1"))
        await handle.signal(TicketWorkflow.client_message, refused)
        await eventually(lambda: bool(recorder.sent(ticket.number, "attachments_refused")))
        await handle.execute_update(TicketWorkflow.resolve, solved())
        await eventually(lambda: bool(recorder.sent(ticket.number, "resolved")))
        await keep_history(handle, "client_reply_with_attachments_not_kept")
        await handle.terminate()
    notices = recorder.sent(ticket.number, "attachments_refused")
    assert [(n.to, n.data["refused_attachments"]) for n in notices] == [
        ([REPORTER], ["arreglo.exe: tipo no permitido"])
    ]


async def test_continue_as_new_with_messages_in_flight_loses_and_doubles_nothing(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = Recorder()
    ticket = ticket_input(policy=PolicyConfig(max_events_per_run=5))
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await asyncio.gather(
            *(
                handle.signal(TicketWorkflow.client_message, from_client(f"m{i}", f"mensaje {i}"))
                for i in range(30)
            )
        )
        await handle.execute_update(TicketWorkflow.reply, public_reply("recibido todo"))
        first_run = dev_env.client.get_workflow_handle(
            workflow_id(ticket.number), run_id=handle.first_execution_run_id
        )
        # The run continues as new once its sends are done too, maybe after the reply.
        for _ in range(500):
            if (await first_run.describe()).status is WorkflowExecutionStatus.CONTINUED_AS_NEW:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the first run never continued as new")
        await keep_history(first_run, "continued_as_new")
        # The run may continue as new from inside the task that took the messages; the server
        # refuses that task when more came in meanwhile, and its retry numbers the log
        # otherwise (lines replaced). Every mail sent is one the log names all the same
        # (named from its cause: none from the refused attempt's numbering).
        await eventually(lambda: set(recorder.notifications) <= logged_mail(recorder, ticket))
        await handle.terminate()
    log = recorder.log(ticket.number)
    assert_log_is_contiguous(log)
    bodies = sorted(e.body for e in log if e.type == EventType.CLIENT_MESSAGE)
    assert bodies == sorted(f"mensaje {i}" for i in range(30))
    reply_seq = recorder.of_type(ticket.number, EventType.ENGINEER_REPLY)[0].seq
    assert all(e.seq < reply_seq for e in log if e.type == EventType.CLIENT_MESSAGE)
    assert len(recorder.sent(ticket.number, "acknowledgement")) == 1


def logged_mail(recorder: Recorder, ticket: TicketInput) -> set[object]:
    """The notification ids the ticket's log names (a notification line, the acknowledgement)."""
    return {line.data.get("notification_id") for line in recorder.log(ticket.number)} - {None}


# --- A worker killed mid-ticket (dev server, worker subprocess) --------------------------------


def start_worker_process(
    env: WorkflowEnvironment, task_queue: str, record: Path
) -> subprocess.Popen[bytes]:
    target = env.client.service_client.config.target_host
    return subprocess.Popen(
        [sys.executable, "-m", "tests.workflow_worker_process", target, task_queue, str(record)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def read_record(record: Path) -> list[dict[str, object]]:
    if not record.exists():
        return []
    lines = record.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def projected_events(record: Path) -> dict[tuple[int, int], dict[str, object]]:
    """Events by (number, seq), the last written kept: as activities/projection.py, where a
    task lost with the killed worker, retried, may write a line again (its instant is the
    retry's)."""
    events: dict[tuple[int, int], dict[str, object]] = {}
    for line in read_record(record):
        if line["kind"] == "event":
            event = line["event"]
            assert isinstance(event, dict)
            events[(int(event["number"]), int(event["seq"]))] = event
    return events


def distinct_notifications(record: Path) -> dict[str, dict[str, object]]:
    notes: dict[str, dict[str, object]] = {}
    for line in read_record(record):
        if line["kind"] == "notification":
            note = line["notification"]
            assert isinstance(note, dict)
            notes[str(note["id"])] = note
    return notes


def quiet(record: Path, tickets: list[TicketInput]) -> bool:
    """Every send done and the last event (the client_message notice) projected."""
    logged = {
        (number, str(event["data"]["template"]))  # type: ignore[index]
        for (number, _), event in projected_events(record).items()
        if event["type"] == EventType.NOTIFICATION
    }
    notified = all((t.number, "client_message") in logged for t in tickets)
    return notified and len(distinct_notifications(record)) == 4 * len(tickets)


async def test_a_killed_worker_loses_and_doubles_nothing(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.jsonl"
    tickets = [ticket_input() for _ in range(3)]
    first = start_worker_process(dev_env, task_queue, record)
    try:
        handles = [await start_ticket(dev_env.client, task_queue, t) for t in tickets]
        for handle in handles:
            await handle.execute_update(TicketWorkflow.reply, public_reply())
            await handle.signal(TicketWorkflow.client_message, from_client("antes", "antes"))
        # Kill it once its sends are done (an activity lost in flight only waits out its
        # 30 s timeout before the retry: correct, but slow for a test).
        await eventually(lambda: quiet(record, tickets), timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait()
        for handle in handles:  # accepted by the server while no worker runs
            await handle.signal(TicketWorkflow.client_message, from_client("durante", "durante"))
    finally:
        if first.poll() is None:
            first.kill()
    second = start_worker_process(dev_env, task_queue, record)
    try:
        for handle in handles:
            shown = await handle.execute_update(TicketWorkflow.resolve, solved())
            assert shown.status is Status.RESOLVED
        await eventually(lambda: len(distinct_notifications(record)) == 3 * 7, timeout=30)
        await keep_history(handles[0], "worker_killed_mid_ticket")
        for handle in handles:
            await handle.terminate()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    events = projected_events(record)
    notifications = distinct_notifications(record).values()
    for ticket in tickets:
        seqs = sorted(seq for number, seq in events if number == ticket.number)
        assert seqs == list(range(1, len(seqs) + 1))
        mine = [events[(ticket.number, seq)] for seq in seqs]
        bodies = [e["body"] for e in mine if e["type"] == EventType.CLIENT_MESSAGE]
        assert bodies == ["antes", "durante"]
        assert [e["type"] for e in mine].count(EventType.RESOLVED) == 1
        templates = sorted(
            str(n["template"]) for n in notifications if n["number"] == ticket.number
        )
        assert templates == sorted(
            ["assigned", "acknowledgement", "engineer_reply", "client_message",
             "client_message", "resolved", "rating_invitation"]
        )  # fmt: skip


async def test_an_unverified_message_is_kept_for_staff_and_changes_nothing(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Issue 16: a message nothing proves is the client's (verified=False) neither ends the
    wait nor reopens; it is logged internal. A verified one afterwards still does."""
    recorder = Recorder()
    ticket = ticket_input()
    forged = from_client("forged-1", "Ya está, cierren").model_copy(update={"verified": False})
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await handle.execute_update(
            TicketWorkflow.request_info, RequestInfoCommand(actor_email=ENGINEER, body="¿NIT?")
        )
        await handle.signal(TicketWorkflow.client_message, forged)
        await eventually(
            lambda: bool(recorder.of_type(ticket.number, EventType.UNVERIFIED_MESSAGE))
        )
        still = await handle.query(TicketWorkflow.view)
        assert still.status is Status.WAITING_ON_CLIENT and still.sla.paused
        await handle.signal(TicketWorkflow.client_message, from_client("mail-1"))
        await eventually(lambda: bool(recorder.of_type(ticket.number, EventType.CLIENT_MESSAGE)))
        await eventually(lambda: bool(recorder.sent(ticket.number, "client_message")))
        resumed = await handle.query(TicketWorkflow.view)
        await keep_history(handle, "unverified_message_then_verified_reply")
        await handle.terminate()
    assert resumed.status is not Status.WAITING_ON_CLIENT and not resumed.sla.paused
    [kept] = recorder.of_type(ticket.number, EventType.UNVERIFIED_MESSAGE)
    assert kept.visibility is Visibility.INTERNAL and kept.body == "Ya está, cierren"
    assert kept.actor == REPORTER and kept.data["claimed_author"] == REPORTER
    # Only the verified message told the assignee (the unverified one mailed no one).
    assert [n.data["body"] for n in recorder.sent(ticket.number, "client_message")] == [
        "Aquí está la información"
    ]


async def test_a_message_that_moves_no_deadline_keeps_the_deadline_timer(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Issue 15 (patch lean-steps): the SLA timer, whose instant a second client message
    does not move, is neither cancelled nor started again (two server writes per event)."""
    recorder = Recorder()
    ticket = ticket_input(registered_at=datetime.now(UTC))
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await handle.signal(TicketWorkflow.client_message, from_client("lean-1"))
        await eventually(lambda: bool(recorder.sent(ticket.number, "client_message")))
        due = (await handle.query(TicketWorkflow.view)).sla.first_response_due
        before = len((await handle.fetch_history()).events)
        await handle.signal(TicketWorkflow.client_message, from_client("lean-2"))
        await eventually(lambda: len(recorder.sent(ticket.number, "client_message")) == 2)
        shown = await handle.query(TicketWorkflow.view)
        after = (await handle.fetch_history()).events[before:]
        await keep_history(handle, "second_message_keeps_the_timer")
    kinds = {event_type_name(event.event_type) for event in after}
    assert "WORKFLOW_EXECUTION_SIGNALED" in kinds and "MARKER_RECORDED" in kinds
    assert "TIMER_CANCELED" not in kinds and "TIMER_STARTED" not in kinds
    assert shown.sla.first_response_due == due is not None


async def test_a_message_posted_as_an_update_is_projected_in_the_task_that_takes_it(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Issue 15: the API's and the portal's client message is the update post_message, the
    signal's effect answered once projected, accepted and completed in one workflow task (a
    signal and a query after it took two or three). The same message id again, by the email
    door's signal or by a retried update, is logged once."""
    recorder = Recorder()
    ticket = ticket_input(registered_at=datetime.now(UTC))
    message = from_client("posted-1", "Adjunto el pantallazo")
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await eventually(lambda: bool(recorder.sent(ticket.number, "acknowledgement")))
        before = len((await handle.fetch_history()).events)
        view = await handle.execute_update(TicketWorkflow.post_message, message)
        projected_when_answered = recorder.of_type(ticket.number, EventType.CLIENT_MESSAGE)
        after = (await handle.fetch_history()).events[before:]
        await handle.signal(TicketWorkflow.client_message, message)
        again = await handle.execute_update(TicketWorkflow.post_message, message, id="retry")
        await eventually(lambda: bool(recorder.sent(ticket.number, "client_message")))
        await keep_history(handle, "client_message_posted")
    [logged] = projected_when_answered
    assert logged.body == "Adjunto el pantallazo" and logged.actor == REPORTER
    assert len(recorder.of_type(ticket.number, EventType.CLIENT_MESSAGE)) == 1
    assert view.number == again.number == ticket.number and view.status is again.status
    assert len(recorder.sent(ticket.number, "client_message")) == 1
    names = [event_type_name(event.event_type) for event in after]
    accepted = names.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    completed = names.index("WORKFLOW_EXECUTION_UPDATE_COMPLETED")
    assert "MARKER_RECORDED" in names[accepted:completed]  # the projection
    assert "WORKFLOW_TASK_COMPLETED" not in names[accepted:completed]  # one task


async def test_mail_goes_out_from_the_workflow_task_that_owes_it_named_by_its_cause(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Issue 15 (patch local-mail): a ticket's mail is a local activity of the task that
    owes it, not a queued activity (three history events, a dispatch and another workflow
    task each), and the same one as its projection (patch projection-with-mail); each mail
    is named from its step's cause (tests/test_notification_names.py shows why) and sent
    once."""
    recorder = Recorder()
    ticket = ticket_input(registered_at=datetime.now(UTC))
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        await eventually(lambda: bool(recorder.sent(ticket.number, "acknowledgement")))
        await handle.execute_update(TicketWorkflow.post_message, from_client("local-1"))
        await eventually(lambda: bool(recorder.sent(ticket.number, "client_message")))
        await handle.query(TicketWorkflow.view)  # answered once the task completed
        history = (await handle.fetch_history()).events
        await keep_history(handle, "client_message_mailed_in_its_task")
    names = [event_type_name(event.event_type) for event in history]
    assert "ACTIVITY_TASK_SCHEDULED" not in names
    # The message's task took it, projected it and mailed the assignee: no task after it,
    # and one local activity for both (patch projection-with-mail).
    taken = names[names.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") :]
    assert "WORKFLOW_TASK_COMPLETED" not in taken
    assert taken.count("MARKER_RECORDED") == 1
    sent = recorder.sent(ticket.number)
    assert {n.template for n in sent} >= {"acknowledgement", "assigned", "client_message"}
    assert all(n.id.startswith(f"{ticket.number}-c") for n in sent)
    assert sorted(recorder.delivery_attempts) == sorted(n.id for n in sent)  # each once


async def test_mail_that_keeps_failing_does_not_hold_the_tickets_tasks(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A mail write_ticket could not send goes out again in a queued activity, retried by
    the server (patch mail-retry-queued), so a ticket whose mail cannot go out (the SMTP
    server down) still answers its commands while the retries go on."""
    recorder = Recorder(failing_deliveries=1000)
    ticket = ticket_input(registered_at=datetime.now(UTC))
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)

        async def scheduled() -> list[str]:
            events = (await handle.fetch_history()).events
            names = [event_type_name(e.event_type) for e in events]
            return [name for name in names if name.startswith("ACTIVITY_TASK_")]

        for _ in range(200):
            if await scheduled() and recorder.batch_ran_locally:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the failing mail was not queued for its retries")
        message = from_client("smtp-down")
        view = await handle.execute_update(TicketWorkflow.post_message, message)
        attempts = len(recorder.delivery_attempts)
        activities = await scheduled()
    assert view.number == ticket.number
    assert not any(recorder.batch_ran_locally)
    # Retrying on the server's timers: scheduled (this step's mail, then the message's), none
    # ended.
    assert activities and set(activities) == {"ACTIVITY_TASK_SCHEDULED"}
    assert not recorder.notifications and 2 <= attempts < 20  # none sent, none given up


def event_type_name(value: int) -> str:
    return temporal_event_type.Name(value).removeprefix("EVENT_TYPE_")
