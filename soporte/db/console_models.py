"""Tables of the staff console: saved replies (plantillas de respuesta).

Same declarative Base as soporte.db.models; created by the migration `0012_console`.

- `saved_replies`: a reply text an engineer inserts into a ticket's reply box; any staff
  member who works tickets lists, creates and edits them (who changed it last is kept).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from soporte.db.models import Base, utcnow


class SavedReply(Base):
    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(254))
    updated_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
