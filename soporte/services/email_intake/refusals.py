"""Refusals and automatic replies: the refused message kept, and the sender answered once,
within the hourly caps (per sender, and all senders together), never when it could loop,
never to a sender our receiving server says is forged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soporte import metrics
from soporte.db.mail_models import AutoReply, MailOutcome, RefusedMail
from soporte.db.models import Client
from soporte.db.session import bind_of, write_turn
from soporte.email.loops import should_auto_reply
from soporte.email.parse import ParsedMail
from soporte.email.secret import message_ids
from soporte.email.templates import WireMail, render, wire_email
from soporte.email.transport import send_mail
from soporte.policy.names import MailTemplate
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

OWN_TICKET_TEMPLATES = frozenset({MailTemplate.REOPEN_REFUSED, MailTemplate.UNVERIFIED_MESSAGE})


@dataclass
class Refusals:
    """Keeping refused mail in `refused_mail`, and the automatic replies to its senders."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    our_addresses: frozenset[str]
    auto_reply_cap: int
    global_cap: int

    async def keep(
        self,
        parsed: ParsedMail,
        raw: bytes,
        key: str,
        reason: str,
        number: int | None,
        outcome: str,
        template: MailTemplate | None = None,
    ) -> int:
        """Keep the message in `refused_mail` (once, within its bounds); returns its row id."""
        async with write_turn(bind_of(self.sessions)), self.sessions() as session:
            exists = await session.scalar(
                select(RefusedMail.id).where(RefusedMail.message_id == key)
            )
            if exists is not None:
                return exists
            row = RefusedMail(
                message_id=key,
                received_at=self.clock(),
                from_address=clean(parsed.from_address.lower(), 320),
                subject=clean(parsed.subject, 1000),
                outcome=outcome,
                reason=clean(reason),
                number=number,
                raw=bytes(raw),
            )
            await keep_refused(session, row)  # capped and expired (soporte/services/refused_mail)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                found = await session.scalar(
                    select(RefusedMail.id).where(RefusedMail.message_id == key)
                )
                if found is None:
                    raise
                return found
            metrics.MAILS_REFUSED.labels(reason=metrics.refusal_reason(template, outcome)).inc()
            return row.id

    async def refuse(
        self,
        parsed: ParsedMail,
        raw: bytes,
        key: str,
        reason: str,
        number: int | None,
        *,
        outcome: str = MailOutcome.REFUSED,
        template: MailTemplate | None = None,
        client: Client | None = None,
        forged: bool = False,
    ) -> IntakeResult:
        """Keep the message in `refused_mail`; answer the sender when that is safe (never
        when `forged`: our receiving server said the sender's domain failed verification,
        so an answer would go to someone who did not write)."""
        await self.keep(parsed, raw, key, reason, number, outcome, template=template)
        note = ""
        if template is not None and outcome == MailOutcome.REFUSED:
            if forged:
                note = "no automatic reply: the sender's domain failed verification"
            else:
                note = await self.auto_reply(parsed, key, template, number, client)
        # A refused reply is not the ticket's: the row keeps the number, the outcome does not.
        return IntakeResult(outcome, key, None, reason, auto_reply=note)

    async def auto_reply(
        self,
        parsed: ParsedMail,
        key: str,
        template: MailTemplate,
        number: int | None,
        client: Client | None,
        extra: dict[str, object] | None = None,
    ) -> str:
        """Answer the sender once, within the hourly caps; returns what happened."""
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
                    parsed,
                    self.our_addresses,
                    recent or 0,
                    self.auto_reply_cap,
                    self.settings.our_mail_domains,
                )
                if not allowed:
                    return f"no automatic reply: {why}"
                everyone = await session.scalar(
                    select(func.count())
                    .select_from(AutoReply)
                    .where(AutoReply.sent_at > now - AUTO_REPLY_WINDOW)
                )
                if (everyone or 0) >= self.global_cap:
                    return (
                        f"no automatic reply: global cap of {self.global_cap} automatic "
                        "replies per hour reached"
                    )
                digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:24]
                claim = AutoReply(
                    to_address=clean(to, 320),
                    sent_at=now,
                    inbound_message_id=key,
                    template=template,
                    message_id=self._reply_id(number, digest),
                )
                session.add(claim)
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    return "already answered"
            claim_id, reply_id = claim.id, claim.message_id
        message = self.compose(parsed, template, number, client, reply_id, now, extra or {})
        await send_mail(self.settings, message)
        async with write_turn(bind_of(self.sessions)), self.sessions() as session:
            row = await session.get(AutoReply, claim_id)
            if row is not None:
                row.delivered_at = self.clock()
                await session.commit()
        return f"automatic reply {template} sent to {to}"

    def _reply_id(self, number: int | None, digest: str) -> str:
        if number:
            return message_ids(self.settings).for_mail(number, f"auto.{digest}")
        ids = message_ids(self.settings)
        return f"<auto.{ids.mac(f'auto.{digest}')}@{ids.domain}>"

    def compose(
        self,
        parsed: ParsedMail,
        template: MailTemplate,
        number: int | None,
        client: Client | None,
        reply_id: str,
        now: datetime,
        extra: dict[str, object],
    ) -> WireMail:
        subject = clean(parsed.subject, 200)
        channels = self.settings.channels()
        data: dict[str, object] = {
            **channels,
            "from_address": parsed.from_address.lower(),
            "subject": subject,
        }
        if client is not None:
            data["client_name"] = client.name
        data.update(extra)
        # Only a mail about the sender's own ticket carries its number.
        thread_number = number if template in OWN_TICKET_TEMPLATES else None
        notification = Notification(
            id=reply_id,
            number=thread_number or 0,
            template=template,
            to=[parsed.from_address.lower()],
            data=data,
        )
        rendered = render(notification)
        in_reply_to = None if parsed.message_id_synthesized else parsed.message_id
        return wire_email(
            rendered,
            to=[parsed.from_address.lower()],
            from_addr=self.settings.from_header(
                self.settings.support_address_in([*parsed.to, *parsed.cc])
            ),
            message_id=reply_id,
            in_reply_to=in_reply_to,
            references=parsed.references,
            number=thread_number,
            thread_root=message_ids(self.settings).thread_root(thread_number)
            if thread_number
            else None,
            now=now,
        )
