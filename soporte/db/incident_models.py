"""Read-model table of the incidents, written by `project_incident` (activities/incidents.py):
a versioned JSON view like the committee sessions' (soporte.db.committee_models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from soporte.db.models import Base


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_opened", "status", "opened_at"),)

    incident_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(20))
    opened_at: Mapped[datetime] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=0)
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
