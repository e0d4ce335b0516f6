"""What crosses the boundary of a ticket workflow: its input, commands, events and view.

Pure (pydantic + stdlib): imported by the workflow, the activities and the API alike,
so the three agree on one shape. Instants are aware datetimes in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from soporte.policy import (
    Channel,
    Kind,
    Priority,
    ResolutionKind,
    Status,
    Visibility,
)
from soporte.policy.config import PolicyConfig
from soporte.policy.names import MailTemplate


def workflow_id(number: int) -> str:
    return f"ticket-{number}"


class AttachmentRef(BaseModel):
    """Evidence already stored under the data dir by content hash."""

    sha256: str
    filename: str
    content_type: str
    size: int


class TicketInput(BaseModel):
    """Everything a ticket starts with; decided by intake (API, email, phone)."""

    number: int
    kind: Kind
    category: str
    subject: str
    description: str
    expected_result: str = ""
    legal_number: str | None = None
    business_impact: str | None = None
    channel: Channel = Channel.WEB
    nit: str
    client_name: str
    reporter_email: str
    reporter_name: str = ""
    notify: list[str] = Field(default_factory=list)
    suggested_priority: Priority | None = None
    # The system's own suggestion from category and text (soporte.policy.triage).
    system_priority: Priority
    # The priority the ticket starts with: soporte.policy.triage.starting_priority.
    priority: Priority
    # A suggested P1 the system did not agree with, started as P2 (the P1 rule): support
    # verifies it within the hour (an internal log line at registration).
    priority_to_verify: bool = False
    registered_at: datetime
    # Information the request lacks (POLICY.md §IV); the acknowledgement asks for it.
    missing_info: list[str] = Field(default_factory=list)
    consultant_email: str | None = None
    attachments: list[AttachmentRef] = Field(default_factory=list)
    # Attachments of the opening email that were not kept, with the reason in Spanish
    # ("programa.exe: tipo no permitido: ..."); the acknowledgement lists them.
    refused_attachments: list[str] = Field(default_factory=list)
    # The Message-ID of the email that opened the ticket, for threading.
    source_message_id: str | None = None
    # The support address that email was written to (soporte@ or servicioalcliente@): our
    # mail about the ticket answers from it.
    support_address: str | None = None
    # Colombian holiday dates, resolved outside the workflow so replay never changes.
    holidays: list[date]
    policy: PolicyConfig = Field(default_factory=PolicyConfig)


# --- Commands (signals and updates) -------------------------------------------------


class ClientMessage(BaseModel):
    """Signal: the client wrote (portal, email, phone note). Deduplicated by message_id."""

    message_id: str
    author_email: str
    body: str
    channel: Channel = Channel.WEB
    attachments: list[AttachmentRef] = Field(default_factory=list)
    email_message_id: str | None = None
    # Attachments of an email the evidence rules did not keep ("name: reason"): the
    # sender is told which (template attachments_refused).
    refused_attachments: list[str] = Field(default_factory=list)
    # False: nothing proves the author wrote it (an email whose From matches a contact, with
    # no reference to our mail and no verified sender). Kept for staff, changes nothing.
    verified: bool = True


class EngineerMessage(BaseModel):
    """Update: an engineer's public reply or internal note."""

    author_email: str
    body: str
    visibility: Visibility = Visibility.PUBLIC
    attachments: list[AttachmentRef] = Field(default_factory=list)


class AssignCommand(BaseModel):
    actor_email: str
    engineer_email: str


class PriorityCommand(BaseModel):
    actor_email: str
    priority: Priority
    reason: str


class RequestInfoCommand(BaseModel):
    actor_email: str
    body: str


class ResolveCommand(BaseModel):
    actor_email: str
    kind: ResolutionKind
    body: str


class AbandonCommand(BaseModel):
    actor_email: str
    reason: str


class ReopenCommand(BaseModel):
    actor_email: str
    reason: str


class RatingCommand(BaseModel):
    actor_email: str
    score: int = Field(ge=1, le=5)
    comment: str = ""


class DeliverCommand(BaseModel):
    """Update `deliver`: an accepted (planned) requirement was delivered."""

    actor_email: str
    body: str = ""


class BookingCommand(BaseModel):
    """Update `book`: the client books an advisory slot (a start offered by the slots list)."""

    actor_email: str
    start: datetime
    # Filled by the API from the read model: starts already taken by other advisories.
    taken: list[datetime] = Field(default_factory=list)


class AdvisoryDoneCommand(BaseModel):
    """Update `advisory_done`: the engineer held the session; resolves the ticket."""

    actor_email: str
    body: str = ""


# --- Events: the communications log ---------------------------------------------------


class EventType(StrEnum):
    """Log line types; stored as plain strings so later features add types freely."""

    REGISTERED = "registered"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    CLIENT_MESSAGE = "client_message"
    UNVERIFIED_MESSAGE = "unverified_message"
    PRIORITY_TO_VERIFY = "priority_to_verify"
    ENGINEER_REPLY = "engineer_reply"
    INTERNAL_NOTE = "internal_note"
    PRIORITY_CHANGED = "priority_changed"
    STATUS_CHANGED = "status_changed"
    INFO_REQUESTED = "info_requested"
    REMINDER_SENT = "reminder_sent"
    SLA_PAUSED = "sla_paused"
    SLA_RESUMED = "sla_resumed"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    RATED = "rated"
    NOTIFICATION = "notification"


class LogEvent(BaseModel):
    """One line of a ticket's log. (number, seq) is unique: projection upserts on it."""

    number: int
    seq: int
    at: datetime
    type: str
    actor: str  # an email, or "system"
    channel: Channel | None = None
    visibility: Visibility = Visibility.PUBLIC
    body: str = ""
    data: dict[str, object] = Field(default_factory=dict)


class Notification(BaseModel):
    """An outbound message the ticket owes someone; sent once by an activity.

    `id` is stable (ticket number and event seq), so a retried send is never doubled.
    `template` names its Spanish template; `to` holds emails and role words
    ("@assignee", "@supervisors", "@committee") resolved by the activity.
    """

    id: str
    number: int
    template: MailTemplate
    to: list[str]
    data: dict[str, object] = Field(default_factory=dict)
    in_reply_to: str | None = None


# --- The view: what GET /tickets/{number} shows ----------------------------------


class SlaView(BaseModel):
    started_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None = None
    paused: bool = False
    warned: bool = False
    breached: bool = False


class ResolutionView(BaseModel):
    kind: ResolutionKind
    body: str
    at: datetime
    by: str


class RatingView(BaseModel):
    score: int
    comment: str
    at: datetime


class TicketView(BaseModel):
    number: int
    kind: Kind
    status: Status
    priority: Priority
    system_priority: Priority
    suggested_priority: Priority | None = None
    category: str
    subject: str
    description: str
    expected_result: str = ""
    legal_number: str | None = None
    business_impact: str | None = None
    channel: Channel
    nit: str
    client_name: str
    reporter_email: str
    notify: list[str] = Field(default_factory=list)
    assignee: str | None = None
    created_at: datetime
    updated_at: datetime
    missing_info: list[str] = Field(default_factory=list)
    resolution: ResolutionView | None = None
    rating: RatingView | None = None
    sla: SlaView
    waiting_attempts: int = 0
    reopen_until: datetime | None = None
    incident_id: str | None = None
    # Requirements: the committee's estimated delivery once accepted.
    estimated_delivery: date | None = None
    # Advisories: the booked slot's start.
    booked_slot: datetime | None = None


# --- Activity payloads (names: soporte.policy.names.Activity; code in activities/) ---


class ProjectionBatch(BaseModel):
    """project_ticket: upsert the ticket row from `view` and insert `events` by (number, seq)."""

    view: TicketView
    events: list[LogEvent] = Field(default_factory=list)


class NotificationBatch(BaseModel):
    """deliver_notifications: the notifications a ticket owed at one moment, sent in order,
    each once (a retry of the batch skips those already sent)."""

    notifications: list[Notification]


class TicketWrite(BaseModel):
    """write_ticket: one step's writes in one local activity (the patch projection-with-mail):
    the projection of `events` (none: no projection) and then the mail of `notifications`.
    Answers the ids of the notifications sent (or sent before); a send that failed is not
    raised but left out, for the workflow to retry on its own."""

    view: TicketView
    events: list[LogEvent] = Field(default_factory=list)
    notifications: list[Notification] = Field(default_factory=list)


class PickAssigneeInput(BaseModel):
    """pick_assignee: the least-loaded active engineer (None when there is none)."""

    number: int
    nit: str
    kind: Kind
    consultant_email: str | None = None
