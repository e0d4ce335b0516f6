"""Read-model table of the committee sessions (written by an activity).

Same declarative Base as soporte.db.models, so one metadata (and one Alembic history)
holds every table. A row keeps the workflow's whole view as JSON plus the columns the
API filters on; `version` grows with every change, so an older view never overwrites a
newer one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from soporte.db.models import Base


class CommitteeSessionRow(Base):
    __tablename__ = "committee_sessions"
    __table_args__ = (Index("ix_committee_sessions_status_started", "status", "started_at"),)

    session_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    started_by: Mapped[str] = mapped_column(String(254), default="schedule")
    version: Mapped[int] = mapped_column(Integer, default=0)
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
