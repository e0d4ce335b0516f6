"""Refusals and automatic replies: the refused message kept, and the sender answered once,
within the hourly cap, never when it could loop."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soporte.db.mail_models import AutoReply, MailOutcome, RefusedMail
from soporte.db.models import Client
from soporte.db.session import bind_of, write_turn
from soporte.email.loops import should_auto_reply
from soporte.email.parse import ParsedMail
from soporte.email.templates import build_email, foreign_thread_mail, message_id_for, render
from soporte.email.transport import send_mail
from soporte.policy.tickets import Notification
from soporte.services.email_intake.results import (
    AUTO_REPLY_LEASE,
    AUTO_REPLY_WINDOW,
    Clock,
    IntakeResult,
    clean,
)
from soporte.services.errors import Unavailable
from soporte.services.refused_mail import keep_refused
from soporte.settings import Settings


@dataclass
class Refusals:
    """Keeping refused mail in `refused_mail`, and the automatic replies to its senders."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    our_addresses: frozenset[str]
    auto_reply_cap: int

    async def refuse(
        self,
        parsed: ParsedMail,
        raw: bytes,
        key: str,
        reason: str,
        number: int | None,
        *,
        outcome: str = MailOutcome.REFUSED,
        template: str | None = None,
        client: Client | None = None,
    ) -> IntakeResult:
        """Keep the message in `refused_mail`; answer the sender when that is safe."""
        async with write_turn(bind_of(self.sessions)), self.sessions() as session:
            exists = await session.scalar(
                select(RefusedMail.id).where(RefusedMail.message_id == key)
            )
            if exists is None:
                await keep_refused(  # capped and expired (soporte/services/refused_mail.py)
                    session,
                    RefusedMail(
                        message_id=key,
                        received_at=self.clock(),
                        from_address=clean(parsed.from_address.lower(), 320),
                        subject=clean(parsed.subject, 1000),
                        outcome=outcome,
                        reason=clean(reason),
                        number=number,
                        raw=bytes(raw),
                    ),
                )
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
        note = ""
        if template is not None and outcome == MailOutcome.REFUSED:
            note = await self.auto_reply(parsed, key, template, number, client)
        # A refused reply is not the ticket's: the row keeps the number, the outcome does not.
        return IntakeResult(outcome, key, None, reason, auto_reply=note)

    async def auto_reply(
        self,
        parsed: ParsedMail,
        key: str,
        template: str,
        number: int | None,
        client: Client | None,
    ) -> str:
        """Answer the sender once, within the hourly cap; returns what happened."""
        to = parsed.from_address.strip().lower()
        now = self.clock()
        async with write_turn(bind_of(self.sessions)), self.sessions() as session:
            claim = await session.scalar(
                select(AutoReply).where(AutoReply.inbound_message_id == key)
            )
            if claim is not None and claim.delivered_at is not None:
                return "already answered"
            if claim is not None and now - claim.sent_at < AUTO_REPLY_LEASE:
                # Another process is sending it right now: answering too could double it.
                raise Unavailable("an automatic reply to this message is being sent; retry")
            if claim is None:
                recent = await session.scalar(
                    select(func.count())
                    .select_from(AutoReply)
                    .where(AutoReply.to_address == to, AutoReply.sent_at > now - AUTO_REPLY_WINDOW)
                )
                allowed, why = should_auto_reply(
                    parsed, self.our_addresses, recent or 0, self.auto_reply_cap
                )
                if not allowed:
                    return f"no automatic reply: {why}"
                digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:24]
                claim = AutoReply(
                    to_address=clean(to, 320),
                    sent_at=now,
                    inbound_message_id=key,
                    template=template,
                    message_id=message_id_for(number or 0, f"auto.{digest}"),
                )
                session.add(claim)
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    return "already answered"
            claim_id, reply_id = claim.id, claim.message_id
        message = self.compose(parsed, template, number, client, reply_id, now)
        await send_mail(self.settings, message)
        async with write_turn(bind_of(self.sessions)), self.sessions() as session:
            row = await session.get(AutoReply, claim_id)
            if row is not None:
                row.delivered_at = self.clock()
                await session.commit()
        return f"automatic reply {template} sent to {to}"

    def compose(
        self,
        parsed: ParsedMail,
        template: str,
        number: int | None,
        client: Client | None,
        reply_id: str,
        now: datetime,
    ) -> EmailMessage:
        subject = clean(parsed.subject, 200)
        channels = self.settings.channels()
        if template == "foreign":
            rendered = foreign_thread_mail(parsed.from_address.lower(), subject, channels)
            thread_number = None
        else:
            data: dict[str, object] = {
                **channels,
                "from_address": parsed.from_address.lower(),
                "subject": subject,
            }
            if client is not None:
                data["client_name"] = client.name
            # Only a refusal about the sender's own ticket carries its number.
            thread_number = number if template == "reopen_refused" else None
            notification = Notification(
                id=reply_id,
                number=thread_number or 0,
                template=template,
                to=[parsed.from_address.lower()],
                data=data,
            )
            rendered = render(notification)
        in_reply_to = None if parsed.message_id_synthesized else parsed.message_id
        return build_email(
            rendered,
            to=[parsed.from_address.lower()],
            from_addr=self.settings.from_header(
                self.settings.support_address_in([*parsed.to, *parsed.cc])
            ),
            message_id=reply_id,
            in_reply_to=in_reply_to,
            references=parsed.references,
            number=thread_number,
            now=now,
        )
