"""The log and the outbox: events and notifications appended to the state, and status changes."""

from __future__ import annotations

import hashlib
from datetime import datetime

from soporte.policy import Channel, Status, Visibility
from soporte.policy.names import MailTemplate
from soporte.policy.ticket.sla_clock import sla_instants
from soporte.policy.ticket.state import SYSTEM, FlowEvent, TicketState, iso, utc
from soporte.policy.tickets import EventType, LogEvent, Notification


def _log(
    state: TicketState,
    now: datetime,
    event_type: EventType | FlowEvent,
    *,
    actor: str = SYSTEM,
    body: str = "",
    visibility: Visibility = Visibility.PUBLIC,
    channel: Channel | None = None,
    data: dict[str, object] | None = None,
) -> LogEvent:
    """Append one log line; instants never go backwards, seq never repeats."""
    at = max(utc(now), state.updated_at)
    state.last_seq += 1
    event = LogEvent(
        number=state.input.number,
        seq=state.last_seq,
        at=at,
        type=event_type.value,
        actor=actor,
        channel=channel,
        visibility=visibility,
        body=body,
        data=data or {},
    )
    state.pending_events.append(event)
    state.updated_at = at
    return event


def _notify(
    state: TicketState,
    now: datetime,
    template: MailTemplate,
    to: list[str],
    data: dict[str, object] | None = None,
    *,
    to_client: bool,
    event_type: EventType | FlowEvent = EventType.NOTIFICATION,
    in_reply_to: str | None = None,
) -> LogEvent:
    """Log a notification and queue it; its id (notification_id) makes sends idempotent.

    Mail to the client threads under the message that opened the ticket, or `in_reply_to`;
    mail to staff is marked `audience: staff` (rendered in staff wording)."""
    number = state.input.number
    notification_id = _notification_id(state, template, to)
    event = _log(
        state,
        now,
        event_type,
        visibility=Visibility.PUBLIC if to_client else Visibility.INTERNAL,
        data={"template": template.value, "to": list(to), "notification_id": notification_id},
    )
    state.outbox.append(
        Notification(
            id=notification_id,
            number=number,
            template=template,
            to=list(to),
            data={**_ticket_summary(state), **_audience(to_client), **(data or {})},
            in_reply_to=(in_reply_to or state.input.source_message_id) if to_client else None,
        )
    )
    return event


def _notification_id(state: TicketState, template: MailTemplate, to: list[str]) -> str:
    """`<number>-<seq>-<template>`, or with a cause `<number>-<digest>-<template>`: the
    digest of (cause, template, recipients) names the same mail the same however the log
    around it is numbered, so a workflow task retried after it sent the mail (which may
    number the log otherwise: signals go first in a task) does not send it again."""
    number = state.input.number
    if state.cause is None:
        return f"{number}-{state.last_seq + 1}-{template}"
    owed = {n.id for n in state.outbox}
    occurrence = 1  # the same mail twice in one step is two mails
    while (named := _named(number, state.cause, template, to, occurrence)) in owed:
        occurrence += 1
    return named


def _named(number: int, cause: str, template: MailTemplate, to: list[str], k: int) -> str:
    key = "\n".join([cause, template.value, *to, str(k)]).encode()
    return f"{number}-c{hashlib.blake2s(key, digest_size=8).hexdigest()}-{template}"


def _audience(to_client: bool) -> dict[str, object]:
    return {} if to_client else {"audience": "staff"}


def _ticket_summary(state: TicketState) -> dict[str, object]:
    instants = sla_instants(state)
    # Until when the client may ask to reopen (POLICY §VIII.c): every mail after a resolution.
    reopen = {"reopen_until": iso(state.reopen_until)} if state.reopen_until else {}
    written_to = state.input.support_address
    return {
        **reopen,
        **({"support_address": written_to} if written_to else {}),
        "number": state.input.number,
        "subject": state.input.subject,
        "client_name": state.input.client_name,
        "kind": state.input.kind.value,
        "priority": state.priority.value,
        "status": state.status.value,
        "assignee": state.assignee,
        "first_response_due": iso(instants.first_response_due),
        "resolution_due": iso(instants.resolution_due),
    }


def _set_status(state: TicketState, now: datetime, status: Status, actor: str = SYSTEM) -> None:
    if state.status is status:
        return
    previous = state.status
    state.status = status
    _log(
        state,
        now,
        EventType.STATUS_CHANGED,
        actor=actor,
        data={"from": previous.value, "to": status.value},
    )


def mark_projected(state: TicketState, up_to_seq: int) -> None:
    """The projection activity stored every event up to this seq."""
    state.pending_events = [e for e in state.pending_events if e.seq > up_to_seq]
    state.projected_seq = max(state.projected_seq, up_to_seq)


def mark_delivered(state: TicketState, notification_id: str) -> None:
    state.outbox = [n for n in state.outbox if n.id != notification_id]
