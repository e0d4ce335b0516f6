"""Advisories: the booking link, booking a slot and the session done (POLICY §VI.e)."""

from __future__ import annotations

from datetime import datetime

from soporte.policy import Kind, ResolutionKind, Status, slots
from soporte.policy.calendar import BusinessCalendar
from soporte.policy.names import MailTemplate
from soporte.policy.ticket.journal import _log, _notify, _set_status
from soporte.policy.ticket.requirement import ADVISORY_DONE_TEXT
from soporte.policy.ticket.state import (
    CommandRefused,
    FlowEvent,
    TicketState,
    client_recipients,
    iso,
    utc,
)
from soporte.policy.ticket.support import _require_text, _resolve
from soporte.policy.tickets import AdvisoryDoneCommand, BookingCommand


def needs_booking_link(state: TicketState) -> bool:
    return (
        state.input.kind is Kind.ADVISORY
        and state.status is Status.SCHEDULING
        and not state.booking_link_sent
    )


def send_booking_link(state: TicketState, now: datetime) -> int:
    """At registration: the link to book a slot, attempt 1 of waiting on the client, so
    reminders and the resolution without reply follow while it is never booked."""
    if not needs_booking_link(state):
        return state.last_seq
    state.booking_link_sent = True
    state.waiting_since = utc(now)
    state.waiting_attempts = 1
    _log(state, now, FlowEvent.BOOKING_LINK_SENT, data={"attempt": 1})
    _notify_booking_link(state, now, 1)
    return state.last_seq


def _notify_booking_link(state: TicketState, now: datetime, attempt: int) -> None:
    abandon_at = None
    if state.waiting_since is not None:
        abandon_at = iso(state.waiting_since + state.input.policy.abandon_after)
    _notify(
        state,
        now,
        MailTemplate.BOOKING_LINK,
        client_recipients(state),
        {
            "attempt": attempt,
            "abandon_at": abandon_at,
        },
        to_client=True,
    )


def _calendar(state: TicketState) -> BusinessCalendar:
    return BusinessCalendar(state.input.holidays)


def _slot_data(state: TicketState) -> dict[str, object]:
    start = state.booked_slot
    end = None if start is None else start + state.input.policy.advisory_slot_length
    return {"booked_slot": iso(start), "slot_end": iso(end)}


def check_book(state: TicketState, command: BookingCommand, now: datetime) -> None:
    """Only an advisory being scheduled, or already scheduled (rebooking moves the session),
    and only a start validate_booking accepts; the ticket's own slot is never in its way."""
    if state.input.kind is not Kind.ADVISORY:
        raise CommandRefused(
            f"ticket #{state.input.number} is a {state.input.kind.value}: "
            "only an advisory books a slot"
        )
    if state.status not in (Status.SCHEDULING, Status.SCHEDULED):
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}: a slot is booked while "
            "the advisory is scheduling (or scheduled, to move it)"
        )
    _require_text(command.actor_email, "actor_email")
    if state.booked_slot is not None and command.start == state.booked_slot:
        raise CommandRefused(
            f"ticket #{state.input.number} is already booked for {iso(state.booked_slot)}"
        )
    if any(t.tzinfo is None or t.utcoffset() is None for t in command.taken):
        raise CommandRefused("taken: every start needs a timezone", "InvalidInput")
    policy = state.input.policy
    taken = [t for t in command.taken if state.booked_slot is None or t != state.booked_slot]
    problem = slots.validate_booking(
        _calendar(state),
        utc(now),
        command.start,
        policy.advisory_horizon,
        policy.advisory_slot_length,
        taken,
    )
    if problem is not None:
        raise CommandRefused(str(problem), "InvalidInput", problem)


def book(state: TicketState, command: BookingCommand, now: datetime) -> int:
    """Scheduled for the slot: the wait for a booking ends, both sides get the confirmation
    and a reminder is due one business day before (none when that has passed already)."""
    check_book(state, command, now)
    at = max(utc(now), state.updated_at)
    previous = state.booked_slot
    start = utc(command.start)
    state.booked_slot = start
    state.waiting_since = None
    state.waiting_attempts = 0
    reminder = slots.reminder_at(_calendar(state), start)
    state.slot_reminder_at = reminder if reminder > at else None
    data: dict[str, object] = {
        **_slot_data(state),
        "previous_slot": iso(previous),
        "reminder_at": iso(state.slot_reminder_at),
    }
    _log(state, at, FlowEvent.SLOT_BOOKED, actor=command.actor_email, data=data)
    _set_status(state, at, Status.SCHEDULED, command.actor_email)
    _notify(
        state, at, MailTemplate.BOOKING_CONFIRMED, client_recipients(state), data, to_client=True
    )
    _notify(state, at, MailTemplate.BOOKING_CONFIRMED, ["@assignee"], data, to_client=False)
    return state.last_seq


def check_advisory_done(state: TicketState, command: AdvisoryDoneCommand, now: datetime) -> None:
    """The update's validator: a scheduled advisory, once its booked session has started."""
    _check_can_be_done(state)
    if state.booked_slot is not None and utc(now) < state.booked_slot:
        raise CommandRefused(
            f"ticket #{state.input.number}'s session starts at {iso(state.booked_slot)}: "
            "it can be marked done once it has started"
        )


def _check_can_be_done(state: TicketState) -> None:
    if state.input.kind is not Kind.ADVISORY:
        raise CommandRefused(
            f"ticket #{state.input.number} is a {state.input.kind.value}: "
            "only an advisory is marked done"
        )
    if state.status is not Status.SCHEDULED:
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}: only a scheduled "
            "advisory (a booked session) can be marked done"
        )


def advisory_done(state: TicketState, command: AdvisoryDoneCommand, now: datetime) -> int:
    """The session was held: resolved (kind advice), the client told.

    The start-time rule lives in the validator only: validators do not run on replay, and a
    ticket marked done early on older code must replay as it ran."""
    _check_can_be_done(state)
    body = command.body.strip() or ADVISORY_DONE_TEXT
    _resolve(state, now, ResolutionKind.ADVICE, body, command.actor_email, _slot_data(state))
    _notify(
        state,
        now,
        MailTemplate.ADVISORY_DONE,
        client_recipients(state),
        {
            "resolution_kind": ResolutionKind.ADVICE.value,
            "body": body,
            "reopen_until": iso(state.reopen_until),
            **_slot_data(state),
        },
        to_client=True,
    )
    _notify(state, now, MailTemplate.RATING_INVITATION, client_recipients(state), to_client=True)
    return state.last_seq
