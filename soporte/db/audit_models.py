"""The admin audit log: who changed the registry or the tokens, what, and when.

Written in the same transaction as the change it records (soporte.services.audit), so a
change without its line, or a line without its change, cannot happen. Never a token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from soporte.audit import AuditAction
from soporte.db.models import Base, utcnow

__all__ = ["AuditAction", "AuditEntry"]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The admin's email ("admin" for the bootstrap token), or "cli:<user>" for the CLI.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40), index=True)  # an AuditAction
    # What it was done to: a NIT, an email, or "token <id> (<email>)".
    subject: Mapped[str] = mapped_column(String(300))
    # The fields set (for an update: their new values), a token's id and kind.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
