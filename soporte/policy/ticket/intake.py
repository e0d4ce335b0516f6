"""Registration and client messages: assignment, the acknowledgement, a client's message."""

from __future__ import annotations

from datetime import datetime

from soporte.policy import Status, Visibility
from soporte.policy.calendar import BusinessCalendar
from soporte.policy.names import MailTemplate
from soporte.policy.ticket.journal import _log, _notify, _set_status
from soporte.policy.ticket.sla_clock import _start_clock
from soporte.policy.ticket.state import (
    SYSTEM,
    TicketState,
    client_recipients,
    has_sla_clock,
    is_open,
    is_waiting,
    utc,
    working_status,
)
from soporte.policy.tickets import ClientMessage, EventType


def is_business_time(state: TicketState, at: datetime) -> bool:
    """Inside the business hours of POLICY §VII (the P1 line answers outside them)."""
    return BusinessCalendar(state.input.holidays).is_open(utc(at))


def needs_auto_assignment(state: TicketState) -> bool:
    return not state.registration_done and state.input.policy.auto_assign and state.assignee is None


def auto_assign(state: TicketState, engineer: str | None, now: datetime) -> int:
    """The result of the pick_assignee activity at registration (None: nobody available)."""
    if state.assignee is not None:
        return state.last_seq
    if engineer is None:
        _log(
            state,
            now,
            EventType.ASSIGNED,
            visibility=Visibility.INTERNAL,
            body="sin ingeniero disponible",
            data={"engineer": None, "previous": None},
        )
        return state.last_seq
    _assign(state, engineer, SYSTEM, now)
    return state.last_seq


def acknowledge(state: TicketState, now: datetime) -> int:
    """Tell the reporter and the contacts to inform that the ticket exists (POLICY §V)."""
    if state.registration_done:
        return state.last_seq
    data: dict[str, object] = {
        "missing_info": list(state.input.missing_info),
        "outside_business_hours": not is_business_time(state, state.input.registered_at),
    }
    if state.input.refused_attachments:
        data["refused_attachments"] = list(state.input.refused_attachments)
    _notify(
        state,
        now,
        MailTemplate.ACKNOWLEDGEMENT,
        client_recipients(state),
        data,
        to_client=True,
        event_type=EventType.ACKNOWLEDGED,
    )
    _ack_first(state)
    state.registration_done = True
    return state.last_seq


def _ack_first(state: TicketState) -> None:
    """The acknowledgement (just queued, last) goes out before anything queued while the
    ticket was being registered (an engineer's quick reply, say): first in the outbox."""
    state.outbox.insert(0, state.outbox.pop())


# --- Client messages (a signal: never refused) -------------------------------------------


def client_message(state: TicketState, message: ClientMessage, now: datetime) -> int | None:
    """Log a client message once (by message_id); it ends any wait on the client.

    Returns the seq of the last event, or None for a duplicate.
    """
    if message.message_id in state.seen_message_ids:
        return None
    state.seen_message_ids.append(message.message_id)
    if not message.verified:
        return _unverified_message(state, message, now)
    _log(
        state,
        now,
        EventType.CLIENT_MESSAGE,
        actor=message.author_email,
        channel=message.channel,
        body=message.body,
        data={
            "message_id": message.message_id,
            "email_message_id": message.email_message_id,
            "attachments": [a.model_dump() for a in message.attachments],
            **_refused(message.refused_attachments),
        },
    )
    if is_waiting(state):
        _end_wait(state, now, actor=message.author_email)
    if is_open(state) or state.status is Status.RESOLVED:
        _notify(
            state,
            now,
            MailTemplate.CLIENT_MESSAGE,
            ["@assignee"],
            {"author": message.author_email, "body": message.body},
            to_client=False,
        )
    if message.refused_attachments:
        _notify(
            state,
            now,
            MailTemplate.ATTACHMENTS_REFUSED,
            [message.author_email],
            {"refused_attachments": list(message.refused_attachments)},
            to_client=True,
            in_reply_to=message.email_message_id,
        )
    return state.last_seq


def _unverified_message(state: TicketState, message: ClientMessage, now: datetime) -> int:
    """A message in a contact's name that nothing proves is theirs (POLICY.md "Who sees
    what"): kept in the log for staff only; it ends no wait, reopens nothing, mails no one."""
    _log(
        state,
        now,
        EventType.UNVERIFIED_MESSAGE,
        actor=message.author_email,
        channel=message.channel,
        visibility=Visibility.INTERNAL,
        body=message.body,
        data={
            "message_id": message.message_id,
            "email_message_id": message.email_message_id,
            "claimed_author": message.author_email,
            "attachments": [a.model_dump() for a in message.attachments],
            **_refused(message.refused_attachments),
        },
    )
    return state.last_seq


def _refused(refused_attachments: list[str]) -> dict[str, object]:
    """The log line names the attachments not kept, when there were any."""
    return {"refused_attachments": list(refused_attachments)} if refused_attachments else {}


def _end_wait(state: TicketState, now: datetime, actor: str) -> None:
    _resume_clock(state, now, log=True)
    state.waiting_since = None
    state.waiting_attempts = 0
    _set_status(state, now, working_status(state), actor)


def _resume_clock(state: TicketState, now: datetime, *, log: bool) -> None:
    for pause in state.pauses:
        if pause.resumed_at is None:
            pause.resumed_at = max(utc(now), pause.paused_at)
            if log:
                _log(state, now, EventType.SLA_RESUMED, visibility=Visibility.INTERNAL)


def _assign(state: TicketState, engineer: str, actor: str, now: datetime) -> None:
    previous = state.assignee
    state.assignee = engineer
    _log(
        state,
        now,
        EventType.ASSIGNED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        data={"engineer": engineer, "previous": previous},
    )
    if has_sla_clock(state) and state.sla_started_at is None:
        _start_clock(state, now)
    _notify(state, now, MailTemplate.ASSIGNED, [engineer], {"engineer": engineer}, to_client=False)
