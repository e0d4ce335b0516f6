"""The ticket's state object, its constants and the small predicates every flow reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, Field

from soporte.policy import Kind, Priority, ResolutionKind, Status, Visibility
from soporte.policy.config import ABANDON_AFTER_ATTEMPTS, PolicyConfig
from soporte.policy.refusals import Refusal
from soporte.policy.tickets import (
    EventType,
    LogEvent,
    Notification,
    RatingView,
    ResolutionView,
    TicketInput,
)
from soporte.policy.triage import P1_VERIFY_WITHIN

SYSTEM = "system"
SLA_RECIPIENTS = ["@assignee", "@supervisors"]
ENGINEER_RESOLUTION_KINDS = (
    ResolutionKind.SOLUTION,
    ResolutionKind.INSTRUCTIONS,
    ResolutionKind.ADVICE,
)
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
    InvalidState, InvalidInput or ReopenWindowEnded. `refusal`, when the rule gives one,
    is the structured why (field, code) the workflow passes on as the error's details.
    """

    def __init__(
        self, message: str, reason: str = "InvalidState", refusal: Refusal | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.refusal = refusal


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
    # How many deadlines the ticket acted on (apply_deadline): which firing a deadline is.
    deadlines_applied: int = 0
    # What caused the step being applied (a signal's identity, an update's id, a deadline's
    # firing: deadline_cause), set by the workflow around the step when its mail goes out
    # from inside the workflow task (workflows/ticket.py, LOCAL_MAIL_PATCH); the
    # notifications it owes are named from it, not from the log's seq. None: named by seq.
    cause: str | None = None

    def clone(self) -> TicketState:
        """A copy sharing nothing mutable, for a step tried on the side: as
        `model_copy(deep=True)` makes, through pydantic-core (about 25x faster than the
        copy.deepcopy that one runs, which cost a command about a millisecond)."""
        return TicketState.model_validate(self.model_dump())

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
            sla_clock._start_clock(state, registered_at)
        journal._log(
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
        if ticket.priority_to_verify:
            _log_priority_to_verify(state, registered_at)
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


def _log_priority_to_verify(state: TicketState, registered_at: datetime) -> None:
    """The P1 rule (soporte.policy.triage): a suggested P1 started as P2, for staff."""
    verify_by = registered_at + P1_VERIFY_WITHIN
    journal._log(
        state,
        registered_at,
        EventType.PRIORITY_TO_VERIFY,
        visibility=Visibility.INTERNAL,
        body=(
            "The client suggested P1 (one failure hitting several clients); the system's "
            f"suggestion is {state.input.system_priority.value}: started as P2. Verify by "
            f"{verify_by.isoformat()} and raise it to P1 if several clients are hit."
        ),
        data={
            "suggested": Priority.P1.value,
            "system": state.input.system_priority.value,
            "priority": state.priority.value,
            "verify_by": verify_by.isoformat(),
        },
    )


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
    return abandon_attempts_needed(state.input.policy)


def abandon_attempts_needed(policy: PolicyConfig) -> int:
    """Unanswered attempts (the request and its reminders) before a ticket may be abandoned."""
    return min(ABANDON_AFTER_ATTEMPTS, 1 + len(policy.reminder_offsets))


# The flows import this module, and `TicketState.initial` calls two of them: modules imported last,
# once every name above exists. Not inside the method: a workflow calls it in the sandbox,
# where an import at run time would load fresh copies of the policy modules.
from soporte.policy.ticket import journal, sla_clock  # noqa: E402
