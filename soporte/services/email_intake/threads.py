"""Threading: the ticket an inbound message answers (the subject's number, then our
Message-IDs, the mail we sent and the mail we received for a ticket), whose it is, and
whether the message proves it answers our mail (names one of our genuine Message-IDs)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.mail_models import InboundMail
from soporte.db.models import OutboundMail, TicketIntake
from soporte.email.parse import ParsedMail
from soporte.email.subject_tag import tagged_number
from soporte.email.templates import MessageIds, ticket_number_from_message_id
from soporte.policy.names import MailTemplate
from soporte.services.email_intake.results import mail_key


@dataclass(frozen=True)
class _Thread:
    number: int
    nit: str
    own: bool
    # The message names one of our genuine Message-IDs of this ticket (keyed hash checked, or
    # one we recorded sending): it answers mail that went to the ticket's people.
    answers_ours: bool = False


async def find_thread(
    session: AsyncSession, parsed: ParsedMail, nit: str | None, ids: tuple[MessageIds, ...]
) -> _Thread | None:
    """The ticket this message answers, if it names one that exists."""
    candidates = await _candidates(session, parsed, ids)
    if not candidates:
        return None
    proven = {number for number, how in candidates if how == "ours"}
    numbers = [number for number, _ in candidates if 0 < number < 2**31]
    rows = await session.execute(
        select(TicketIntake.number, TicketIntake.nit).where(TicketIntake.number.in_(numbers))
    )
    owners = {number: owner for number, owner in rows.all()}
    existing = [(number, how) for number, how in candidates if number in owners]
    for number, _ in existing:
        if nit is not None and owners[number] == nit:
            return _Thread(number, owners[number], own=True, answers_ours=number in proven)
    strict = tagged_number(parsed.subject)
    for number, how in existing:
        # A loose '#123' in a subject may be an invoice number: only a '[#123]' tag or
        # the headers make a message a reply to someone else's ticket.
        if how != "subject" or strict == number:
            return _Thread(number, owners[number], own=False)
    return None


async def _candidates(
    session: AsyncSession, parsed: ParsedMail, our_ids: tuple[MessageIds, ...]
) -> list[tuple[int, str]]:
    """(number, how): how is "ours" (a genuine Message-ID of ours), "headers" or "subject"."""
    found: list[tuple[int, str]] = []
    if parsed.ticket_number_in_subject is not None:
        found.append((parsed.ticket_number_in_subject, "subject"))
    ids = parsed.thread_message_ids
    for message_id in ids:
        for checker in our_ids:
            number = checker.ticket_of(message_id)
            if number is not None:
                found.append((number, "ours"))
    if ids:
        sent = await session.execute(
            select(OutboundMail.message_id, OutboundMail.number).where(
                OutboundMail.message_id.in_(ids)
            )
        )
        by_id = dict(sent.all())
        keys = [mail_key(message_id) for message_id in ids]
        received = await session.execute(
            select(InboundMail.message_id, InboundMail.number).where(
                InboundMail.message_id.in_(keys), InboundMail.number.is_not(None)
            )
        )
        by_key = dict(received.all())
        for message_id in ids:
            if (number := by_id.get(message_id)) is not None:
                found.append((number, "ours"))
            if (number := by_key.get(mail_key(message_id))) is not None:
                found.append((number, "headers"))
    return list(dict.fromkeys(found))


async def answers_rating_invitation(session: AsyncSession, parsed: ParsedMail, number: int) -> bool:
    """The message replies to ticket `number`'s rating invitation: its In-Reply-To (else its
    last reference) is the Message-ID of that mail (recorded in `outbound_mail` when sent)."""
    answered = parsed.in_reply_to or (parsed.references[-1] if parsed.references else None)
    if not answered:
        return False
    sent = await session.scalar(
        select(OutboundMail.id).where(
            OutboundMail.message_id == answered.strip(), OutboundMail.number == number
        )
    )
    if sent is not None:
        return str(sent).endswith(f"-{MailTemplate.RATING_INVITATION}")
    # Mail sent before `outbound_mail` kept Message-IDs: the id names the notification.
    return ticket_number_from_message_id(answered) == number and (
        f"-{MailTemplate.RATING_INVITATION}@" in answered
    )
