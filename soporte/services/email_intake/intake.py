"""The email intake: one raw message in, exactly one effect out (see the package docstring)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client as TemporalClient
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from soporte.db.mail_models import InboundMail, MailOutcome
from soporte.db.models import Attachment, Client, Contact, Staff, Ticket
from soporte.db.models import utcnow as _utcnow
from soporte.db.session import bind_of, engine_of, write_turn
from soporte.email.loops import DEFAULT_CAP_PER_HOUR
from soporte.email.parse import ParsedMail, parse_message
from soporte.email.templates import is_our_message_id
from soporte.policy import Channel, Role, Status
from soporte.policy import ticket as ts
from soporte.policy.tickets import (
    AttachmentRef,
    ClientMessage,
    RatingCommand,
    ReopenCommand,
    TicketView,
    workflow_id,
)
from soporte.services import attachments as evidence
from soporte.services.auth import Principal
from soporte.services.email_intake.refusals import Refusals
from soporte.services.email_intake.request import (
    _earlier_intake,
    _idempotency_key,
    _message_body,
    _notify_list,
    _sender_of,
    ticket_request,
)
from soporte.services.email_intake.results import (
    SIGNAL_TIMEOUT,
    Clock,
    IntakeResult,
    TemporalGetter,
    clean,
    log,
    mail_key,
)
from soporte.services.email_intake.threads import answers_rating_invitation, find_thread
from soporte.services.errors import Conflict, ServiceError, Unavailable
from soporte.services.intake import Reporter, allocate, start_workflow
from soporte.settings import Settings


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
        cap = DEFAULT_CAP_PER_HOUR if auto_reply_cap is None else auto_reply_cap
        self.auto_reply_cap = cap
        self.clock = clock
        self._locks = _KeyLocks()
        ours = {address.strip().lower() for address in settings.support_addresses}
        ours.add(settings.mail_from.strip().lower())
        self.our_addresses = frozenset(ours)
        domains = {"soporte.btw.com.co", settings.mail_from.rpartition("@")[2].lower()}
        self._our_domains = tuple(sorted(domain for domain in domains if domain))
        self._refusals = Refusals(settings, sessions, clock, self.our_addresses, cap)

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
            thread = await find_thread(session, parsed, nit, self._our_domains)
            is_staff = found is None and bool(sender) and await _is_staff(session, sender)
            rating = thread is not None and await answers_rating_invitation(
                session, parsed, thread.number
            )
        number = thread.number if thread else None
        if (loop := self.loop_reason(parsed)) is not None:
            why = f"not answered, possible mail loop ({loop})"
            return await self._refusals.refuse(
                parsed, raw, key, why, number, outcome=MailOutcome.IGNORED
            )
        if is_staff:
            why = f"{sender} is a staff address: staff answer in the console or the API"
            return await self._refusals.refuse(
                parsed, raw, key, why, number, template="refused_staff_sender"
            )
        if found is None:
            about = f" (a reply to ticket #{number})" if number else ""
            why = f"{sender or 'the sender'} is not a registered contact{about}"
            return await self._refusals.refuse(
                parsed, raw, key, why, number, template="refused_unknown_sender"
            )
        contact, client = found
        if not contact.active:
            why = f"{sender} is an inactive contact of {client.name} (NIT {client.nit})"
            return await self._refusals.refuse(
                parsed, raw, key, why, number, template="refused_unknown_sender"
            )
        if not client.active:
            why = f"the client {client.name} (NIT {client.nit}) is inactive"
            return await self._refusals.refuse(
                parsed, raw, key, why, number, template="refused_inactive_client", client=client
            )
        if thread is not None and not thread.own:
            why = (
                f"{sender} is a contact of {client.nit}, not of ticket #{thread.number}'s client: "
                "the reply was not added to the ticket"
            )
            return await self._refusals.refuse(
                parsed, raw, key, why, thread.number, template="foreign"
            )
        if thread is None:
            return await self._open_ticket(parsed, key, contact, client)
        score = ts.score_at_start(_message_body(parsed, [])) if rating else None
        if score is not None and (rated := await self._rate(key, thread.number, sender, score)):
            return rated
        # Starting with a score, it never reopens, even when the rating itself was refused.
        return await self._add_message(
            parsed, raw, key, thread.number, sender, may_reopen=score is None
        )

    # --- A client's reply ---------------------------------------------------------------------

    async def _rate(
        self, key: str, number: int, sender: str, score: tuple[int, str]
    ) -> IntakeResult | None:
        """A reply to the rating invitation that starts with a score records the rating (the
        rest is its comment) and never reopens (POLICY §VIII). None when the rating is
        refused (already rated, reopened since): the reply is then kept as a message."""
        command = RatingCommand(actor_email=sender, score=score[0], comment=score[1][:2000])
        handle = (await self._temporal()).get_workflow_handle(workflow_id(number))
        try:
            await handle.execute_update(
                "rate", command, id=f"rate-{key}"[:1000], rpc_timeout=SIGNAL_TIMEOUT
            )
        except WorkflowUpdateFailedError as refused:
            log.info("rating reply to ticket #%s not recorded: %s", number, refused.cause)
            return None
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return None
        return IntakeResult(MailOutcome.MESSAGE_ADDED, key, number, f"rated {score[0]}")

    async def _add_message(
        self,
        parsed: ParsedMail,
        raw: bytes,
        key: str,
        number: int,
        sender: str,
        *,
        may_reopen: bool = True,
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
            return await self._refusals.refuse(
                parsed, raw, key, why, number, template="reopen_refused"
            )
        await self._record_attachments(number, refs, sender)
        if may_reopen and await _reopen_if_resolved(
            handle, parsed.message_id, sender, message.body
        ):
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
            "support_address": self.settings.support_address_in([*parsed.to, *parsed.cc]),
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
        engine = engine_of(bind_of(self.sessions))
        ticket = await start_workflow(
            await self._temporal(), self.settings, ticket, replay=replayed, engine=engine
        )
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


async def _is_staff(session: AsyncSession, address: str) -> bool:
    return await session.scalar(select(Staff.id).where(Staff.email == address)) is not None


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


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
