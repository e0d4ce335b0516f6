"""The ticket's pure lifecycle (soporte.policy.ticket): transitions, deadlines and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soporte.policy import Channel, Kind, Priority, ResolutionKind, Status, Visibility, sla
from soporte.policy.calendar import BusinessCalendar, due_with_pauses
from soporte.policy.config import PolicyConfig
from soporte.policy.incidents import IncidentLinkedSignal
from soporte.policy.ticket import (
    CommandRefused,
    DeadlineAction,
    TicketState,
    abandon,
    acknowledge,
    apply_deadline,
    assign,
    auto_assign,
    change_priority,
    check_abandon,
    check_reopen,
    check_resolve,
    client_message,
    incident_linked,
    is_open,
    mark_projected,
    next_deadline,
    rate,
    reopen,
    reopen_request,
    reply,
    request_info,
    resolve,
    view,
)
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
)
from tests.ticket_paths import Walk
from tests.workflow_support import ENGINEER, HOLIDAYS, REPORTER, bogota, ticket_input

# Friday before the Monday holiday of 2026-11-16 (Independencia de Cartagena, moved).
FRIDAY = bogota(2026, 11, 13, 16, 30)


def registered(
    start: datetime = FRIDAY, priority: Priority = Priority.P2, **fields: Any
) -> TicketState:
    state = TicketState.initial(ticket_input(registered_at=start, priority=priority, **fields))
    auto_assign(state, ENGINEER, start)
    acknowledge(state, start)
    return state


def engineer_reply(body: str = "Estamos revisando") -> EngineerMessage:
    return EngineerMessage(author_email=ENGINEER, body=body)


def from_client(message_id: str = "m1", body: str = "Adjunto la información") -> ClientMessage:
    return ClientMessage(message_id=message_id, author_email=REPORTER, body=body)


def solved() -> ResolveCommand:
    return ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body="Listo")


def types(state: TicketState) -> list[str]:
    return [event.type for event in state.pending_events]


def run_deadlines_until(state: TicketState, until: datetime) -> list[DeadlineAction]:
    """What the workflow's deadline loop does, waking at each instant, until `until`."""
    done = []
    now = state.updated_at
    while (deadline := next_deadline(state, now)) is not None and deadline.at <= until:
        now = max(now, deadline.at)
        apply_deadline(state, deadline)
        done.append(deadline.action)
    return done


# --- Registration ----------


def test_a_registered_support_ticket_starts_its_clock_at_registration() -> None:
    state = registered()
    shown = view(state)
    assert shown.status is Status.OPEN
    assert shown.assignee == ENGINEER
    assert shown.sla.started_at == FRIDAY
    # POLICY example shape: 30 min left on Friday, Monday is a holiday, Tuesday opens 07:30.
    assert shown.sla.first_response_due == bogota(2026, 11, 17, 8, 0)
    due = sla.due_instants(Priority.P2, FRIDAY, HOLIDAYS)
    assert shown.sla.resolution_due == due.resolution_due
    assert types(state) == ["registered", "assigned", "notification", "acknowledged"]
    ack = state.outbox[0]  # the acknowledgement goes out first, before the assignee's notice
    assert [n.template for n in state.outbox] == ["acknowledgement", "assigned"]
    assert ack.to == [REPORTER, "gerencia@cliente.co"]
    assert ack.data["first_response_due"] == due.first_response_due.isoformat()  # type: ignore[union-attr]


def test_initial_view_is_available_before_the_workflow_runs() -> None:
    state = TicketState.initial(
        ticket_input(registered_at=FRIDAY, missing_info=["business_impact"])
    )
    shown = view(state)
    assert shown.status is Status.OPEN and shown.assignee is None
    assert shown.sla.first_response_due == bogota(2026, 11, 17, 8, 0)
    assert shown.missing_info == ["business_impact"]
    assert [e.seq for e in state.pending_events] == [1]


def test_without_auto_assignment_the_clock_starts_at_the_first_assignment() -> None:
    state = TicketState.initial(
        ticket_input(registered_at=FRIDAY, policy=PolicyConfig(auto_assign=False))
    )
    assert view(state).sla.started_at is None
    assert next_deadline(state, FRIDAY) is None
    monday = bogota(2026, 11, 23, 9, 0)
    assign(state, AssignCommand(actor_email="jefe@btw.com.co", engineer_email=ENGINEER), monday)
    assert view(state).sla.started_at == monday
    assert view(state).sla.first_response_due == bogota(2026, 11, 23, 10, 0)


def test_nobody_to_assign_is_logged_and_the_ticket_stays_unassigned() -> None:
    state = TicketState.initial(ticket_input(registered_at=FRIDAY))
    auto_assign(state, None, FRIDAY)
    assert state.assignee is None
    assert state.pending_events[-1].type == EventType.ASSIGNED
    assert state.pending_events[-1].data["engineer"] is None


@pytest.mark.parametrize(
    ("kind", "priority", "status"),
    [
        (Kind.REQUIREMENT, Priority.REQUIREMENT, Status.PENDING_COMMITTEE),
        (Kind.ADVISORY, Priority.ADVISORY, Status.SCHEDULING),
    ],
)
def test_requirements_and_advisories_have_no_sla_clock(
    kind: Kind, priority: Priority, status: Status
) -> None:
    state = registered(kind=kind, priority=priority)
    assert view(state).status is status
    assert view(state).sla.first_response_due is None
    assert next_deadline(state, FRIDAY + timedelta(days=30)) is None


# --- SLA deadlines ----------


def test_warnings_and_breaches_fire_at_their_exact_instants() -> None:
    state = registered()
    due = sla.due_instants(Priority.P2, FRIDAY, HOLIDAYS)
    assert next_deadline(state, FRIDAY) == (
        due.first_response_warning,
        DeadlineAction.FIRST_RESPONSE_WARNING,
    )
    run_deadlines_until(state, due.resolution_due)  # type: ignore[arg-type]
    fired = [(e.type, e.at, e.data["target"]) for e in state.pending_events if "due" in e.data]
    assert fired == [
        ("sla_warning", due.first_response_warning, "first_response"),
        ("sla_breach", due.first_response_due, "first_response"),
        ("sla_warning", due.resolution_warning, "resolution"),
        ("sla_breach", due.resolution_due, "resolution"),
    ]
    assert next_deadline(state, due.resolution_due) is None  # type: ignore[arg-type]
    assert view(state).sla.breached and view(state).status is Status.OPEN
    sla_notices = [n for n in state.outbox if n.template.startswith("sla_")]
    assert all(n.to == ["@assignee", "@supervisors"] for n in sla_notices)


def test_a_first_response_stops_the_first_response_timers() -> None:
    state = registered()
    reply(state, engineer_reply(), bogota(2026, 11, 17, 7, 35))
    assert state.status is Status.IN_PROGRESS
    deadline = next_deadline(state, bogota(2026, 11, 17, 7, 35))
    assert deadline is not None and deadline.action is DeadlineAction.RESOLUTION_WARNING


def test_an_internal_note_is_not_a_first_response_nor_sent_to_the_client() -> None:
    state = registered()
    note = EngineerMessage(
        author_email=ENGINEER, body="revisar logs", visibility=Visibility.INTERNAL
    )
    outbox_before = len(state.outbox)
    reply(state, note, bogota(2026, 11, 17, 7, 35))
    assert state.pending_events[-1].visibility is Visibility.INTERNAL
    assert state.first_responded_at is None and state.status is Status.OPEN
    assert len(state.outbox) == outbox_before


def test_a_warning_already_past_its_breach_is_folded_into_the_breach() -> None:
    state = registered()
    late = bogota(2026, 11, 17, 9, 0)  # after the first response breach
    deadline = next_deadline(state, late)
    assert deadline is not None
    assert deadline.action is DeadlineAction.FIRST_RESPONSE_BREACH
    apply_deadline(state, deadline)
    assert view(state).sla.warned and view(state).sla.breached
    assert types(state).count("sla_warning") == 0


def test_a_breach_handled_late_still_fires_after_a_later_reply() -> None:
    # The worker was down at the due instant; the reply and the timer reach the ticket together.
    state = registered()
    due = sla.due_instants(Priority.P2, FRIDAY, HOLIDAYS).first_response_due
    assert due is not None
    late = due + timedelta(minutes=5)
    reply(state, engineer_reply(), late)
    assert next_deadline(state, late) == (due, DeadlineAction.FIRST_RESPONSE_BREACH)
    apply_deadline(state, next_deadline(state, late))  # type: ignore[arg-type]
    breach = state.pending_events[-2]
    assert breach.type == EventType.SLA_BREACH and breach.data["due"] == due.isoformat()
    assert breach.at == late  # the log never goes back in time; data keeps the due instant


def test_a_reply_before_the_due_instant_stops_a_late_timer() -> None:
    state = registered()
    due = sla.due_instants(Priority.P2, FRIDAY, HOLIDAYS)
    assert due.first_response_due is not None and due.first_response_warning is not None
    assert run_deadlines_until(state, due.first_response_warning) == [
        DeadlineAction.FIRST_RESPONSE_WARNING
    ]
    reply(state, engineer_reply(), due.first_response_due)  # exactly on time counts as met
    deadline = next_deadline(state, due.first_response_due + timedelta(hours=1))
    assert deadline is not None and deadline.action is DeadlineAction.RESOLUTION_WARNING


# --- Priority changes ----------


def test_a_priority_change_recomputes_due_instants_from_the_sla_start() -> None:
    state = registered()
    now = bogota(2026, 11, 13, 16, 45)
    change_priority(
        state, PriorityCommand(actor_email=ENGINEER, priority=Priority.P1, reason="masivo"), now
    )
    shown = view(state)
    assert shown.priority is Priority.P1
    assert shown.sla.first_response_due == FRIDAY + timedelta(hours=1)
    assert shown.sla.resolution_due == FRIDAY + timedelta(hours=8)
    assert state.pending_events[-2].type == EventType.PRIORITY_CHANGED


def test_a_lower_priority_clears_a_breach_whose_new_instant_is_ahead() -> None:
    start = bogota(2026, 11, 18, 9, 0)  # a Wednesday
    state = registered(start, priority=Priority.P1)
    now = start + timedelta(hours=9)
    run_deadlines_until(state, now)
    assert state.first_response_flags.breached and state.resolution_flags.breached
    change_priority(
        state,
        PriorityCommand(actor_email=ENGINEER, priority=Priority.P3, reason="un solo usuario"),
        now,
    )
    # P3 counts business hours from the same start: the first response (10:00) is still
    # late, the resolution (96 business hours) is not.
    assert state.first_response_flags.breached
    assert not state.resolution_flags.breached and not state.resolution_flags.warned
    due = sla.due_instants(Priority.P3, start, HOLIDAYS)
    assert view(state).sla.resolution_due == due.resolution_due
    assert next_deadline(state, now) == (
        due.resolution_warning,
        DeadlineAction.RESOLUTION_WARNING,
    )


def test_a_higher_priority_fires_instants_already_passed_at_once() -> None:
    start = bogota(2026, 11, 18, 9, 0)
    state = registered(start, priority=Priority.P3)
    now = start + timedelta(hours=7)
    reply(state, engineer_reply(), start + timedelta(minutes=30))
    change_priority(
        state, PriorityCommand(actor_email=ENGINEER, priority=Priority.P1, reason="masivo"), now
    )
    # The P1 resolution warning (6 h of 8) has passed: it is due now, the breach is ahead.
    assert next_deadline(state, now) == (
        start + timedelta(hours=6),
        DeadlineAction.RESOLUTION_WARNING,
    )
    run_deadlines_until(state, start + timedelta(hours=8))
    assert state.resolution_flags.breached


def test_impossible_priority_changes_are_refused() -> None:
    state = registered()
    for priority, reason in [
        (Priority.P2, "igual"),
        (Priority.REQUIREMENT, "x"),
        (Priority.P1, " "),
    ]:
        with pytest.raises(CommandRefused):
            change_priority(
                state,
                PriorityCommand(actor_email=ENGINEER, priority=priority, reason=reason),
                FRIDAY,
            )


# --- Waiting on the client ----------


def test_waiting_pauses_reminds_and_resolves_without_reply() -> None:
    start = bogota(2026, 11, 18, 9, 0)
    state = registered(start)
    asked = start + timedelta(minutes=20)
    request_info(state, RequestInfoCommand(actor_email=ENGINEER, body="¿Qué factura?"), asked)
    shown = view(state)
    assert shown.status is Status.WAITING_ON_CLIENT and shown.sla.paused
    assert shown.sla.first_responded_at == asked  # a request is a public engineer message
    assert shown.sla.resolution_due is None  # unknown until the client replies
    assert shown.sla.first_response_due == start + timedelta(hours=1)  # met: still known
    actions = run_deadlines_until(state, asked + timedelta(days=6))
    assert actions == [DeadlineAction.REMINDER] * 3 + [DeadlineAction.NO_REPLY_RESOLUTION] + []
    reminders = [e for e in state.pending_events if e.type == EventType.REMINDER_SENT]
    assert [e.at - asked for e in reminders] == [timedelta(days=d) for d in (1, 2, 4)]
    assert [e.data["attempt"] for e in reminders] == [2, 3, 4]
    assert state.resolution is not None
    assert state.resolution.kind is ResolutionKind.NO_CLIENT_REPLY
    assert state.resolution.body == "sin respuesta del cliente"
    assert state.resolution.at == asked + timedelta(days=5)
    assert state.outbox[-1].template == "resolved_no_reply"
    assert not view(state).sla.paused


def test_a_client_reply_resumes_with_the_remaining_counted_time() -> None:
    start = bogota(2026, 11, 18, 9, 0)
    state = registered(start)
    asked = start + timedelta(hours=2)
    request_info(state, RequestInfoCommand(actor_email=ENGINEER, body="¿Qué factura?"), asked)
    run_deadlines_until(state, asked + timedelta(days=3, hours=1))
    assert state.waiting_attempts == 3
    answered = asked + timedelta(days=4, hours=1)  # after the third reminder
    client_message(state, from_client(), answered)
    assert state.status is Status.IN_PROGRESS and state.waiting_attempts == 0
    calendar = BusinessCalendar(HOLIDAYS)
    expected = due_with_pauses(calendar, start, timedelta(hours=24), [(asked, answered)])
    assert view(state).sla.resolution_due == expected
    left = timedelta(hours=22)  # two business hours were counted before the pause
    assert calendar.elapsed(answered, expected) == left  # type: ignore[arg-type]


def test_a_duplicate_client_message_is_logged_once() -> None:
    state = registered()
    assert client_message(state, from_client("m1"), FRIDAY) is not None
    before = state.last_seq
    assert client_message(state, from_client("m1"), FRIDAY) is None
    assert state.last_seq == before


def test_a_client_message_with_attachments_not_kept_tells_its_sender() -> None:
    state = registered()
    message = from_client("m1").model_copy(
        update={
            "author_email": "otra@cliente.com.co",
            "email_message_id": "<m1@cliente.com.co>",
            "refused_attachments": ["arreglo.exe: tipo no permitido"],
        }
    )
    client_message(state, message, FRIDAY)
    notice = [n for n in state.outbox if n.template == "attachments_refused"]
    assert len(notice) == 1
    assert notice[0].to == ["otra@cliente.com.co"]
    assert notice[0].data["refused_attachments"] == ["arreglo.exe: tipo no permitido"]
    assert notice[0].in_reply_to == "<m1@cliente.com.co>"
    logged = [e for e in state.pending_events if e.type == EventType.CLIENT_MESSAGE]
    assert logged[0].data["refused_attachments"] == ["arreglo.exe: tipo no permitido"]


def test_a_client_message_with_every_attachment_kept_sends_no_notice() -> None:
    state = registered()
    client_message(state, from_client("m1"), FRIDAY)
    assert not [n for n in state.outbox if n.template == "attachments_refused"]
    logged = [e for e in state.pending_events if e.type == EventType.CLIENT_MESSAGE]
    assert "refused_attachments" not in logged[0].data


def test_a_ticket_linked_to_an_incident_shows_it_once() -> None:
    state = registered()
    linked = IncidentLinkedSignal(incident_id="7", title="Caída", actor=ENGINEER, at=FRIDAY)
    assert incident_linked(state, linked, FRIDAY) is not None
    assert view(state).incident_id == "7"
    [line] = [e for e in state.pending_events if e.type == "incident_linked"]
    assert line.visibility is Visibility.INTERNAL and "incidente 7" in line.body
    before = state.last_seq
    assert incident_linked(state, linked, FRIDAY) is None
    assert state.last_seq == before
    assert state.priority is Priority.P2  # linking alone changes no priority


def test_abandon_needs_four_unanswered_attempts() -> None:
    start = bogota(2026, 11, 18, 9, 0)
    state = registered(start)
    request_info(state, RequestInfoCommand(actor_email=ENGINEER, body="?"), start)
    command = AbandonCommand(actor_email=ENGINEER, reason="no responde")
    with pytest.raises(CommandRefused, match="1 unanswered"):
        check_abandon(state, command, start)
    run_deadlines_until(state, start + timedelta(days=4))
    assert state.waiting_attempts == 4
    abandon(state, command, start + timedelta(days=4, hours=1))
    assert state.resolution is not None and state.resolution.kind is ResolutionKind.ABANDONED
    assert state.status is Status.RESOLVED


# --- Resolution, reopening, closing, rating ----------


def test_reopen_inside_the_window_counts_a_new_resolution_target() -> None:
    start = bogota(2026, 11, 18, 9, 0)
    state = registered(start)
    resolve(state, solved(), start + timedelta(hours=3))
    assert [n.template for n in state.outbox[-2:]] == ["resolved", "rating_invitation"]
    with pytest.raises(CommandRefused):
        check_resolve(state, solved(), start + timedelta(hours=4))
    reopened_at = bogota(2026, 11, 30, 10, 0)
    reopen(state, ReopenCommand(actor_email=REPORTER, reason="volvió a fallar"), reopened_at)
    shown = view(state)
    assert shown.status is Status.IN_PROGRESS and shown.resolution is None
    expected = sla.due_instants(Priority.P2, reopened_at, HOLIDAYS).resolution_due
    assert shown.sla.resolution_due == expected
    assert (
        shown.sla.first_response_due
        == sla.due_instants(Priority.P2, start, HOLIDAYS).first_response_due
    )


def test_after_the_window_the_ticket_closes_and_a_reopen_is_refused() -> None:
    start = bogota(2026, 11, 18, 9, 0)
    state = registered(start)
    resolved_at = start + timedelta(minutes=30)
    resolve(state, solved(), resolved_at)
    late = resolved_at + timedelta(days=15)
    with pytest.raises(CommandRefused) as refused:
        check_reopen(state, ReopenCommand(actor_email=REPORTER, reason="otra vez"), late)
    assert refused.value.reason == "ReopenWindowEnded"
    assert "15 days" in refused.value.message
    assert f"#{state.input.number}" in refused.value.message
    assert run_deadlines_until(state, late) == [DeadlineAction.CLOSE]
    assert state.status is Status.CLOSED or is_open(state)
    assert state.outbox[-1].template == "closed"
    with pytest.raises(CommandRefused):
        check_resolve(state, solved(), late)


@pytest.mark.parametrize("channel", list(Channel))
def test_a_clients_message_on_a_resolved_ticket_asks_to_reopen_it_on_every_channel(
    channel: Channel,
) -> None:
    message = ClientMessage(
        message_id="m1", author_email=REPORTER, body="sigue fallando", channel=channel
    )
    asked = reopen_request(Status.RESOLVED, message)
    assert asked == ReopenCommand(actor_email=REPORTER, reason="sigue fallando")
    # After the window the same request is made, and check_reopen refuses it.
    assert reopen_request(Status.CLOSED, message) == asked
    for status in set(Status) - {Status.RESOLVED, Status.CLOSED}:
        assert reopen_request(status, message) is None


def test_reopen_refused_when_not_resolved() -> None:
    state = registered()
    with pytest.raises(CommandRefused, match="not resolved"):
        check_reopen(state, ReopenCommand(actor_email=REPORTER, reason="x"), FRIDAY)


def test_a_rating_is_given_once_while_resolved() -> None:
    state = registered()
    command = RatingCommand(actor_email=REPORTER, score=5, comment="excelente")
    with pytest.raises(CommandRefused):
        rate(state, command, FRIDAY)
    resolve(state, solved(), FRIDAY + timedelta(hours=1))
    rate(state, command, FRIDAY + timedelta(hours=2))
    assert view(state).rating is not None and view(state).rating.score == 5  # type: ignore[union-attr]
    with pytest.raises(CommandRefused, match="already rated"):
        rate(state, command, FRIDAY + timedelta(hours=3))


# --- The log ----------


def test_projection_marks_remove_exactly_the_projected_events() -> None:
    state = registered()
    last = state.last_seq
    mark_projected(state, last - 1)
    assert [e.seq for e in state.pending_events] == [last]
    assert state.projected_seq == last - 1


COMMANDS = st.sampled_from(
    ["reply", "note", "client", "client_again", "request", "resolve", "abandon", "reopen",
     "rate", "assign", "priority", "tick"]
)  # fmt: skip


def _apply(state: TicketState, command: str, now: datetime, index: int) -> None:
    actions = {
        "reply": lambda: reply(state, engineer_reply(), now),
        "note": lambda: reply(
            state,
            EngineerMessage(author_email=ENGINEER, body="n", visibility=Visibility.INTERNAL),
            now,
        ),
        "client": lambda: client_message(state, from_client(f"m{index}"), now),
        "client_again": lambda: client_message(state, from_client("m0"), now),
        "request": lambda: request_info(
            state, RequestInfoCommand(actor_email=ENGINEER, body="?"), now
        ),
        "resolve": lambda: resolve(state, solved(), now),
        "abandon": lambda: abandon(state, AbandonCommand(actor_email=ENGINEER, reason="r"), now),
        "reopen": lambda: reopen(state, ReopenCommand(actor_email=REPORTER, reason="r"), now),
        "rate": lambda: rate(state, RatingCommand(actor_email=REPORTER, score=4), now),
        "assign": lambda: assign(
            state, AssignCommand(actor_email=ENGINEER, engineer_email=f"e{index}@btw.com.co"), now
        ),
        "priority": lambda: change_priority(
            state,
            PriorityCommand(
                actor_email=ENGINEER,
                priority=[Priority.P1, Priority.P2, Priority.P3][index % 3],
                reason="r",
            ),
            now,
        ),
        "tick": lambda: run_deadlines_until(state, now),
    }
    actions[command]()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(COMMANDS, st.integers(min_value=0, max_value=3 * 24 * 60)), max_size=25))
def test_any_command_sequence_keeps_the_log_contiguous_and_refusals_change_nothing(
    steps: list[tuple[str, int]],
) -> None:
    state = registered(bogota(2026, 11, 18, 9, 0))
    now = state.updated_at
    for index, (command, minutes) in enumerate(steps):
        now += timedelta(minutes=minutes)
        before = state.model_dump()
        try:
            _apply(state, command, now, index)
        except CommandRefused:
            assert state.model_dump() == before
    run_deadlines_until(state, now + timedelta(days=30))
    events = state.pending_events
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.at for e in events] == sorted(e.at for e in events)
    ids = [n.id for n in state.outbox]
    assert len(ids) == len(set(ids))
    assert state.status is Status.CLOSED or is_open(state)


def test_a_clone_is_the_whole_state_and_shares_nothing_mutable() -> None:
    day = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    walk = Walk.open(5, day).request_info(day + timedelta(hours=1))
    walk.client_reply(day + timedelta(hours=2)).resolve(day + timedelta(hours=3))
    walk.reopen(day + timedelta(hours=4)).resolve(day + timedelta(hours=5))
    walk.rate(day + timedelta(hours=6), 4)
    state = walk.state
    assert state.pauses and state.pending_events and state.outbox and state.rating
    copy = state.clone()
    assert copy == state.model_copy(deep=True)
    assert copy.model_dump_json() == state.model_dump_json()
    before = state.model_dump_json()
    copy.pending_events[0].data["x"] = 1
    copy.outbox[0].to.append("otro@x.co")
    copy.pauses.clear()
    copy.seen_message_ids.append("m-nuevo")
    assert state.model_dump_json() == before
