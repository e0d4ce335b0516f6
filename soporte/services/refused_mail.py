"""Refused mail (`refused_mail`): kept within bounds, and read and handled from the console.

Kept for staff to look at, but not without bound: each message's raw bytes are cut at
`max_bytes` (a marker says how much was kept), and rows older than `max_age` or beyond the
newest `max_rows` are deleted whenever another is kept (a held request waiting for its
sender's confirmation only by age, and never cut). A refused message may be up to the
SMTP limit (25 MB) and comes from anyone: kept whole and forever, refusals alone could fill
the disk.

The console lists it, shows one message (parsed again from its raw bytes), and offers two
ways out: a ticket for a known contact (opened through soporte.services.intake on the
contact's behalf, channel email, the mail's evidence attached), or its sender registered as
a contact of a client (admin, through soporte.services.registry). A message made into a
ticket keeps who handled it and the ticket's number.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient

from soporte.db.mail_models import MailOutcome, RefusedMail
from soporte.email.parse import ParsedMail, parse_message
from soporte.policy import Channel, Kind
from soporte.services import access, attachments, intake, registry
from soporte.services.access import Action
from soporte.services.auth import Principal
from soporte.services.errors import Conflict, NotFound
from soporte.services.schemas import ContactCreate, ContactOut, TicketCreate
from soporte.settings import Settings


@dataclass(frozen=True)
class RefusedMailLimits:
    max_bytes: int = 256 * 1024
    max_age: timedelta = timedelta(days=90)
    max_rows: int = 10_000


LIMITS = RefusedMailLimits()


def kept_raw(raw: bytes, limit: int) -> bytes:
    if len(raw) <= limit:
        return raw
    marker = f"\r\n[soporte: refused message cut, {limit} of {len(raw)} bytes kept]\r\n"
    return raw[:limit] + marker.encode()


async def keep_refused(
    session: AsyncSession, row: RefusedMail, limits: RefusedMailLimits = LIMITS
) -> None:
    """Add `row` (its raw bytes capped) and expire what is too old or too many.

    A held new request (outcome `pending`) is spared the cut and the count: its
    confirmation link opens the ticket from those very bytes (POLICY.md "Who sees what").
    Only its age expires it."""
    if row.outcome != MailOutcome.PENDING:
        row.raw = kept_raw(row.raw, limits.max_bytes)
    await session.execute(
        delete(RefusedMail).where(RefusedMail.received_at < row.received_at - limits.max_age)
    )
    countable = RefusedMail.outcome != MailOutcome.PENDING
    newest_kept = (
        select(RefusedMail.id)
        .where(countable)
        .order_by(RefusedMail.id.desc())
        .offset(limits.max_rows - 2)  # with `row`, `max_rows` remain
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(delete(RefusedMail).where(countable, RefusedMail.id < newest_kept))
    session.add(row)


# --- The console ---------------------------------------------------------------------

MAX_SUBJECT = 200


@dataclass(frozen=True)
class RefusedSummary:
    id: int
    received_at: datetime
    from_address: str
    subject: str
    outcome: str
    reason: str
    number: int | None
    handled_at: datetime | None
    handled_by: str | None
    ticket_number: int | None


@dataclass(frozen=True)
class RefusedPage:
    items: list[RefusedSummary]
    total: int


@dataclass(frozen=True)
class RefusedMessage:
    summary: RefusedSummary
    parsed: ParsedMail


def require_reader(principal: Principal) -> None:
    access.check(principal, Action.READ_REFUSED_MAIL)


def _summary(row: RefusedMail) -> RefusedSummary:
    return RefusedSummary(
        id=row.id,
        received_at=row.received_at,
        from_address=row.from_address,
        subject=row.subject,
        outcome=row.outcome,
        reason=row.reason,
        number=row.number,
        handled_at=row.handled_at,
        handled_by=row.handled_by,
        ticket_number=row.ticket_number,
    )


async def list_refused(
    session: AsyncSession, principal: Principal, pending_only: bool, limit: int, offset: int
) -> RefusedPage:
    """Newest first (ix_refused_mail_received); the raw bytes are not read."""
    require_reader(principal)
    condition = [RefusedMail.handled_at.is_(None)] if pending_only else []
    total = await session.scalar(select(func.count()).select_from(RefusedMail).where(*condition))
    columns = [c for c in RefusedMail.__table__.columns if c.name != "raw"]
    query = (
        select(*columns)
        .where(*condition)
        .order_by(RefusedMail.received_at.desc(), RefusedMail.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(query)).mappings().all()
    items = [
        RefusedSummary(**{k: row[k] for k in RefusedSummary.__dataclass_fields__}) for row in rows
    ]
    return RefusedPage(items=items, total=total or 0)


async def _row(session: AsyncSession, mail_id: int) -> RefusedMail:
    row = await session.get(RefusedMail, mail_id) if 0 < mail_id < 2**31 else None
    if row is None:
        raise NotFound(f"there is no refused mail {mail_id}")
    return row


async def read_refused(session: AsyncSession, principal: Principal, mail_id: int) -> RefusedMessage:
    require_reader(principal)
    row = await _row(session, mail_id)
    return RefusedMessage(summary=_summary(row), parsed=parse_message(bytes(row.raw)))


def _not_handled(row: RefusedMail) -> None:
    if row.handled_at is not None:
        raise Conflict(
            f"refused mail {row.id} was already handled by {row.handled_by}"
            + (f" (ticket #{row.ticket_number})" if row.ticket_number else "")
        )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def to_ticket(
    session: AsyncSession,
    temporal: TemporalClient,
    settings: Settings,
    principal: Principal,
    mail_id: int,
    reporter_email: str,
    kind: Kind,
    category: str,
) -> int:
    """Open the ticket the mail asked for, on behalf of a known contact; returns its number."""
    require_reader(principal)
    row = await _row(session, mail_id)
    _not_handled(row)
    parsed = parse_message(bytes(row.raw))
    await session.commit()
    data = TicketCreate.model_validate(
        {
            "kind": kind,
            "category": category,
            "subject": (parsed.subject or row.subject or "(sin asunto)")[:MAX_SUBJECT],
            "description": parsed.full_text or parsed.body_text or "(correo sin texto)",
            "suggested_priority": parsed.suggested_priority if kind is Kind.SUPPORT else None,
            "business_impact": parsed.business_impact,
            "reporter_email": reporter_email,
            "channel": Channel.EMAIL,
        }
    )
    opened = await intake.open_ticket(
        session, temporal, settings, principal, data, f"refused-mail-{mail_id}"
    )
    number = opened.view.number
    for item in parsed.attachments:
        await attachments.upload(
            session, temporal, settings, principal, number, item.filename, _chunks(item.data)
        )
    await _mark(session, mail_id, principal, number)
    return number


async def register_sender(
    session: AsyncSession, principal: Principal, mail_id: int, nit: str, name: str
) -> ContactOut:
    """The sender becomes a contact of the client `nit` (admin, as the registry)."""
    access.check(principal, Action.MANAGE_REGISTRY)
    row = await _row(session, mail_id)
    _not_handled(row)
    email = row.from_address
    await session.commit()
    data = ContactCreate.model_validate({"name": name, "email": email})
    return await registry.create_contact(session, nit, data, actor=principal.email)


async def _mark(
    session: AsyncSession, mail_id: int, principal: Principal, number: int | None
) -> None:
    row = await _row(session, mail_id)
    row.handled_at = datetime.now(UTC)
    row.handled_by = principal.email
    row.ticket_number = number
    await session.commit()
