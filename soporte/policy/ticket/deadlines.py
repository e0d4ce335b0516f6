"""Deadlines: the next instant the workflow must wake for, and what happens when it comes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from soporte.policy import ResolutionKind, Status, Visibility
from soporte.policy.names import MailTemplate
from soporte.policy.ticket.advisory import _notify_booking_link, _slot_data
from soporte.policy.ticket.journal import _log, _notify, _set_status
from soporte.policy.ticket.sla_clock import _flags, _met_at, sla_instants
from soporte.policy.ticket.state import (
    _ACTION_ORDER,
    _BREACH,
    _SLA_ACTIONS,
    _WARNING,
    SLA_RECIPIENTS,
    SYSTEM,
    Deadline,
    DeadlineAction,
    FlowEvent,
    Target,
    TicketState,
    client_recipients,
    has_sla_clock,
    is_awaiting_booking,
    is_open,
    is_waiting,
    iso,
    utc,
)
from soporte.policy.ticket.support import _resolve_without_reply
from soporte.policy.tickets import EventType


def next_deadline(state: TicketState, now: datetime) -> Deadline | None:
    """The earliest instant at which the ticket must act on its own, and what it does.

    An instant already passed is returned as is: the caller acts at once. A warning whose
    breach has also passed by `now` is folded into the breach (one notice, not two).
    """
    candidates = [*_sla_deadlines(state, utc(now)), *_waiting_deadlines(state)]
    if state.status is Status.RESOLVED and state.reopen_until is not None:
        candidates.append(Deadline(state.reopen_until, DeadlineAction.CLOSE))
    if state.slot_reminder_at is not None and is_open(state):
        candidates.append(Deadline(state.slot_reminder_at, DeadlineAction.SLOT_REMINDER))
    if not candidates:
        return None
    return min(candidates, key=lambda d: (d.at, _ACTION_ORDER[d.action]))


def _sla_deadlines(state: TicketState, now: datetime) -> Iterator[Deadline]:
    """Warnings and breaches not fired yet whose target was not met before their instant.

    Comparing with the instant the target was met (not with "is it met now") keeps a
    breach that a busy or restarted worker handles late, after a reply that came later.
    """
    if state.sla_started_at is None or not has_sla_clock(state):
        return
    if state.first_response_flags.breached and state.resolution_flags.breached:
        return
    instants = sla_instants(state)
    for target in Target:
        flags, met_at = _flags(state, target), _met_at(state, target)
        warning, due = instants.warning(target), instants.due(target)

        due_missed = due is not None and (met_at is None or met_at > due)
        breach_pending = not flags.breached and due_missed
        if (
            not flags.warned
            and warning is not None
            and (met_at is None or met_at > warning)
            and not (breach_pending and due is not None and due <= now)
        ):
            yield Deadline(warning, _WARNING[target])
        elif breach_pending and due is not None:
            yield Deadline(due, _BREACH[target])


def _waiting_deadlines(state: TicketState) -> Iterator[Deadline]:
    if not is_waiting(state) or state.waiting_since is None:
        return
    policy = state.input.policy
    reminder_index = state.waiting_attempts - 1
    if 0 <= reminder_index < len(policy.reminder_offsets):
        yield Deadline(
            state.waiting_since + policy.reminder_offsets[reminder_index], DeadlineAction.REMINDER
        )
    yield Deadline(state.waiting_since + policy.abandon_after, DeadlineAction.NO_REPLY_RESOLUTION)


def apply_deadline(state: TicketState, deadline: Deadline) -> int:
    """Act on a deadline returned by next_deadline; events carry the deadline's instant."""
    at, action = deadline
    state.deadlines_applied += 1
    if action is DeadlineAction.CLOSE:
        _close(state, at)
    elif action is DeadlineAction.NO_REPLY_RESOLUTION:
        _resolve_without_reply(state, at, ResolutionKind.NO_CLIENT_REPLY, SYSTEM, {})
    elif action is DeadlineAction.REMINDER:
        _send_reminder(state, at)
    elif action is DeadlineAction.SLOT_REMINDER:
        _send_slot_reminder(state, at)
    else:
        target, breach = _SLA_ACTIONS[action]
        _fire_sla(state, at, target, breach=breach)
    return state.last_seq


def deadline_cause(state: TicketState, deadline: Deadline) -> str:
    """The cause that names the mail a deadline sends (TicketState.cause): which firing of
    a deadline this is, not the instant it falls at. Signals and commands taken first in a
    retried task (which may move the instant) do not rename it; a deadline that fires
    again (a warning after a priority change cleared its flag, a reminder of another wait)
    is another firing, so another mail."""
    return f"{deadline.action.value} {state.deadlines_applied + 1}"


def _fire_sla(state: TicketState, at: datetime, target: Target, *, breach: bool) -> None:
    flags = _flags(state, target)
    flags.warned = True
    flags.breached = flags.breached or breach
    data: dict[str, object] = {
        "target": target.value,
        "due": iso(sla_instants(state).due(target)),
    }
    if not breach:  # the warning mail says how much of the target is used
        data["percent"] = round(state.input.policy.warning_ratio * 100)
    event_type = EventType.SLA_BREACH if breach else EventType.SLA_WARNING
    _log(state, at, event_type, visibility=Visibility.INTERNAL, data=data)
    template = MailTemplate.SLA_BREACH if breach else MailTemplate.SLA_WARNING
    _notify(state, at, template, SLA_RECIPIENTS, data, to_client=False)


def _send_reminder(state: TicketState, at: datetime) -> None:
    """Attempts 2-4; an unbooked advisory's reminder carries its booking link again."""
    state.waiting_attempts += 1
    data: dict[str, object] = {
        "attempt": state.waiting_attempts,
        "requested_at": iso(state.waiting_since),
    }
    _log(state, at, EventType.REMINDER_SENT, data=data)
    if is_awaiting_booking(state):
        _notify_booking_link(state, at, state.waiting_attempts)
        return
    _notify(state, at, MailTemplate.REMINDER, client_recipients(state), data, to_client=True)


def _send_slot_reminder(state: TicketState, at: datetime) -> None:
    state.slot_reminder_at = None
    data = _slot_data(state)
    _log(state, at, FlowEvent.SLOT_REMINDER_SENT, data=data)
    _notify(
        state, at, MailTemplate.ADVISORY_REMINDER, client_recipients(state), data, to_client=True
    )
    _notify(state, at, MailTemplate.ADVISORY_REMINDER, ["@assignee"], data, to_client=False)


def _close(state: TicketState, at: datetime) -> None:
    _log(state, at, EventType.CLOSED)
    _set_status(state, at, Status.CLOSED)
    _notify(state, at, MailTemplate.CLOSED, client_recipients(state), to_client=True)
