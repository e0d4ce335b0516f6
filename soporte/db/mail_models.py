"""Tables of the email channel: what came in, what was refused, which automatic replies went out.

Same declarative Base as soporte.db.models (one metadata, one Alembic history); created by
the migration `0003_mail`.

- `inbound_mail`: one row per Message-ID handled, written only once the message's effect
  (a ticket opened, a client message signalled, a refusal kept) is durable; a duplicate
  finds it and changes nothing.
- `refused_mail`: every message that did not become a ticket or a client message, with its
  raw bytes, so nothing is ever silently dropped.
- `auto_replies`: automatic answers to senders, for the per-sender hourly cap; one per
  inbound message at most (`inbound_message_id` is unique), so a retry never answers twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from soporte.db.models import Base, utcnow


class MailOutcome:
    TICKET_OPENED = "ticket_opened"
    MESSAGE_ADDED = "message_added"
    REFUSED = "refused"
    IGNORED = "ignored"
    # Sender trust (POLICY.md "Who sees what"): a reply in a contact's name that nothing
    # proves is theirs, logged for staff only; a new request held until its contact (or
    # staff) confirms it, then `confirmed` in refused_mail and ticket_opened in inbound_mail.
    UNVERIFIED = "unverified"
    PENDING = "pending"
    CONFIRMED = "confirmed"


class InboundMail(Base):
    __tablename__ = "inbound_mail"

    # The message's Message-ID as parsed (`<...>`), or `sha256:<hex>` of a very long one.
    message_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    from_address: Mapped[str] = mapped_column(String(320), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    number: Mapped[int | None] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")


class RefusedMail(Base):
    __tablename__ = "refused_mail"
    __table_args__ = (Index("ix_refused_mail_received", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    from_address: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(1000), default="")
    # refused (a person was told why, or would have been) or ignored (never answered).
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    # The ticket the message pointed at, when it threaded to one.
    number: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # Handled from the console (migration 0012): who, when, and the ticket it became.
    handled_at: Mapped[datetime | None] = mapped_column()
    handled_by: Mapped[str | None] = mapped_column(String(254))
    ticket_number: Mapped[int | None] = mapped_column(Integer)


class AutoReply(Base):
    __tablename__ = "auto_replies"
    __table_args__ = (Index("ix_auto_replies_to_sent", "to_address", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to_address: Mapped[str] = mapped_column(String(320))
    # When the reply was claimed (counts for the cap from then on) and when it was written out.
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
    inbound_message_id: Mapped[str] = mapped_column(String(500), unique=True)
    template: Mapped[str] = mapped_column(String(60), default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
