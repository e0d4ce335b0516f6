"""The portal's sign-in: one-time links by email, then server-side sessions.

- A person asks for a link with their email. Active contacts of active clients and active
  staff get one by mail (valid `sign_in_link_ttl`, usable once, kept as a digest); any
  other address gets the same answer and no mail. Requests are limited per address and per
  client IP over `SIGN_IN_WINDOW`, whether the address is known or not.
- Using the link ends it and opens a session: a new random id (never one the browser
  brought: no session fixation), kept as a digest, with its own CSRF token; it ends after
  `session_idle` without use or `session_max` after sign-in, whichever comes first, on
  "Cerrar sesión", or when the person or their client is deactivated (`end_sessions_of`).
- Every request re-reads the person: a session of someone no longer active is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.models import Client, Contact, Staff, TokenKind
from soporte.db.portal_models import SignInLink, SignInRequest, WebSession
from soporte.email.templates import MESSAGE_ID_DOMAIN, render, wire_email
from soporte.email.transport import send_mail
from soporte.policy import Role
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification
from soporte.services.auth import Principal, digest
from soporte.services.errors import TooManyRequests
from soporte.settings import Settings

log = logging.getLogger("soporte.portal")

SIGN_IN_WINDOW = timedelta(hours=1)
# Sessions are touched at most this often (a write per page view would be wasteful).
TOUCH_EVERY = timedelta(minutes=1)
MAX_NEXT = 500


class EndReason(StrEnum):
    SIGNED_OUT = "signed_out"
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Limited(StrEnum):
    ADDRESS = "address"
    IP = "ip"


@dataclass(frozen=True)
class Person:
    """Someone who may sign in: a contact of an active client, or active staff."""

    email: str
    name: str
    kind: TokenKind


@dataclass(frozen=True)
class IssuedLink:
    person: Person
    token: str
    url: str


@dataclass(frozen=True)
class OpenedSession:
    """A session just opened: the cookie value (shown once) and where to go."""

    cookie: str
    next_path: str


@dataclass(frozen=True)
class WebPrincipal:
    """The signed-in person of a request, as the services know callers, and their session."""

    principal: Principal
    session_id: int
    csrf: str


def now_utc() -> datetime:
    return datetime.now(UTC)


def normal_email(raw: str) -> str:
    return raw.strip().lower()[:254]


def safe_next(raw: str | None) -> str:
    """A local path to go back to after sign-in; anything else (another site, `//host`,
    a backslash trick, a scheme, control characters) becomes the portal's home."""
    if not raw or len(raw) > MAX_NEXT or not raw.startswith("/") or raw.startswith("//"):
        return "/"
    if "\\" in raw or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in raw):
        return "/"
    if raw.startswith(("/ingresar", "/salir")):
        return "/"
    return raw


# --- Who may sign in ----------------------------------------------------------------------


async def find_person(session: AsyncSession, email: str) -> Person | None:
    contact = (
        await session.execute(
            select(Contact.name)
            .join(Client, Client.nit == Contact.client_nit)
            .where(Contact.email == email, Contact.active.is_(True), Client.active.is_(True))
        )
    ).first()
    if contact is not None:
        return Person(email=email, name=contact[0], kind=TokenKind.CONTACT)
    staff = (
        await session.execute(
            select(Staff.name).where(Staff.email == email, Staff.active.is_(True))
        )
    ).first()
    if staff is not None:
        return Person(email=email, name=staff[0], kind=TokenKind.STAFF)
    return None


async def principal_of(session: AsyncSession, email: str, kind: str) -> Principal | None:
    """The caller a session stands for, read again on every request; None once inactive."""
    if kind == TokenKind.CONTACT:
        row = (
            await session.execute(
                select(Contact, Client)
                .join(Client, Client.nit == Contact.client_nit)
                .where(Contact.email == email)
            )
        ).first()
        if row is None or not row[0].active or not row[1].active:
            return None
        contact, client = row
        return Principal(
            email=email,
            roles=frozenset({Role.CONTACT}),
            nit=client.nit,
            name=contact.name,
            client_active=client.active,
            client_name=client.name,
            consultant_email=client.consultant_email,
        )
    staff = await session.scalar(select(Staff).where(Staff.email == email))
    if staff is None or not staff.active:
        return None
    return Principal(email=email, roles=frozenset(Role(r) for r in staff.roles), name=staff.name)


# --- Asking for a link --------------------------------------------------------------------


def email_digest(email: str) -> str:
    return hashlib.sha256(f"sign-in:{email}".encode()).hexdigest()


async def _count_since(session: AsyncSession, since: datetime, *where: object) -> int:
    query = select(func.count()).select_from(SignInRequest).where(SignInRequest.at >= since)
    return int(await session.scalar(query.where(*where)) or 0)  # type: ignore[arg-type]


async def check_limits(session: AsyncSession, settings: Settings, email: str, ip: str) -> None:
    since = now_utc() - SIGN_IN_WINDOW
    by_address = await _count_since(
        session, since, SignInRequest.email_digest == email_digest(email)
    )
    if by_address >= settings.sign_in_limit_per_address:
        raise TooManyRequests(f"sign-in: too many links asked for this address ({Limited.ADDRESS})")
    by_ip = await _count_since(session, since, SignInRequest.ip == ip)
    if by_ip >= settings.sign_in_limit_per_ip:
        raise TooManyRequests(f"sign-in: too many links asked from this address ({Limited.IP})")


async def request_link(
    session: AsyncSession, settings: Settings, raw_email: str, ip: str, next_path: str | None
) -> IssuedLink | None:
    """Record the request and, for someone who may sign in, a new link (to be mailed).

    Raises TooManyRequests over a limit; None for anyone else (the caller answers the same)."""
    email = normal_email(raw_email)
    await check_limits(session, settings, email, ip)
    session.add(SignInRequest(email_digest=email_digest(email), ip=ip[:64], at=now_utc()))
    person = await find_person(session, email)
    if person is None:
        await session.commit()
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        SignInLink(
            digest=digest(token),
            email=email,
            kind=person.kind.value,
            next_path=safe_next(next_path),
            expires_at=now_utc() + settings.sign_in_link_ttl,
        )
    )
    await session.commit()
    url = f"{settings.public_url.rstrip('/')}/ingresar/enlace/{token}"
    return IssuedLink(person=person, token=token, url=url)


def sign_in_mail_minutes(settings: Settings) -> int:
    return max(1, int(settings.sign_in_link_ttl.total_seconds() // 60))


async def send_link(settings: Settings, link: IssuedLink) -> None:
    """Mail the link through the outbound path the notifications use (Maildir or SMTP)."""
    notification = Notification(
        id=f"sign-in-{uuid.uuid4().hex}",
        number=0,
        template=MailTemplate.SIGN_IN_LINK,
        to=[link.person.email],
        data={
            "recipient_name": link.person.name,
            "sign_in_url": link.url,
            "minutes": sign_in_mail_minutes(settings),
        },
    )
    message = wire_email(
        render(notification),
        to=[link.person.email],
        from_addr=settings.mail_from,
        message_id=f"<sign-in.{uuid.uuid4().hex}@{MESSAGE_ID_DOMAIN}>",
    )
    try:
        await send_mail(settings, message)
    except Exception:  # the page already answered; the person may ask again
        log.exception("could not send a sign-in link to %s", link.person.email)


# --- Using a link -------------------------------------------------------------------------


async def link_is_usable(session: AsyncSession, token: str) -> bool:
    row = await session.scalar(select(SignInLink).where(SignInLink.digest == digest(token)))
    await session.commit()
    return row is not None and row.used_at is None and row.expires_at > now_utc()


async def use_link(
    session: AsyncSession, settings: Settings, token: str, ip: str, user_agent: str
) -> OpenedSession | None:
    """Spend the link (once: a conditional update decides a race) and open a session.

    None for an unknown, used or expired link, or a person no longer active."""
    now = now_utc()
    row = await session.scalar(select(SignInLink).where(SignInLink.digest == digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        await session.commit()
        return None
    spent = await session.execute(
        update(SignInLink)
        .where(SignInLink.id == row.id, SignInLink.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return None
    if await principal_of(session, row.email, row.kind) is None:
        await session.commit()
        return None
    cookie = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            digest=digest(cookie),
            email=row.email,
            kind=row.kind,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + settings.session_max,
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
    )
    next_path = safe_next(row.next_path)
    await session.commit()
    return OpenedSession(cookie=cookie, next_path=next_path)


# --- Sessions -------------------------------------------------------------------------------


async def current(session: AsyncSession, settings: Settings, cookie: str) -> WebPrincipal | None:
    """The signed-in person behind a session cookie; None when there is none any more."""
    if not cookie or len(cookie) > 200:
        return None
    row = await session.scalar(select(WebSession).where(WebSession.digest == digest(cookie)))
    if row is None or row.ended_at is not None:
        await session.commit()
        return None
    now = now_utc()
    if row.expires_at <= now or row.last_seen_at + settings.session_idle <= now:
        row.ended_at, row.end_reason = now, EndReason.EXPIRED.value
        await session.commit()
        return None
    principal = await principal_of(session, row.email, row.kind)
    if principal is None:
        row.ended_at, row.end_reason = now, EndReason.DEACTIVATED.value
        await session.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    await session.commit()
    return WebPrincipal(principal=principal, session_id=row.id, csrf=row.csrf)


async def end_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
        .values(ended_at=now_utc(), end_reason=EndReason.SIGNED_OUT.value)
    )
    await session.commit()


async def open_sessions(session: AsyncSession, limit: int = 200) -> list[WebSession]:
    """The sessions not ended nor expired, last seen first (the admin's list)."""
    now = now_utc()
    rows = await session.scalars(
        select(WebSession)
        .where(WebSession.ended_at.is_(None), WebSession.expires_at > now)
        .order_by(WebSession.last_seen_at.desc())
        .limit(limit)
    )
    return list(rows.all())


async def revoke_session(session: AsyncSession, session_id: int) -> bool:
    """An admin ends someone's session; False when it had already ended."""
    ended = await session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
        .values(ended_at=now_utc(), end_reason=EndReason.REVOKED.value)
    )
    await session.commit()
    return bool(getattr(ended, "rowcount", 0))


async def end_sessions_of(session: AsyncSession, emails: list[str]) -> None:
    """End every open session and unused link of these people (deactivated). The caller
    commits, with the change that deactivated them."""
    if not emails:
        return
    now = now_utc()
    await session.execute(
        update(WebSession)
        .where(WebSession.email.in_(emails), WebSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=EndReason.DEACTIVATED.value)
    )
    await session.execute(
        update(SignInLink)
        .where(SignInLink.email.in_(emails), SignInLink.used_at.is_(None))
        .values(used_at=now)
    )


async def contact_emails_of(session: AsyncSession, nit: str) -> list[str]:
    return list(await session.scalars(select(Contact.email).where(Contact.client_nit == nit)))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
