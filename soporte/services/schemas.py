"""Request and response bodies of the API, as pydantic models (pure: no HTTP, no SQL).

Request models forbid unknown fields (a contact cannot smuggle `status`, `assignee` or
`priority` into a payload); strings are bounded so no input is unreasonably large.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from soporte.audit import AuditAction
from soporte.policy import Channel, Kind, Priority, ResolutionKind, Role, Status, Visibility

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.fullmatch(value):
        raise ValueError("must be an email address like nombre@empresa.com")
    return value


Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"),
    AfterValidator(_email),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=2000)]
LongText = Annotated[str, StringConstraints(max_length=20000)]
RequiredText = Annotated[str, StringConstraints(min_length=1, max_length=20000)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
Nit = Annotated[str, StringConstraints(min_length=1, max_length=30)]


def clean_text(value: object) -> object:
    """Refuse text no database or mail can hold: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL (\\u0000) characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    elif isinstance(value, list):
        for item in value:
            clean_text(item)
    return value


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text(value)


# --- Registry ---------------------------------------------------------------------------


class ClientCreate(Request):
    nit: Nit
    name: Name
    active: bool = True
    consultant_email: Email | None = None


class ClientUpdate(Request):
    name: Name | None = None
    active: bool | None = None
    consultant_email: Email | None = None


class ClientOut(BaseModel):
    nit: str
    name: str
    active: bool
    consultant_email: str | None


class ContactCreate(Request):
    name: Name
    email: Email
    phone: Phone = ""


class ContactUpdate(Request):
    name: Name | None = None
    phone: Phone | None = None
    active: bool | None = None


class ContactOut(BaseModel):
    email: str
    name: str
    phone: str
    nit: str
    active: bool


StaffRole = Annotated[Role, AfterValidator(lambda r: _staff_role(r))]


def _staff_role(role: Role) -> Role:
    if role == Role.CONTACT:
        raise ValueError("contact is not a staff role; register contacts under their client")
    return role


class StaffCreate(Request):
    name: Name
    email: Email
    roles: list[StaffRole] = Field(min_length=1, max_length=4)
    active: bool = True


class StaffUpdate(Request):
    name: Name | None = None
    roles: list[StaffRole] | None = Field(default=None, min_length=1, max_length=4)
    active: bool | None = None


class StaffOut(BaseModel):
    email: str
    name: str
    roles: list[Role]
    active: bool


class TokenCreate(Request):
    email: Email


class TokenOut(BaseModel):
    id: int
    token: str = Field(description="shown once; only its SHA-256 digest is kept")
    email: str
    kind: str


class TokenInfo(BaseModel):
    id: int
    email: str
    kind: str
    created_at: datetime
    revoked_at: datetime | None


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="the admin's email, `admin` (bootstrap token) or `cli:<user>`")
    action: AuditAction
    subject: str = Field(description="a NIT, an email, or `token <id> (<email>)`")
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int
    limit: int
    offset: int


# --- Tickets ----------------------------------------------------------------------------


class TicketCreate(Request):
    kind: Kind
    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    suggested_priority: Priority | None = None
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: RequiredText
    expected_result: LongText = ""
    legal_number: Annotated[str, StringConstraints(max_length=100)] | None = None
    business_impact: LongText | None = None
    notify: list[Email] = Field(default_factory=list, max_length=20)
    nit: Nit | None = None
    reporter_email: Email | None = None
    channel: Channel | None = None


class MessageCreate(Request):
    body: RequiredText
    visibility: Visibility = Visibility.PUBLIC


class AssignRequest(Request):
    engineer_email: Email


class PriorityRequest(Request):
    priority: Priority
    reason: RequiredText


class RequestInfoRequest(Request):
    body: RequiredText


class ResolveRequest(Request):
    kind: Literal[ResolutionKind.SOLUTION, ResolutionKind.INSTRUCTIONS, ResolutionKind.ADVICE]
    body: RequiredText


class ReasonRequest(Request):
    reason: RequiredText


class RatingRequest(Request):
    score: int = Field(ge=1, le=5)
    comment: ShortText = ""


class SlaOut(BaseModel):
    started_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    paused: bool = False
    warned: bool = False
    breached: bool = False


class ResolutionOut(BaseModel):
    kind: ResolutionKind
    body: str
    at: datetime | None = None


class RatingOut(BaseModel):
    score: int
    comment: str
    at: datetime | None = None


class ContactTicket(BaseModel):
    """What a contact sees of a ticket: no internal fields."""

    number: int
    kind: Kind
    status: Status
    priority: Priority
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
    resolution: ResolutionOut | None = None
    rating: RatingOut | None = None
    sla: SlaOut
    reopen_until: datetime | None = None
    estimated_delivery: date | None = None
    booked_slot: datetime | None = None


class StaffTicket(ContactTicket):
    """What staff see: everything, including the system's own priority suggestion."""

    system_priority: Priority
    waiting_attempts: int = 0
    incident_id: str | None = None
    sla_first_responded_at: datetime | None = None


class TicketSummary(BaseModel):
    number: int
    kind: Kind
    status: Status
    priority: Priority
    nit: str
    assignee: str | None
    subject: str
    created_at: datetime
    updated_at: datetime
    breached: bool
    warned: bool
    paused: bool
    first_response_due: datetime | None
    resolution_due: datetime | None
    category: str = ""
    # The next SLA instant not yet met (first response while unanswered, else
    # resolution); null when paused, resolved or without an SLA clock.
    next_due: datetime | None = None
    first_responded_at: datetime | None = None


class TicketPage(BaseModel):
    items: list[TicketSummary]
    total: int
    limit: int
    offset: int


class LogEntry(BaseModel):
    seq: int
    at: datetime
    type: str
    actor: str
    channel: Channel | None = None
    visibility: Visibility = Visibility.PUBLIC
    body: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class AttachmentOut(BaseModel):
    sha256: str
    filename: str
    content_type: str
    size: int
    visibility: Visibility
    uploaded_by: str
    created_at: datetime


class SlaPreviewOut(BaseModel):
    priority: str
    start: str
    first_response_due: str
    resolution_due: str


class HealthOut(BaseModel):
    status: str
    database: str
    temporal: str
    # "ok" when a worker polled the ticket task queue lately, else "not polling".
    worker: str
    # How many did (soporte up runs SOPORTE_WORKERS of them).
    workers: int = 0


class PrincipalOut(BaseModel):
    email: str
    roles: list[Role]
    nit: str | None = None
    name: str = ""
