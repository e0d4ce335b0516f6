"""A ticket's whole lifecycle as one state object and pure transitions (POLICY.md).

No I/O and no clock: every transition takes `now`, so the Temporal workflow
(workflows/ticket.py) replays it exactly and tests call it directly. The workflow owns one
TicketState; its handlers and its deadline loop apply the transitions below, which append
log events (numbered by `seq`) and notifications to the state; the workflow then projects
the events and delivers the notifications by activities.

Commands come in pairs: `check_<command>(state, command, now)` raises CommandRefused and
changes nothing; `<command>(state, command, now)` checks again, then applies the change and
returns the seq of the last event it logged.

The API renders a just-started ticket with `view(TicketState.initial(input))`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, Field

from soporte.policy import (
    NO_CLIENT_REPLY_TEXT,
    SUPPORT_PRIORITIES,
    Channel,
    Kind,
    Priority,
    ResolutionKind,
    Status,
    Visibility,
    sla,
    slots,
)
from soporte.policy.calendar import BusinessCalendar, Pause
from soporte.policy.committee import CommitteeDecisionSignal, DecisionKind
from soporte.policy.incidents import (
    INCIDENT_LINKED_SIGNAL,
    INCIDENT_PRIORITY_SIGNAL,
    INCIDENT_RESOLVED_SIGNAL,
    IncidentLinkedSignal,
    IncidentPrioritySignal,
    IncidentResolvedSignal,
)
from soporte.policy.tickets import (
    AbandonCommand,
    AdvisoryDoneCommand,
    AssignCommand,
    AttachmentRef,
    BookingCommand,
    ClientMessage,
    DeliverCommand,
    EngineerMessage,
    EventType,
    LogEvent,
    Notification,
    PriorityCommand,
    RatingCommand,
    RatingView,
    ReopenCommand,
    RequestInfoCommand,
    ResolutionView,
    ResolveCommand,
    SlaView,
    TicketInput,
    TicketView,
)

SYSTEM = "system"
SLA_RECIPIENTS = ["@assignee", "@supervisors"]
ENGINEER_RESOLUTION_KINDS = (
    ResolutionKind.SOLUTION,
    ResolutionKind.INSTRUCTIONS,
    ResolutionKind.ADVICE,
)
# POLICY §VIII.b: an engineer may abandon at once after this many unanswered attempts
# (the request plus every reminder), capped by how many attempts the policy makes.
ABANDON_AFTER_ATTEMPTS = 4
OPEN_STATUSES = frozenset(
    {
        Status.OPEN,
        Status.IN_PROGRESS,
        Status.WAITING_ON_CLIENT,
        Status.PENDING_COMMITTEE,
        Status.PLANNED,
        Status.SCHEDULING,
        Status.SCHEDULED,
    }
)


class CommandRefused(Exception):
    """A command that is impossible in the ticket's current state; nothing changed.

    `reason` is a short machine word (the workflow's ApplicationError type):
    InvalidState, InvalidInput or ReopenWindowEnded.
    """

    def __init__(self, message: str, reason: str = "InvalidState") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class DeadlineAction(StrEnum):
    """What the deadline loop does at an instant; ties run in this order."""

    CLOSE = "close"
    NO_REPLY_RESOLUTION = "no_reply_resolution"
    REMINDER = "reminder"
    FIRST_RESPONSE_BREACH = "first_response_breach"
    FIRST_RESPONSE_WARNING = "first_response_warning"
    RESOLUTION_BREACH = "resolution_breach"
    RESOLUTION_WARNING = "resolution_warning"
    # An advisory's booked session is tomorrow (one business day before its start).
    SLOT_REMINDER = "slot_reminder"


class FlowEvent(StrEnum):
    """Log line types of the requirement, advisory and incident flows; plain strings in the
    log like EventType's (soporte.policy.tickets)."""

    COMMITTEE_DECISION = "committee_decision"
    BOOKING_LINK_SENT = "booking_link_sent"
    SLOT_BOOKED = "slot_booked"
    SLOT_REMINDER_SENT = "slot_reminder_sent"
    INCIDENT_LINKED = "incident_linked"


_ACTION_ORDER = {action: index for index, action in enumerate(DeadlineAction)}
_WARNING = {
    Target.FIRST_RESPONSE: DeadlineAction.FIRST_RESPONSE_WARNING,
    Target.RESOLUTION: DeadlineAction.RESOLUTION_WARNING,
}
_BREACH = {
    Target.FIRST_RESPONSE: DeadlineAction.FIRST_RESPONSE_BREACH,
    Target.RESOLUTION: DeadlineAction.RESOLUTION_BREACH,
}
# action -> (target, is_breach)
_SLA_ACTIONS = {
    **{action: (target, False) for target, action in _WARNING.items()},
    **{action: (target, True) for target, action in _BREACH.items()},
}


class Deadline(NamedTuple):
    at: datetime
    action: DeadlineAction


class PauseSpan(BaseModel):
    """The SLA clock stopped while waiting on the client; resumed_at None while it waits."""

    paused_at: datetime
    resumed_at: datetime | None = None


class SlaFlags(BaseModel):
    warned: bool = False
    breached: bool = False


class SlaInstants(NamedTuple):
    first_response_warning: datetime | None = None
    first_response_due: datetime | None = None
    resolution_warning: datetime | None = None
    resolution_due: datetime | None = None

    def warning(self, target: Target) -> datetime | None:
        if target is Target.FIRST_RESPONSE:
            return self.first_response_warning
        return self.resolution_warning

    def due(self, target: Target) -> datetime | None:
        if target is Target.FIRST_RESPONSE:
            return self.first_response_due
        return self.resolution_due


class TicketState(BaseModel):
    """Everything a ticket workflow knows; passed whole to continue-as-new."""

    input: TicketInput
    status: Status
    priority: Priority
    assignee: str | None = None
    registration_done: bool = False
    # The SLA clock: first response counts from sla_started_at, resolution from
    # resolution_counted_from (the same instant, or the last reopening).
    sla_started_at: datetime | None = None
    resolution_counted_from: datetime | None = None
    first_responded_at: datetime | None = None
    pauses: list[PauseSpan] = Field(default_factory=list)
    first_response_flags: SlaFlags = Field(default_factory=SlaFlags)
    resolution_flags: SlaFlags = Field(default_factory=SlaFlags)
    waiting_since: datetime | None = None
    waiting_attempts: int = 0
    resolution: ResolutionView | None = None
    reopen_until: datetime | None = None
    rating: RatingView | None = None
    seen_message_ids: list[str] = Field(default_factory=list)
    # Requirements: the committee's estimated delivery once accepted; the decisions already
    # applied, as "<session_id>:<decision>" (a repeated signal is applied once).
    estimated_delivery: date | None = None
    committee_decisions_seen: list[str] = Field(default_factory=list)
    # Advisories: the booking link went out at registration; the booked slot's start and the
    # instant of its reminder (None once sent, or when it had passed at booking).
    booking_link_sent: bool = False
    booked_slot: datetime | None = None
    slot_reminder_at: datetime | None = None
    # Incidents: the incident the ticket is linked to; its signals already applied, as
    # "<signal>:<incident_id>".
    incident_id: str | None = None
    incident_signals_seen: list[str] = Field(default_factory=list)
    updated_at: datetime
    # The log: last_seq numbers events; pending_events are not yet projected.
    last_seq: int = 0
    projected_seq: int = 0
    pending_events: list[LogEvent] = Field(default_factory=list)
    # Notifications not yet delivered.
    outbox: list[Notification] = Field(default_factory=list)

    @classmethod
    def initial(cls, ticket: TicketInput) -> TicketState:
        """The state of a just-registered ticket: its REGISTERED event, no assignee yet.

        With auto-assignment on, the SLA clock starts at registration: the ticket is
        assigned by the system at once (POLICY §VII), and a momentary lack of engineers
        must not stop the client's clock. Otherwise it starts at the first assignment.
        """
        registered_at = utc(ticket.registered_at)
        state = cls(
            input=ticket,
            status=initial_status(ticket.kind),
            priority=ticket.priority,
            updated_at=registered_at,
        )
        if has_sla_clock(state) and ticket.policy.auto_assign:
            _start_clock(state, registered_at)
        _log(
            state,
            registered_at,
            EventType.REGISTERED,
            actor=ticket.reporter_email,
            channel=ticket.channel,
            body=ticket.description,
            data={
                "subject": ticket.subject,
                "kind": ticket.kind.value,
                "category": ticket.category,
                "priority": ticket.priority.value,
                "system_priority": ticket.system_priority.value,
                "suggested_priority": _value(ticket.suggested_priority),
                "missing_info": list(ticket.missing_info),
            },
        )
        return state


# --- Small helpers ---------------------------------------------------------------------


def utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: a timezone is required")
    return instant.astimezone(UTC)


def iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).isoformat()


def _value(enum: StrEnum | None) -> str | None:
    return None if enum is None else enum.value


def initial_status(kind: Kind) -> Status:
    """Where each kind of ticket starts (committee and booking flows take it from there)."""
    return {
        Kind.SUPPORT: Status.OPEN,
        Kind.REQUIREMENT: Status.PENDING_COMMITTEE,
        Kind.ADVISORY: Status.SCHEDULING,
    }[kind]


def working_status(state: TicketState) -> Status:
    """The status a ticket returns to when work resumes (client reply, reopening).

    An accepted requirement stays planned and a booked advisory stays scheduled.
    """
    kind = state.input.kind
    if kind is Kind.SUPPORT:
        return Status.IN_PROGRESS
    if kind is Kind.REQUIREMENT and state.estimated_delivery is not None:
        return Status.PLANNED
    if kind is Kind.ADVISORY and state.booked_slot is not None:
        return Status.SCHEDULED
    return initial_status(kind)


def has_sla_clock(state: TicketState) -> bool:
    return state.input.kind is Kind.SUPPORT and state.priority.has_sla_clock


def client_recipients(state: TicketState) -> list[str]:
    """The reporter and the contacts to inform, each once."""
    seen: set[str] = set()
    recipients: list[str] = []
    for email in [state.input.reporter_email, *state.input.notify]:
        if email and email.lower() not in seen:
            seen.add(email.lower())
            recipients.append(email)
    return recipients


def is_waiting(state: TicketState) -> bool:
    """Waiting on the client: after a request for information, or an advisory whose booking
    link is unanswered (POLICY §VI.e: an advisory never booked follows the same rules)."""
    if state.status is Status.WAITING_ON_CLIENT:
        return True
    return is_awaiting_booking(state)


def is_awaiting_booking(state: TicketState) -> bool:
    return (
        state.input.kind is Kind.ADVISORY
        and state.status is Status.SCHEDULING
        and state.waiting_since is not None
    )


def is_paused(state: TicketState) -> bool:
    return any(pause.resumed_at is None for pause in state.pauses)


def is_open(state: TicketState) -> bool:
    return state.status in OPEN_STATUSES


def abandon_threshold(state: TicketState) -> int:
    return min(ABANDON_AFTER_ATTEMPTS, 1 + len(state.input.policy.reminder_offsets))


# --- The log and the outbox --------------------------------------------------------------


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
    template: str,
    to: list[str],
    data: dict[str, object] | None = None,
    *,
    to_client: bool,
    event_type: EventType | FlowEvent = EventType.NOTIFICATION,
    in_reply_to: str | None = None,
) -> LogEvent:
    """Log a notification and queue it; its id (number, seq, template) makes sends idempotent.

    Mail to the client threads under the message that opened the ticket, or `in_reply_to`."""
    number = state.input.number
    notification_id = f"{number}-{state.last_seq + 1}-{template}"
    event = _log(
        state,
        now,
        event_type,
        visibility=Visibility.PUBLIC if to_client else Visibility.INTERNAL,
        data={"template": template, "to": list(to), "notification_id": notification_id},
    )
    state.outbox.append(
        Notification(
            id=notification_id,
            number=number,
            template=template,
            to=list(to),
            data={**_ticket_summary(state), **(data or {})},
            in_reply_to=(in_reply_to or state.input.source_message_id) if to_client else None,
        )
    )
    return event


def _ticket_summary(state: TicketState) -> dict[str, object]:
    instants = sla_instants(state)
    return {
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


# --- The SLA clock -------------------------------------------------------------------------


def _start_clock(state: TicketState, now: datetime) -> None:
    state.sla_started_at = utc(now)
    state.resolution_counted_from = state.sla_started_at
    if state.status is Status.WAITING_ON_CLIENT:
        state.pauses.append(PauseSpan(paused_at=state.sla_started_at))


def _pauses_since(state: TicketState, start: datetime) -> list[Pause]:
    return [(p.paused_at, p.resumed_at) for p in state.pauses if p.paused_at >= start]


def sla_instants(state: TicketState) -> SlaInstants:
    """Warning and due instants of both targets; None where there is no clock or it is paused.

    Pauses that began once the first response was given (a request for information is
    one) do not move the first response's instants.
    """
    start = state.sla_started_at
    if not has_sla_clock(state) or start is None:
        return SlaInstants()
    resolution_start = state.resolution_counted_from or start
    responded = state.first_responded_at
    first_pauses = [
        pause for pause in _pauses_since(state, start) if responded is None or pause[0] < responded
    ]
    resolution_pauses = _pauses_since(state, resolution_start)
    first = _due_instants(state, start, first_pauses)
    if (resolution_start, resolution_pauses) == (start, first_pauses):
        second = first
    else:
        second = _due_instants(state, resolution_start, resolution_pauses)
    return SlaInstants(
        first_response_warning=first.first_response_warning,
        first_response_due=first.first_response_due,
        resolution_warning=second.resolution_warning,
        resolution_due=second.resolution_due,
    )


def _due_instants(state: TicketState, start: datetime, pauses: list[Pause]) -> sla.DueInstants:
    return sla.due_instants(
        state.priority,
        start,
        state.input.holidays,
        pauses,
        warning_ratio=state.input.policy.warning_ratio,
    )


def _flags(state: TicketState, target: Target) -> SlaFlags:
    if target is Target.FIRST_RESPONSE:
        return state.first_response_flags
    return state.resolution_flags


def _met_at(state: TicketState, target: Target) -> datetime | None:
    if target is Target.FIRST_RESPONSE:
        return state.first_responded_at
    return state.resolution.at if state.resolution is not None else None


def _reevaluate_flags(state: TicketState, now: datetime) -> None:
    """After the instants moved: a flag stays only if its new instant has passed.

    Instants that passed but are not flagged yet fire from the deadline loop at once.
    """
    instants = sla_instants(state)
    for target in Target:
        flags = _flags(state, target)
        warning, due = instants.warning(target), instants.due(target)
        flags.warned = flags.warned and warning is not None and warning <= now
        flags.breached = flags.breached and due is not None and due <= now


def _record_first_response(state: TicketState, now: datetime) -> None:
    if state.first_responded_at is None and has_sla_clock(state):
        state.first_responded_at = utc(now)


# --- Deadlines -----------------------------------------------------------------------------


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


def _fire_sla(state: TicketState, at: datetime, target: Target, *, breach: bool) -> None:
    flags = _flags(state, target)
    flags.warned = True
    flags.breached = flags.breached or breach
    data: dict[str, object] = {
        "target": target.value,
        "due": iso(sla_instants(state).due(target)),
    }
    event_type = EventType.SLA_BREACH if breach else EventType.SLA_WARNING
    _log(state, at, event_type, visibility=Visibility.INTERNAL, data=data)
    _notify(state, at, event_type.value, SLA_RECIPIENTS, data, to_client=False)


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
    _notify(state, at, "reminder", client_recipients(state), data, to_client=True)


def _send_slot_reminder(state: TicketState, at: datetime) -> None:
    state.slot_reminder_at = None
    data = _slot_data(state)
    _log(state, at, FlowEvent.SLOT_REMINDER_SENT, data=data)
    _notify(state, at, "advisory_reminder", client_recipients(state), data, to_client=True)
    _notify(state, at, "advisory_reminder", ["@assignee"], data, to_client=False)


def _close(state: TicketState, at: datetime) -> None:
    _log(state, at, EventType.CLOSED)
    _set_status(state, at, Status.CLOSED)
    _notify(state, at, "closed", client_recipients(state), to_client=True)


# --- Registration ----------------------------------------------------------------------------


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
    data: dict[str, object] = {"missing_info": list(state.input.missing_info)}
    if state.input.refused_attachments:
        data["refused_attachments"] = list(state.input.refused_attachments)
    _notify(
        state,
        now,
        "acknowledgement",
        client_recipients(state),
        data,
        to_client=True,
        event_type=EventType.ACKNOWLEDGED,
    )
    state.registration_done = True
    return state.last_seq


# --- Client messages (a signal: never refused) -------------------------------------------


def client_message(state: TicketState, message: ClientMessage, now: datetime) -> int | None:
    """Log a client message once (by message_id); it ends any wait on the client.

    Returns the seq of the last event, or None for a duplicate.
    """
    if message.message_id in state.seen_message_ids:
        return None
    state.seen_message_ids.append(message.message_id)
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
            "client_message",
            ["@assignee"],
            {"author": message.author_email, "body": message.body},
            to_client=False,
        )
    if message.refused_attachments:
        _notify(
            state,
            now,
            "attachments_refused",
            [message.author_email],
            {"refused_attachments": list(message.refused_attachments)},
            to_client=True,
            in_reply_to=message.email_message_id,
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


# --- Engineer commands (updates with validators) -------------------------------------------


def _require_open(state: TicketState, doing: str) -> None:
    if not is_open(state):
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}: cannot {doing}"
        )


def _require_text(text: str, field: str) -> None:
    if not text.strip():
        raise CommandRefused(f"{field} must not be empty", "InvalidInput")


def check_reply(state: TicketState, message: EngineerMessage, now: datetime) -> None:
    if state.status is Status.CLOSED:
        raise CommandRefused(f"ticket #{state.input.number} is closed: cannot add a message")
    _require_text(message.body, "body")


def reply(state: TicketState, message: EngineerMessage, now: datetime) -> int:
    """A public reply (to the client; the first one is the first response) or internal note."""
    check_reply(state, message, now)
    if message.visibility is Visibility.INTERNAL:
        _log(
            state,
            now,
            EventType.INTERNAL_NOTE,
            actor=message.author_email,
            visibility=Visibility.INTERNAL,
            body=message.body,
            data=_attachments(message.attachments),
        )
        return state.last_seq
    _log(
        state,
        now,
        EventType.ENGINEER_REPLY,
        actor=message.author_email,
        body=message.body,
        data=_attachments(message.attachments),
    )
    _record_first_response(state, now)
    if state.status is Status.OPEN:
        _set_status(state, now, Status.IN_PROGRESS, message.author_email)
    _notify(
        state,
        now,
        "engineer_reply",
        client_recipients(state),
        {"author": message.author_email, "body": message.body},
        to_client=True,
    )
    return state.last_seq


def _attachments(attachments: list[AttachmentRef]) -> dict[str, object]:
    return {"attachments": [a.model_dump() for a in attachments]} if attachments else {}


def check_assign(state: TicketState, command: AssignCommand, now: datetime) -> None:
    _require_open(state, "change the assignment")
    _require_text(command.engineer_email, "engineer_email")
    if (state.assignee or "").lower() == command.engineer_email.lower():
        raise CommandRefused(
            f"ticket #{state.input.number} is already assigned to {command.engineer_email}"
        )


def assign(state: TicketState, command: AssignCommand, now: datetime) -> int:
    check_assign(state, command, now)
    _assign(state, command.engineer_email, command.actor_email, now)
    return state.last_seq


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
    _notify(state, now, "assigned", [engineer], {"engineer": engineer}, to_client=False)


def check_change_priority(state: TicketState, command: PriorityCommand, now: datetime) -> None:
    _require_open(state, "change the priority")
    if state.input.kind is not Kind.SUPPORT:
        raise CommandRefused(
            f"ticket #{state.input.number} is a {state.input.kind.value}: "
            "only support tickets have a priority to change"
        )
    if command.priority not in SUPPORT_PRIORITIES:
        names = ", ".join(p.value for p in SUPPORT_PRIORITIES)
        raise CommandRefused(f"a support ticket's priority is one of {names}", "InvalidInput")
    _require_text(command.reason, "reason")
    if command.priority is state.priority:
        raise CommandRefused(f"ticket #{state.input.number} is already {state.priority.value}")


def change_priority(state: TicketState, command: PriorityCommand, now: datetime) -> int:
    """New priority: due instants recomputed from the SLA start, flags re-evaluated."""
    check_change_priority(state, command, now)
    data = _set_priority(state, now, command.priority, command.reason, command.actor_email, {})
    _notify(state, now, "priority_changed", client_recipients(state), data, to_client=True)
    return state.last_seq


def _set_priority(
    state: TicketState,
    now: datetime,
    priority: Priority,
    reason: str,
    actor: str,
    extra: dict[str, object],
) -> dict[str, object]:
    """Change the priority and log it; returns the logged data for the notifications."""
    previous = state.priority
    state.priority = priority
    _reevaluate_flags(state, utc(now))
    instants = sla_instants(state)
    data: dict[str, object] = {
        "from": previous.value,
        "to": priority.value,
        "reason": reason,
        "first_response_due": iso(instants.first_response_due),
        "resolution_due": iso(instants.resolution_due),
        **extra,
    }
    _log(state, now, EventType.PRIORITY_CHANGED, actor=actor, body=reason, data=data)
    return data


def check_request_info(state: TicketState, command: RequestInfoCommand, now: datetime) -> None:
    if state.status is Status.WAITING_ON_CLIENT:
        raise CommandRefused(
            f"ticket #{state.input.number} already waits on the client since "
            f"{iso(state.waiting_since)}; reminders go out on their own"
        )
    _require_open(state, "request information")
    _require_text(command.body, "body")


def request_info(state: TicketState, command: RequestInfoCommand, now: datetime) -> int:
    """Attempt 1 of waiting on the client: the SLA clock pauses (POLICY §VIII.b)."""
    check_request_info(state, command, now)
    _record_first_response(state, now)
    state.waiting_since = utc(now)
    state.waiting_attempts = 1
    data: dict[str, object] = {"attempt": 1}
    _log(
        state,
        now,
        EventType.INFO_REQUESTED,
        actor=command.actor_email,
        body=command.body,
        data=data,
    )
    if state.sla_started_at is not None and has_sla_clock(state):
        state.pauses.append(PauseSpan(paused_at=utc(now)))
        _log(state, now, EventType.SLA_PAUSED, visibility=Visibility.INTERNAL)
    _set_status(state, now, Status.WAITING_ON_CLIENT, command.actor_email)
    _notify(
        state,
        now,
        "request_info",
        client_recipients(state),
        {"body": command.body, "author": command.actor_email},
        to_client=True,
    )
    return state.last_seq


def check_resolve(state: TicketState, command: ResolveCommand, now: datetime) -> None:
    if state.status is Status.RESOLVED and state.resolution is not None:
        raise CommandRefused(
            f"ticket #{state.input.number} was already resolved at {iso(state.resolution.at)}"
        )
    _require_open(state, "resolve it")
    if command.kind not in ENGINEER_RESOLUTION_KINDS:
        names = ", ".join(k.value for k in ENGINEER_RESOLUTION_KINDS)
        raise CommandRefused(f"a resolution's kind is one of {names}", "InvalidInput")
    _require_text(command.body, "body")


def resolve(state: TicketState, command: ResolveCommand, now: datetime) -> int:
    check_resolve(state, command, now)
    _record_first_response(state, now)
    _resolve(state, now, command.kind, command.body, command.actor_email, {})
    _notify(
        state,
        now,
        "resolved",
        client_recipients(state),
        {"resolution_kind": command.kind.value, "body": command.body},
        to_client=True,
    )
    _notify(state, now, "rating_invitation", client_recipients(state), to_client=True)
    return state.last_seq


def _resolve(
    state: TicketState,
    now: datetime,
    kind: ResolutionKind,
    body: str,
    actor: str,
    data: dict[str, object],
) -> None:
    at = max(utc(now), state.updated_at)
    _resume_clock(state, at, log=False)
    state.waiting_since = None
    state.waiting_attempts = 0
    state.slot_reminder_at = None
    state.resolution = ResolutionView(kind=kind, body=body, at=at, by=actor)
    state.reopen_until = at + state.input.policy.reopen_window
    _log(
        state,
        at,
        EventType.RESOLVED,
        actor=actor,
        body=body,
        data={"kind": kind.value, "reopen_until": iso(state.reopen_until), **data},
    )
    _set_status(state, at, Status.RESOLVED, actor)


def _resolve_without_reply(
    state: TicketState,
    now: datetime,
    kind: ResolutionKind,
    actor: str,
    data: dict[str, object],
) -> None:
    _resolve(state, now, kind, NO_CLIENT_REPLY_TEXT, actor, data)
    _notify(
        state,
        now,
        "resolved_no_reply",
        client_recipients(state),
        {"resolution_kind": kind.value, "body": NO_CLIENT_REPLY_TEXT},
        to_client=True,
    )


def check_abandon(state: TicketState, command: AbandonCommand, now: datetime) -> None:
    if not is_waiting(state):
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}, not waiting on the "
            "client: only an unanswered ticket can be abandoned"
        )
    needed = abandon_threshold(state)
    if state.waiting_attempts < needed:
        raise CommandRefused(
            f"ticket #{state.input.number} has {state.waiting_attempts} unanswered "
            f"attempt(s); abandoning needs {needed}"
        )
    _require_text(command.reason, "reason")


def abandon(state: TicketState, command: AbandonCommand, now: datetime) -> int:
    check_abandon(state, command, now)
    _resolve_without_reply(
        state, now, ResolutionKind.ABANDONED, command.actor_email, {"reason": command.reason}
    )
    return state.last_seq


def reopen_window_ended_message(number: int, reopen_until: datetime, window: timedelta) -> str:
    """The refusal for a late reopen; the API says the same once the workflow is gone."""
    days = window.days if window.days and not window.seconds else None
    length = f"{days} days" if days else str(window)
    return (
        f"the reopen window of {length} ended on {iso(reopen_until)}; "
        f"open a new ticket that refers to #{number}"
    )


def check_reopen(state: TicketState, command: ReopenCommand, now: datetime) -> None:
    number = state.input.number
    if state.status is Status.CLOSED or (
        state.reopen_until is not None and utc(now) >= state.reopen_until
    ):
        until = state.reopen_until or state.updated_at
        raise CommandRefused(
            reopen_window_ended_message(number, until, state.input.policy.reopen_window),
            "ReopenWindowEnded",
        )
    if state.status is not Status.RESOLVED:
        raise CommandRefused(
            f"ticket #{number} is {state.status.value}, not resolved: there is nothing to reopen"
        )
    _require_text(command.reason, "reason")


def reopen(state: TicketState, command: ReopenCommand, now: datetime) -> int:
    """Back to work with a new resolution target counted from now (POLICY §VIII.c)."""
    check_reopen(state, command, now)
    at = max(utc(now), state.updated_at)
    previous = state.resolution
    state.resolution = None
    state.reopen_until = None
    state.rating = None
    # A reopened advisory books a new session (the last one is in the log).
    state.booked_slot = None
    if has_sla_clock(state) and state.sla_started_at is not None:
        state.resolution_counted_from = at
        state.resolution_flags = SlaFlags()
    _log(
        state,
        at,
        EventType.REOPENED,
        actor=command.actor_email,
        body=command.reason,
        data={"previous_resolution": previous.model_dump(mode="json") if previous else None},
    )
    _set_status(state, at, working_status(state), command.actor_email)
    data: dict[str, object] = {"reason": command.reason}
    _notify(state, at, "reopened", client_recipients(state), data, to_client=True)
    _notify(state, at, "reopened", ["@assignee"], data, to_client=False)
    return state.last_seq


def check_rate(state: TicketState, command: RatingCommand, now: datetime) -> None:
    if state.status is not Status.RESOLVED:
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}: "
            "a rating is given once the ticket is resolved"
        )
    if state.rating is not None:
        raise CommandRefused(f"ticket #{state.input.number} was already rated {state.rating.score}")
    if not 1 <= command.score <= 5:
        raise CommandRefused("score must be between 1 and 5", "InvalidInput")


def rate(state: TicketState, command: RatingCommand, now: datetime) -> int:
    check_rate(state, command, now)
    at = max(utc(now), state.updated_at)
    state.rating = RatingView(score=command.score, comment=command.comment, at=at)
    _log(
        state,
        at,
        EventType.RATED,
        actor=command.actor_email,
        body=command.comment,
        data={"score": command.score},
    )
    return state.last_seq


# --- Requirements: the weekly committee (POLICY §VI.d) --------------------------------------

DELIVERED_TEXT = "Requerimiento entregado."
REJECTED_TEXT = "Rechazado por el Comité Operativo."
ADVISORY_DONE_TEXT = "Sesión de asesoría realizada."


def _ignore_signal(
    state: TicketState, now: datetime, signal: str, why: str, data: dict[str, object]
) -> int:
    """A signal that does not apply here cannot be refused: one internal log line says why."""
    _log(
        state,
        now,
        EventType.INTERNAL_NOTE,
        visibility=Visibility.INTERNAL,
        body=f"{signal} ignorado: {why}",
        data={"signal": signal, "ignored": why, **data},
    )
    return state.last_seq


def committee_decision(
    state: TicketState, decision: CommitteeDecisionSignal, now: datetime
) -> int | None:
    """The committee decided this requirement (a signal: never refused).

    accept: planned with its estimated delivery; reject: resolved (kind rejected) with the
    reason, and the usual reopen window then closing; defer: stays pending_committee. Each
    (session, decision) is applied once; returns None for a repeat. Only a requirement that
    is pending_committee is decided; anything else is logged, internally, and ignored.
    """
    key = f"{decision.session_id}:{decision.decision.value}"
    if key in state.committee_decisions_seen:
        return None
    state.committee_decisions_seen.append(key)
    actor = decision.decided_by or SYSTEM
    data: dict[str, object] = {
        "decision": decision.decision.value,
        "session_id": decision.session_id,
        "estimated_delivery": _date(decision.estimated_delivery),
        "reason": decision.reason,
        "decided_at": iso(decision.decided_at),
    }
    if state.input.kind is not Kind.REQUIREMENT or state.status is not Status.PENDING_COMMITTEE:
        why = f"la solicitud es {state.input.kind.value} en estado {state.status.value}"
        return _ignore_signal(state, now, "committee_decision", why, data)
    reason = (decision.reason or "").strip()
    if decision.decision is DecisionKind.DEFER:
        _log(
            state,
            now,
            FlowEvent.COMMITTEE_DECISION,
            actor=actor,
            visibility=Visibility.INTERNAL,
            body=reason,
            data=data,
        )
        return state.last_seq
    _log(state, now, FlowEvent.COMMITTEE_DECISION, actor=actor, body=reason, data=data)
    if decision.decision is DecisionKind.ACCEPT:
        state.estimated_delivery = decision.estimated_delivery
        _set_status(state, now, Status.PLANNED, actor)
        _notify(
            state,
            now,
            "committee_accepted",
            client_recipients(state),
            {
                "estimated_delivery": _date(decision.estimated_delivery),
                "session_id": decision.session_id,
                "reason": decision.reason,
            },
            to_client=True,
        )
        return state.last_seq
    body = reason or REJECTED_TEXT
    _resolve(
        state,
        now,
        ResolutionKind.REJECTED,
        body,
        actor,
        {"session_id": decision.session_id},
    )
    _notify(
        state,
        now,
        "committee_rejected",
        client_recipients(state),
        {
            "resolution_kind": ResolutionKind.REJECTED.value,
            "reason": body,
            "body": body,
            "session_id": decision.session_id,
            "reopen_until": iso(state.reopen_until),
        },
        to_client=True,
    )
    return state.last_seq


def _date(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def check_deliver(state: TicketState, command: DeliverCommand, now: datetime) -> None:
    if state.input.kind is not Kind.REQUIREMENT:
        raise CommandRefused(
            f"ticket #{state.input.number} is a {state.input.kind.value}: "
            "only a requirement is delivered"
        )
    if state.status is not Status.PLANNED:
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}: only a requirement the "
            "committee accepted (planned) can be delivered"
        )


def deliver(state: TicketState, command: DeliverCommand, now: datetime) -> int:
    """An accepted requirement was delivered: resolved (kind delivered), the client told."""
    check_deliver(state, command, now)
    body = command.body.strip() or DELIVERED_TEXT
    _resolve(state, now, ResolutionKind.DELIVERED, body, command.actor_email, {})
    _notify(
        state,
        now,
        "requirement_delivered",
        client_recipients(state),
        {
            "resolution_kind": ResolutionKind.DELIVERED.value,
            "body": body,
            "estimated_delivery": _date(state.estimated_delivery),
            "reopen_until": iso(state.reopen_until),
        },
        to_client=True,
    )
    _notify(state, now, "rating_invitation", client_recipients(state), to_client=True)
    return state.last_seq


# --- Advisories: booking a slot (POLICY §VI.e) -------------------------------------------------


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
    number = state.input.number
    abandon_at = None
    if state.waiting_since is not None:
        abandon_at = iso(state.waiting_since + state.input.policy.abandon_after)
    _notify(
        state,
        now,
        "booking_link",
        client_recipients(state),
        {
            "attempt": attempt,
            "abandon_at": abandon_at,
            "slots_path": f"/api/v1/tickets/{number}/slots",
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
        raise CommandRefused(problem, "InvalidInput")


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
    _notify(state, at, "booking_confirmed", client_recipients(state), data, to_client=True)
    _notify(state, at, "booking_confirmed", ["@assignee"], data, to_client=False)
    return state.last_seq


def check_advisory_done(state: TicketState, command: AdvisoryDoneCommand, now: datetime) -> None:
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
    """The session was held: resolved (kind advice), the client told."""
    check_advisory_done(state, command, now)
    body = command.body.strip() or ADVISORY_DONE_TEXT
    _resolve(state, now, ResolutionKind.ADVICE, body, command.actor_email, _slot_data(state))
    _notify(
        state,
        now,
        "advisory_done",
        client_recipients(state),
        {
            "resolution_kind": ResolutionKind.ADVICE.value,
            "body": body,
            "reopen_until": iso(state.reopen_until),
            **_slot_data(state),
        },
        to_client=True,
    )
    _notify(state, now, "rating_invitation", client_recipients(state), to_client=True)
    return state.last_seq


# --- Incidents (POLICY "Kinds and priorities") ---------------------------------------------


def incident_linked(state: TicketState, signal: IncidentLinkedSignal, now: datetime) -> int | None:
    """The ticket was linked to an incident: its view carries the id from now on, and an
    internal log line says so. Applied once per incident (None for a repeat)."""
    key = f"{INCIDENT_LINKED_SIGNAL}:{signal.incident_id}"
    if key in state.incident_signals_seen:
        return None
    state.incident_signals_seen.append(key)
    state.incident_id = signal.incident_id
    _log(
        state,
        now,
        FlowEvent.INCIDENT_LINKED,
        actor=signal.actor or SYSTEM,
        body=f"Vinculada al incidente {signal.incident_id}: {signal.title}",
        visibility=Visibility.INTERNAL,
        data={"incident_id": signal.incident_id},
    )
    return state.last_seq


def incident_priority(
    state: TicketState, signal: IncidentPrioritySignal, now: datetime
) -> int | None:
    """The incident spans several clients: this support ticket becomes P1, its due instants
    recomputed from the SLA start as for change_priority. Applied once per incident (None
    for a repeat); a ticket that is not an open support ticket only logs it."""
    key = f"{INCIDENT_PRIORITY_SIGNAL}:{signal.incident_id}"
    if key in state.incident_signals_seen:
        return None
    state.incident_signals_seen.append(key)
    state.incident_id = signal.incident_id
    data: dict[str, object] = {"incident_id": signal.incident_id}
    if state.input.kind is not Kind.SUPPORT or not is_open(state):
        why = f"la solicitud es {state.input.kind.value} en estado {state.status.value}"
        return _ignore_signal(state, now, INCIDENT_PRIORITY_SIGNAL, why, data)
    if signal.priority not in SUPPORT_PRIORITIES:
        why = f"la prioridad {signal.priority.value} no es de soporte"
        return _ignore_signal(state, now, INCIDENT_PRIORITY_SIGNAL, why, data)
    if signal.priority is state.priority:
        why = f"la solicitud ya es {state.priority.value}"
        return _ignore_signal(state, now, INCIDENT_PRIORITY_SIGNAL, why, data)
    changed = _set_priority(state, now, signal.priority, signal.reason, SYSTEM, data)
    _notify(state, now, INCIDENT_PRIORITY_SIGNAL, client_recipients(state), changed, to_client=True)
    _notify(state, now, INCIDENT_PRIORITY_SIGNAL, ["@assignee"], changed, to_client=False)
    return state.last_seq


def incident_resolved(
    state: TicketState, signal: IncidentResolvedSignal, now: datetime
) -> int | None:
    """The incident was resolved: so is this ticket, with the incident's kind and body (the
    client is told as for any resolution). Applied once (None for a repeat); a ticket already
    resolved or closed only logs it."""
    key = f"{INCIDENT_RESOLVED_SIGNAL}:{signal.incident_id}"
    if key in state.incident_signals_seen:
        return None
    state.incident_signals_seen.append(key)
    state.incident_id = signal.incident_id
    data: dict[str, object] = {"incident_id": signal.incident_id}
    if not is_open(state):
        why = f"la solicitud ya está {state.status.value}"
        return _ignore_signal(state, now, INCIDENT_RESOLVED_SIGNAL, why, data)
    actor = signal.actor or SYSTEM
    _record_first_response(state, now)
    _resolve(state, now, signal.kind, signal.body, actor, data)
    _notify(
        state,
        now,
        INCIDENT_RESOLVED_SIGNAL,
        client_recipients(state),
        {
            "resolution_kind": signal.kind.value,
            "body": signal.body,
            "incident_id": signal.incident_id,
            "reopen_until": iso(state.reopen_until),
        },
        to_client=True,
    )
    _notify(state, now, "rating_invitation", client_recipients(state), to_client=True)
    return state.last_seq


# --- The view ------------------------------------------------------------------------------------


def view(state: TicketState) -> TicketView:
    ticket = state.input
    instants = sla_instants(state)
    flags = (state.first_response_flags, state.resolution_flags)
    return TicketView(
        number=ticket.number,
        kind=ticket.kind,
        status=state.status,
        priority=state.priority,
        system_priority=ticket.system_priority,
        suggested_priority=ticket.suggested_priority,
        category=ticket.category,
        subject=ticket.subject,
        description=ticket.description,
        expected_result=ticket.expected_result,
        legal_number=ticket.legal_number,
        business_impact=ticket.business_impact,
        channel=ticket.channel,
        nit=ticket.nit,
        client_name=ticket.client_name,
        reporter_email=ticket.reporter_email,
        notify=list(ticket.notify),
        assignee=state.assignee,
        created_at=utc(ticket.registered_at),
        updated_at=state.updated_at,
        missing_info=list(ticket.missing_info),
        resolution=state.resolution,
        rating=state.rating,
        sla=SlaView(
            started_at=state.sla_started_at,
            first_response_due=instants.first_response_due,
            resolution_due=instants.resolution_due,
            first_responded_at=state.first_responded_at,
            paused=is_paused(state),
            warned=any(f.warned for f in flags),
            breached=any(f.breached for f in flags),
        ),
        waiting_attempts=state.waiting_attempts,
        reopen_until=state.reopen_until,
        incident_id=state.incident_id,
        estimated_delivery=state.estimated_delivery,
        booked_slot=state.booked_slot,
    )
