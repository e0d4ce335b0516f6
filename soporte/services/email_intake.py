"""The email channel's intake: one raw RFC 5322 message in, exactly one effect out.

Fed by the SMTP listener (soporte.inbound) and by `POST /api/v1/inbound-email` alike.
`EmailIntake.receive(raw, envelope_from)` decides, in this order:

1. **Loops**: a message with a loop risk (Auto-Submitted, bulk/list, bounces, a null
   return path, our own addresses or Message-IDs) is never answered and never acts as a
   client: it is kept in `refused_mail`, outcome `ignored`.
2. **Who sent it**: the From address must be an active contact of an active client; else
   the message is kept in `refused_mail` (outcome `refused`) and the sender gets a polite
   Spanish auto-reply saying why (at most `auto_reply_cap` per sender per hour, never to
   a loop risk: `soporte.email.loops.should_auto_reply`).
3. **Threading**: the ticket number in the subject, then In-Reply-To/References (our own
   Message-IDs, the `outbound_mail` table, mail we received for a ticket). A ticket of the
   sender's client gets the message as the client's reply (signal `client_message`, id =
   the email's Message-ID, so the workflow applies it once). A ticket of another client
   is refused: the sender does not act as that client.
4. Otherwise a **new ticket** through the intake service (channel email, reporter = the
   sender, Message-ID as idempotency key, so a retry gets the same number).

Exactly once: a Message-ID already in `inbound_mail` answers its recorded outcome and does
nothing. That row is written last, once the effect is durable; every step before it is
idempotent on its own (intake key, workflow signal dedupe, unique refused/auto-reply rows),
so a failure half way (Temporal or the database down) raises, the SMTP sender hears 451,
and its retry completes the work without doubling anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client as TemporalClient
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from soporte.db.mail_models import AutoReply, InboundMail, MailOutcome, RefusedMail
from soporte.db.models import Attachment, Client, Contact, OutboundMail, Ticket, TicketIntake
from soporte.db.models import utcnow as _utcnow
from soporte.db.session import bind_of, write_turn
from soporte.email.loops import DEFAULT_CAP_PER_HOUR, should_auto_reply
from soporte.email.parse import ParsedMail, fold, labelled_value, parse_message
from soporte.email.templates import (
    RenderedMail,
    build_email,
    is_our_message_id,
    message_id_for,
    render,
    ticket_number_from_message_id,
)
from soporte.policy import Channel, Kind, Role, Status
from soporte.services import attachments as evidence
from soporte.services.auth import Principal
from soporte.services.errors import Conflict, ServiceError, Unavailable
from soporte.services.intake import Reporter, allocate, start_workflow, stored_input
from soporte.services.refused_mail import keep_refused
from soporte.services.schemas import TicketCreate
from soporte.settings import Settings
from soporte.tickets import (
    AttachmentRef,
    ClientMessage,
    Notification,
    ReopenCommand,
    TicketInput,
    TicketView,
    workflow_id,
)

log = logging.getLogger("soporte.email")

TemporalGetter = Callable[[], Awaitable[TemporalClient]]
Clock = Callable[[], datetime]

SUPPORT_PHONE = "601 000 0000"
DEFAULT_CATEGORY = "general"
SIGNAL_TIMEOUT = timedelta(seconds=10)
AUTO_REPLY_WINDOW = timedelta(hours=1)
# An unsent claim younger than this belongs to an attempt still running (another process).
AUTO_REPLY_LEASE = timedelta(minutes=2)
MAX_KEY_CHARS = 400
MAX_BODY_CHARS = 20_000
MAX_SUBJECT_CHARS = 200
IDEMPOTENCY_PREFIX = "email:"
_STRICT_SUBJECT_TAG = re.compile(r"\[\s*#\s*(\d{1,9})\s*\]")
_EXPECTED_LABEL = re.compile(r"^resultado esperado$")
_CATEGORY_LABEL = re.compile(r"^(?:categoria|modulo)$")
_LEGAL_LABEL = re.compile(r"^(?:numero legal|documento afectado|numero del documento)$")


@dataclass(frozen=True)
class IntakeResult:
    """What became of one message: `outcome` is one of MailOutcome."""

    outcome: str
    message_id: str
    number: int | None = None
    reason: str = ""
    duplicate: bool = False
    auto_reply: str = ""


@dataclass(frozen=True)
class _Thread:
    number: int
    nit: str
    own: bool


@dataclass
class _KeyLocks:
    """One asyncio lock per Message-ID in flight: concurrent duplicates run one at a time."""

    locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self.locks.get(key, (asyncio.Lock(), 0))
        self.locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.locks[key]
            if users <= 1:
                del self.locks[key]
            else:
                self.locks[key] = (lock, users - 1)


def mail_key(message_id: str) -> str:
    """The `inbound_mail` key of a Message-ID: itself, or its SHA-256 when very long."""
    message_id = message_id.strip()
    if len(message_id) <= MAX_KEY_CHARS:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def clean(text: str | None, limit: int | None = None) -> str:
    """Text any database and mail can hold: no NUL, no lone surrogates, bounded."""
    value = (text or "").replace("\x00", "")
    value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit] if limit is not None else value


class EmailIntake:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        temporal: TemporalGetter,
        *,
        auto_reply_cap: int | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self._temporal = temporal
        cap = auto_reply_cap
        if cap is None:
            cap = int(getattr(settings, "auto_reply_cap_per_hour", DEFAULT_CAP_PER_HOUR))
        self.auto_reply_cap = cap
        self.clock = clock
        self._locks = _KeyLocks()
        ours = {address.strip().lower() for address in settings.support_addresses}
        ours.add(settings.mail_from.strip().lower())
        self.our_addresses = frozenset(ours)
        domains = {"soporte.btw.com.co", settings.mail_from.rpartition("@")[2].lower()}
        self._our_domains = tuple(sorted(domain for domain in domains if domain))

    # --- The entry point ----------------------------------------------------------------------

    async def receive(self, raw: bytes, envelope_from: str | None = None) -> IntakeResult:
        """Handle one message once. Raises on a transient failure (the sender must retry)."""
        parsed = await asyncio.to_thread(parse_message, raw, envelope_from)
        key = mail_key(parsed.message_id)
        async with self._locks.hold(key):
            earlier = await self._recorded(key)
            if earlier is not None:
                return earlier
            result = await self._handle(parsed, raw, key)
            return await self._record(key, parsed, result)

    async def _recorded(self, key: str) -> IntakeResult | None:
        async with self.sessions() as session:
            row = await session.get(InboundMail, key)
            if row is None:
                return None
            return IntakeResult(
                outcome=row.outcome,
                message_id=key,
                number=row.number,
                reason=row.reason,
                duplicate=True,
            )

    async def _record(self, key: str, parsed: ParsedMail, result: IntakeResult) -> IntakeResult:
        row = InboundMail(
            message_id=key,
            received_at=self.clock(),
            from_address=clean(parsed.from_address.lower(), 320),
            outcome=result.outcome,
            number=result.number,
            reason=clean(result.reason),
        )
        async with write_turn(bind_of(self.sessions)), self.sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:  # another process finished the same message first
                await session.rollback()
                earlier = await session.get(InboundMail, key)
                if earlier is None:
                    raise
                return IntakeResult(
                    earlier.outcome, key, earlier.number, earlier.reason, duplicate=True
                )
        log.info(
            "inbound %s from %s: %s%s %s",
            key,
            parsed.from_address,
            result.outcome,
            f" #{result.number}" if result.number else "",
            result.reason,
        )
        return result

    # --- Deciding -----------------------------------------------------------------------------

    def loop_reason(self, parsed: ParsedMail) -> str | None:
        """Why this message must never be answered nor act as a client (None: it may)."""
        if parsed.loop_risk:
            return parsed.loop_risk
        if parsed.from_address.strip().lower() in self.our_addresses:
            return "sent from one of our own addresses"
        if not parsed.message_id_synthesized and any(
            is_our_message_id(parsed.message_id, domain) for domain in self._our_domains
        ):
            return "one of our own messages came back"
        return None

    async def _handle(self, parsed: ParsedMail, raw: bytes, key: str) -> IntakeResult:
        sender = parsed.from_address.strip().lower()
        async with self.sessions() as session:
            found = await _sender_of(session, sender) if sender else None
            nit = found[1].nit if found else None
            thread = await self._thread(session, parsed, nit)
        number = thread.number if thread else None
        if (loop := self.loop_reason(parsed)) is not None:
            why = f"not answered, possible mail loop ({loop})"
            return await self._refuse(parsed, raw, key, why, number, outcome=MailOutcome.IGNORED)
        if found is None:
            about = f" (a reply to ticket #{number})" if number else ""
            why = f"{sender or 'the sender'} is not a registered contact{about}"
            return await self._refuse(
                parsed, raw, key, why, number, template="refused_unknown_sender"
            )
        contact, client = found
        if not contact.active:
            why = f"{sender} is an inactive contact of {client.name} (NIT {client.nit})"
            return await self._refuse(
                parsed, raw, key, why, number, template="refused_unknown_sender"
            )
        if not client.active:
            why = f"the client {client.name} (NIT {client.nit}) is inactive"
            return await self._refuse(
                parsed, raw, key, why, number, template="refused_inactive_client", client=client
            )
        if thread is not None and not thread.own:
            why = (
                f"{sender} is a contact of {client.nit}, not of ticket #{thread.number}'s client: "
                "the reply was not added to the ticket"
            )
            return await self._refuse(parsed, raw, key, why, thread.number, template="foreign")
        if thread is not None:
            return await self._add_message(parsed, raw, key, thread.number, sender)
        return await self._open_ticket(parsed, key, contact, client)

    async def _thread(
        self, session: AsyncSession, parsed: ParsedMail, nit: str | None
    ) -> _Thread | None:
        """The ticket this message answers, if it names one that exists."""
        candidates = await self._candidates(session, parsed)
        if not candidates:
            return None
        numbers = [number for number, _ in candidates if 0 < number < 2**31]
        rows = await session.execute(
            select(TicketIntake.number, TicketIntake.nit).where(TicketIntake.number.in_(numbers))
        )
        owners = {number: owner for number, owner in rows.all()}
        existing = [(number, how) for number, how in candidates if number in owners]
        for number, _ in existing:
            if nit is not None and owners[number] == nit:
                return _Thread(number, owners[number], own=True)
        strict = _STRICT_SUBJECT_TAG.search(parsed.subject)
        for number, how in existing:
            # A loose '#123' in a subject may be an invoice number: only a '[#123]' tag or
            # the headers make a message a reply to someone else's ticket.
            if how != "subject" or (strict and int(strict.group(1)) == number):
                return _Thread(number, owners[number], own=False)
        return None

    async def _candidates(self, session: AsyncSession, parsed: ParsedMail) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        if parsed.ticket_number_in_subject is not None:
            found.append((parsed.ticket_number_in_subject, "subject"))
        ids = parsed.thread_message_ids
        for message_id in ids:
            for domain in self._our_domains:
                number = ticket_number_from_message_id(message_id, domain)
                if number is not None:
                    found.append((number, "headers"))
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
                    found.append((number, "headers"))
                if (number := by_key.get(mail_key(message_id))) is not None:
                    found.append((number, "headers"))
        return list(dict.fromkeys(found))

    # --- A client's reply ---------------------------------------------------------------------

    async def _add_message(
        self, parsed: ParsedMail, raw: bytes, key: str, number: int, sender: str
    ) -> IntakeResult:
        refs, refused = await self._store_evidence(parsed)
        message = ClientMessage(
            message_id=parsed.message_id,
            author_email=sender,
            body=_message_body(parsed, refs),
            channel=Channel.EMAIL,
            attachments=refs,
            email_message_id=parsed.message_id,
            refused_attachments=refused,
        )
        temporal = await self._temporal()
        handle = temporal.get_workflow_handle(workflow_id(number))
        try:
            await handle.signal("client_message", message, rpc_timeout=SIGNAL_TIMEOUT)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            if not await self._is_closed(temporal, number):
                raise Unavailable(f"ticket #{number} is not running yet; retry later") from None
            why = f"ticket #{number} is closed for good: the reply was not added"
            return await self._refuse(parsed, raw, key, why, number, template="reopen_refused")
        await self._record_attachments(number, refs, sender)
        if await _reopen_if_resolved(handle, parsed.message_id, sender, message.body):
            return IntakeResult(MailOutcome.MESSAGE_ADDED, key, number, "reopened the ticket")
        return IntakeResult(MailOutcome.MESSAGE_ADDED, key, number, "added to the ticket's log")

    async def _is_closed(self, temporal: TemporalClient, number: int) -> bool:
        async with self.sessions() as session:
            status = await session.scalar(select(Ticket.status).where(Ticket.number == number))
        if status == Status.CLOSED.value:
            return True
        try:
            described = await temporal.get_workflow_handle(workflow_id(number)).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return described.status not in (None, WorkflowExecutionStatus.RUNNING)

    # --- A new ticket -------------------------------------------------------------------------

    async def _open_ticket(
        self, parsed: ParsedMail, key: str, contact: Contact, client: Client
    ) -> IntakeResult:
        refs, refused = await self._store_evidence(parsed)
        async with self.sessions() as session:
            notify = await _notify_list(session, parsed, client.nit, contact.email)
        data = ticket_request(parsed, contact.email, notify)
        principal = Principal(
            email=contact.email,
            roles=frozenset({Role.CONTACT}),
            nit=client.nit,
            name=contact.name,
            client_active=client.active,
        )
        idempotency_key = _idempotency_key(key)
        reporter = Reporter(contact=contact, client=client)
        from_mail = {
            "source_message_id": parsed.message_id,
            "attachments": refs,
            "refused_attachments": refused,
        }
        async with self.sessions() as session:
            try:
                ticket, replayed = await allocate(
                    session,
                    principal,
                    data,
                    idempotency_key,
                    reporter,
                    Channel.EMAIL,
                    self.settings,
                    amend=from_mail,
                )
            except Conflict:
                # The same Message-ID came with other content: the first one stands.
                earlier = await _earlier_intake(session, contact.email, idempotency_key)
                if earlier is None:
                    raise
                ticket, replayed = earlier, True
        ticket = ticket.model_copy(update=from_mail)  # rows stored before `amend` lack them
        await start_workflow(await self._temporal(), self.settings, ticket, replay=replayed)
        await self._record_attachments(ticket.number, refs, contact.email)
        missing = ", ".join(ticket.missing_info)
        reason = "new ticket" + (f"; missing: {missing}" if missing else "")
        return IntakeResult(MailOutcome.TICKET_OPENED, key, ticket.number, reason)

    # --- Evidence -----------------------------------------------------------------------------

    async def _store_evidence(self, parsed: ParsedMail) -> tuple[list[AttachmentRef], list[str]]:
        refs: list[AttachmentRef] = []
        refused = [f"{item.filename}: {item.reason}" for item in parsed.refused_attachments]
        for item in parsed.attachments:
            try:
                stored = await evidence.store(self.settings, _chunks(item.data))
            except ServiceError as error:  # the evidence rules refused it after all
                refused.append(f"{item.filename}: {error.message}")
                continue
            ref = AttachmentRef(
                sha256=stored.sha256,
                filename=evidence.safe_filename(item.filename),
                content_type=stored.content_type,
                size=stored.size,
            )
            if ref.sha256 not in {known.sha256 for known in refs}:
                refs.append(ref)
        return refs, refused

    async def _record_attachments(
        self, number: int, refs: list[AttachmentRef], sender: str
    ) -> None:
        for ref in refs:
            async with write_turn(bind_of(self.sessions)), self.sessions() as session:
                exists = await session.scalar(
                    select(Attachment.id).where(
                        Attachment.number == number, Attachment.sha256 == ref.sha256
                    )
                )
                if exists is not None:
                    continue
                session.add(
                    Attachment(
                        sha256=ref.sha256,
                        number=number,
                        filename=ref.filename,
                        content_type=ref.content_type,
                        size=ref.size,
                        visibility="public",
                        uploaded_by=sender,
                    )
                )
                try:
                    await session.commit()
                except IntegrityError:  # recorded by a concurrent attempt
                    await session.rollback()

    # --- Refusals and automatic replies -------------------------------------------------------

    async def _refuse(
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
            note = await self._auto_reply(parsed, key, template, number, client)
        # A refused reply is not the ticket's: the row keeps the number, the outcome does not.
        return IntakeResult(outcome, key, None, reason, auto_reply=note)

    async def _auto_reply(
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
        message = self._compose(parsed, template, number, client, reply_id, now)
        await send_mail(self.settings, message)
        async with write_turn(bind_of(self.sessions)), self.sessions() as session:
            row = await session.get(AutoReply, claim_id)
            if row is not None:
                row.delivered_at = self.clock()
                await session.commit()
        return f"automatic reply {template} sent to {to}"

    def _compose(
        self,
        parsed: ParsedMail,
        template: str,
        number: int | None,
        client: Client | None,
        reply_id: str,
        now: datetime,
    ) -> EmailMessage:
        subject = clean(parsed.subject, 200)
        if template == "foreign":
            rendered = _foreign_thread_mail(parsed.from_address.lower(), subject)
            thread_number = None
        else:
            data: dict[str, object] = {
                "from_address": parsed.from_address.lower(),
                "subject": subject,
                "support_phone": SUPPORT_PHONE,
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
            from_addr=self.settings.mail_from,
            message_id=reply_id,
            in_reply_to=in_reply_to,
            references=parsed.references,
            number=thread_number,
            now=now,
        )


# --- Outbound: the same path as the notifications ---------------------------------------------


async def send_mail(settings: Settings, message: EmailMessage) -> None:
    """Maildir outbox by default, SMTP when SOPORTE_SMTP_URL is set (as notifications do)."""
    from activities.notifications import send_smtp, write_maildir

    if settings.smtp_url:
        await asyncio.to_thread(send_smtp, settings.smtp_url, message)
    else:
        await asyncio.to_thread(write_maildir, settings.outbox_dir, message)


def _foreign_thread_mail(sender: str, subject: str) -> RenderedMail:
    about = f" «{subject}»" if subject else ""
    text = (
        "Cordial saludo.\n\n"
        f"Recibimos su correo{about}, pero responde a una solicitud de otra empresa: "
        f"la dirección {sender} no es contacto del cliente de esa solicitud, así que no "
        "agregamos su mensaje.\n\n"
        "Si necesita ayuda, escríbanos en un correo nuevo (sin el número de otra solicitud "
        f"en el asunto), o comuníquese con su consultor de BTW o a la línea {SUPPORT_PHONE}."
        "\n\n-- \nSoporte Amazonas ERP · BTW\nEste es un mensaje automático.\n"
    )
    html = "".join(f"<p>{_escape(part)}</p>\n" for part in text.split("\n\n"))
    return RenderedMail("No pudimos agregar su mensaje", text, html)


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>\n")


# --- Pure helpers -----------------------------------------------------------------------------


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _idempotency_key(key: str) -> str:
    candidate = IDEMPOTENCY_PREFIX + key
    if len(candidate) <= 200:
        return candidate
    return IDEMPOTENCY_PREFIX + "sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def _reopen_if_resolved(
    handle: WorkflowHandle[Any, Any], message_id: str, sender: str, body: str
) -> bool:
    """A client's reply to a resolved ticket asks to reopen it, the reply being the reason
    (POLICY.md §VIII.c). A refusal (e.g. already rated and closed) leaves the message logged."""
    view = await handle.query("view", result_type=TicketView, rpc_timeout=SIGNAL_TIMEOUT)
    if view.status is not Status.RESOLVED:
        return False
    command = ReopenCommand(actor_email=sender, reason=body)
    try:
        await handle.execute_update(
            "reopen", command, id=f"reopen-{message_id}", rpc_timeout=SIGNAL_TIMEOUT
        )
    except WorkflowUpdateFailedError as refused:
        log.info("reply to resolved ticket %s not reopened: %s", handle.id, refused.cause)
        return False
    return True


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
    suggested = parsed.suggested_priority
    if suggested is not None and not suggested.has_sla_clock:
        suggested = None
    category = _labelled(text, _CATEGORY_LABEL, 100) or DEFAULT_CATEGORY
    return TicketCreate(
        kind=Kind.SUPPORT,
        category=fold(category)[:100] or DEFAULT_CATEGORY,
        suggested_priority=suggested,
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
    """Who else to inform: active contacts of the same client among To and Cc."""
    addresses = {a.strip().lower() for a in [*parsed.to, *parsed.cc] if "@" in a} - {reporter}
    if not addresses:
        return []
    rows = await session.scalars(
        select(Contact.email).where(
            Contact.email.in_(sorted(addresses)),
            Contact.client_nit == nit,
            Contact.active.is_(True),
        )
    )
    return sorted(set(rows.all()))


async def _earlier_intake(session: AsyncSession, principal: str, key: str) -> TicketInput | None:
    row = await session.scalar(
        select(TicketIntake).where(
            TicketIntake.principal == principal, TicketIntake.idempotency_key == key
        )
    )
    await session.commit()
    return stored_input(row) if row is not None else None
