"""The ticket an email asks for (subject, text, impact, priority, category lines), who sent it,
and whom else to inform."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.models import Client, Contact, TicketIntake
from soporte.email.parse import ParsedMail, fold, labelled_value
from soporte.policy import Channel, Kind
from soporte.policy.tickets import AttachmentRef, TicketInput
from soporte.services.email_intake.results import (
    DEFAULT_CATEGORY,
    IDEMPOTENCY_PREFIX,
    MAX_BODY_CHARS,
    MAX_SUBJECT_CHARS,
    clean,
)
from soporte.services.intake import stored_input
from soporte.services.people_to_inform import informable, normalized
from soporte.services.schemas import TicketCreate

_EXPECTED_LABEL = re.compile(r"^resultado esperado$")
_CATEGORY_LABEL = re.compile(r"^(?:categoria|modulo)$")
_LEGAL_LABEL = re.compile(r"^(?:numero legal|documento afectado|numero del documento)$")


def _idempotency_key(key: str) -> str:
    candidate = IDEMPOTENCY_PREFIX + key
    if len(candidate) <= 200:
        return candidate
    return IDEMPOTENCY_PREFIX + "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _message_body(parsed: ParsedMail, refs: list[AttachmentRef]) -> str:
    body = clean(parsed.body_text.strip() or parsed.full_text.strip(), MAX_BODY_CHARS)
    if body:
        return body
    if refs:
        return "Adjuntos: " + ", ".join(ref.filename for ref in refs)
    return "(mensaje sin texto)"


def _labelled(text: str, label: re.Pattern[str], limit: int) -> str | None:
    value = labelled_value(text, label)
    return clean(value, limit).strip() or None if value else None


def ticket_request(parsed: ParsedMail, reporter: str, notify: Iterable[str]) -> TicketCreate:
    """The request an email makes: subject, text, impact and priority lines. Deterministic."""
    text = parsed.body_text if parsed.body_text.strip() else parsed.full_text
    subject = re.sub(r"\s+", " ", clean(parsed.subject)).strip()[:MAX_SUBJECT_CHARS]
    description = clean(text, MAX_BODY_CHARS).strip()
    category = _labelled(text, _CATEGORY_LABEL, 100) or DEFAULT_CATEGORY
    return TicketCreate(
        kind=Kind.SUPPORT,
        category=fold(category)[:100] or DEFAULT_CATEGORY,
        suggested_priority=parsed.suggested_priority,
        subject=subject or "(sin asunto)",
        description=description or subject or "(correo sin texto)",
        expected_result=_labelled(text, _EXPECTED_LABEL, MAX_BODY_CHARS) or "",
        legal_number=_labelled(text, _LEGAL_LABEL, 100),
        business_impact=clean(parsed.business_impact, MAX_BODY_CHARS).strip() or None,
        notify=sorted(set(notify)),
        reporter_email=reporter,
        channel=Channel.EMAIL,
    )


async def _sender_of(session: AsyncSession, address: str) -> tuple[Contact, Client] | None:
    row = (
        await session.execute(
            select(Contact, Client)
            .join(Client, Client.nit == Contact.client_nit)
            .where(Contact.email == address)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def _notify_list(
    session: AsyncSession, parsed: ParsedMail, nit: str, reporter: str
) -> list[str]:
    """Who else to inform: the people to inform among To and Cc (the others are dropped)."""
    addresses = normalized([*parsed.to, *parsed.cc]) - {reporter}
    return sorted(await informable(session, nit, addresses))


async def _earlier_intake(session: AsyncSession, principal: str, key: str) -> TicketInput | None:
    row = await session.scalar(
        select(TicketIntake).where(
            TicketIntake.principal == principal, TicketIntake.idempotency_key == key
        )
    )
    await session.commit()
    return stored_input(row) if row is not None else None
