"""SQLAlchemy 2.0 models of the registry and the ticket read model.

Instants are stored as UTC (naive in SQLite, `timestamptz` in PostgreSQL) through
`UtcDateTime`, and always come back aware in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class TokenKind(StrEnum):
    CONTACT = "contact"
    STAFF = "staff"


# --- Registry ---------------------------------------------------------------------------


class Client(Base):
    __tablename__ = "clients"

    nit: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    consultant_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    client_nit: Mapped[str] = mapped_column(ForeignKey("clients.nit"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token, kept only as its SHA-256 digest."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    principal_email: Mapped[str] = mapped_column(String(254), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


# --- Intake: the ticket number and idempotency ----------------------------------------------


class TicketIntake(Base):
    """One row per ticket ever opened: its number, who opened it, and its start input."""

    __tablename__ = "ticket_intake"
    __table_args__ = (
        UniqueConstraint("principal", "idempotency_key", name="uq_intake_principal_key"),
        {"sqlite_autoincrement": True},
    )

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    principal: Mapped[str] = mapped_column(String(254))
    nit: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The TicketInput the workflow was (or is to be) started with, as JSON.
    input: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Names the row among those of one group commit (soporte.services.intake_writer).
    request_id: Mapped[str | None] = mapped_column(String(32))


class CommandKey(Base):
    """An `Idempotency-Key` a caller sent with a ticket command: the same key and body run
    the command once (its workflow update id comes from the key), another body is a 409."""

    __tablename__ = "command_keys"
    __table_args__ = (
        UniqueConstraint("principal", "idempotency_key", name="uq_command_keys_principal_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(254))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)
    command: Mapped[str] = mapped_column(String(40))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlotClaim(Base):
    """An advisory slot claimed by a ticket: the unique start decides between bookings
    racing in different API processes (soporte.services.slot_claims)."""

    __tablename__ = "slot_claims"

    start: Mapped[datetime] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, index=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Read model (written only by activities) ------------------------------------------------


REPORT_COLUMNS = (
    "opened_on",
    "priority",
    "nit",
    "assignee",
    "first_response_outcome",
    "first_response_due",
    "resolution_outcome",
    "resolution_due",
    "first_response_seconds",
    "resolution_seconds",
    "paused_seconds",
    "reopen_count",
    "rating",
)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_created", "created_at", "number"),
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_priority_created", "priority", "created_at"),
        Index("ix_tickets_nit_created", "nit", "created_at"),
        Index("ix_tickets_assignee_status", "assignee", "status"),
        Index("ix_tickets_breached_created", "breached", "created_at"),
        Index("ix_tickets_booked_slot", "booked_slot"),
        # Migration 0008: the queue's sort and filters, and the SLA report's range.
        Index("ix_tickets_next_due", "next_due", "number"),
        Index("ix_tickets_kind_created", "kind", "created_at"),
        Index("ix_tickets_category_created", "category", "created_at"),
        # Covers the SLA report (soporte.services.reports): its range scan reads no row.
        Index("ix_tickets_report", *REPORT_COLUMNS),
    )

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    priority: Mapped[str] = mapped_column(String(20))
    nit: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_due: Mapped[datetime | None] = mapped_column()
    resolution_due: Mapped[datetime | None] = mapped_column()
    # Advisories: the booked slot's start (migration 0002).
    booked_slot: Mapped[datetime | None] = mapped_column()
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Migration 0008 (soporte.policy.sla_report.SlaFacts, computed by the projection).
    category: Mapped[str] = mapped_column(String(100), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    next_due: Mapped[datetime | None] = mapped_column()
    opened_on: Mapped[date | None] = mapped_column(Date)
    first_responded_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    first_response_outcome: Mapped[str] = mapped_column(String(10), default="pending")
    resolution_outcome: Mapped[str] = mapped_column(String(10), default="pending")
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    __table_args__ = (UniqueConstraint("number", "seq", name="uq_ticket_events_number_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column()
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str | None] = mapped_column(String(20))
    visibility: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("number", "sha256", name="uq_attachments_number_sha"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer, index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    visibility: Mapped[str] = mapped_column(String(20), default="public")
    uploaded_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssignmentPick(Base):
    """Who pick_assignee chose for a ticket: a retry answers the same, load counts it."""

    __tablename__ = "assignment_picks"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    engineer: Mapped[str] = mapped_column(String(254), index=True)
    picked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OutboundMail(Base):
    """One row per notification: a retried delivery finds it and never sends twice."""

    __tablename__ = "outbound_mail"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, index=True)
    to: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set just before an SMTP send (migration 0007): a row with it and no `sent_at` was
    # being sent when the worker died, so the server may or may not have it (README).
    sending_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
