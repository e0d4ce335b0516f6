"""Tables of the web portal: sign-in links, sign-in requests (for the rate limits), sessions.

Same declarative Base as soporte.db.models; created by the migration `0006_portal`.
Secrets (link tokens, session ids) are kept only as SHA-256 digests.

- `sign_in_links`: one emailed one-time link: valid until `expires_at`, used once.
- `sign_in_requests`: every request of a link, known address or not (the address kept as a
  digest), counted per address and per client IP for the rate limits.
- `web_sessions`: a signed-in browser: idle and absolute expiry, ended by "Cerrar sesión"
  or by deactivating the person or the client (listable and revocable).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from soporte.db.models import Base, utcnow


class SignInLink(Base):
    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Where to go once signed in: a local path, checked when stored and when used.
    next_path: Mapped[str] = mapped_column(String(500), default="/")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class SignInRequest(Base):
    __tablename__ = "sign_in_requests"
    __table_args__ = (
        Index("ix_sign_in_requests_email_at", "email_digest", "at"),
        Index("ix_sign_in_requests_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email_digest: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The session's CSRF token: every state-changing form carries it.
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
