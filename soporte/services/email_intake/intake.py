"""The email intake: one raw message in, exactly one effect out (see the package docstring)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client as TemporalClient
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from soporte import portal_paths
from soporte.db.mail_models import InboundMail, MailOutcome, RefusedMail
from soporte.db.models import Attachment, Client, Contact, Staff, Ticket
from soporte.db.models import utcnow as _utcnow
from soporte.db.session import bind_of, engine_of, write_turn
from soporte.email.authresults import SenderCheck, sender_check
from soporte.email.loops import DEFAULT_CAP_PER_HOUR, loop_reason
from soporte.email.parse import ParsedMail, parse_message
from soporte.email.secret import confirmation_row, confirmation_token, mail_secret
from soporte.email.templates import MessageIds
from soporte.policy import Channel, Role, Status
from soporte.policy import ticket as ts
from soporte.policy.names import MailTemplate, TicketSignal, TicketUpdate
from soporte.policy.tickets import (
    AttachmentRef,
    ClientMessage,
    RatingCommand,
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
from soporte.services.errors import Conflict, NotFound, ServiceError, Unavailable
from soporte.services.intake import Reporter, allocate, start_workflow
from soporte.services.tickets import ReopenOutcome, live_view, reopen_on_client_message
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
        self.our_addresses = settings.our_addresses
        self._our_domains = settings.our_mail_domains
        secret = mail_secret(settings)
        self._ids = tuple(MessageIds(secret, domain) for domain in self._our_domains)
        self._refusals = Refusals(
            settings,
            sessions,
            clock,
            self.our_addresses,
            cap,
            settings.auto_reply_global_cap_per_hour,
        )

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
        return loop_reason(parsed, self.our_addresses, self._our_domains)

    async def _handle(self, parsed: ParsedMail, raw: bytes, key: str) -> IntakeResult:
        sender = parsed.from_address.strip().lower()
        async with self.sessions() as session:
            found = await _sender_of(session, sender) if sender else None
            nit = found[1].nit if found else None
            thread = await find_thread(session, parsed, nit, self._ids)
            is_staff = found is None and bool(sender) and await _is_staff(session, sender)
            rating = thread is not None and await answers_rating_invitation(
                session, parsed, thread.number
            )
        number = thread.number if thread else None
        check = sender_check(raw, self.settings.trusted_authserv_id, sender)
        forged = check is SenderCheck.FAIL
        if (loop := self.loop_reason(parsed)) is not None:
            why = f"not answered, possible mail loop ({loop})"
            return await self._refusals.refuse(
                parsed, raw, key, why, number, outcome=MailOutcome.IGNORED
            )
        if is_staff:
            why = f"{sender} is a staff address: staff answer in the console or the API"
            return await self._refusals.refuse(
                parsed,
                raw,
                key,
                why,
                number,
                template=MailTemplate.REFUSED_STAFF_SENDER,
                forged=forged,
            )
        if found is None:
            about = f" (a reply to ticket #{number})" if number else ""
            why = f"{sender or 'the sender'} is not a registered contact{about}"
            return await self._refusals.refuse(
                parsed,
                raw,
                key,
                why,
                number,
                template=MailTemplate.REFUSED_UNKNOWN_SENDER,
                forged=forged,
            )
        contact, client = found
        if not contact.active:
            why = f"{sender} is an inactive contact of {client.name} (NIT {client.nit})"
            return await self._refusals.refuse(
                parsed,
                raw,
                key,
                why,
                number,
                template=MailTemplate.REFUSED_UNKNOWN_SENDER,
                forged=forged,
            )
        if not client.active:
            why = f"the client {client.name} (NIT {client.nit}) is inactive"
            return await self._refusals.refuse(
                parsed,
                raw,
                key,
                why,
                number,
                template=MailTemplate.REFUSED_INACTIVE_CLIENT,
                client=client,
                forged=forged,
            )
        if thread is not None and not thread.own:
            why = (
                f"{sender} is a contact of {client.nit}, not of ticket #{thread.number}'s client: "
                "the reply was not added to the ticket"
            )
            return await self._refusals.refuse(
                parsed,
                raw,
                key,
                why,
                thread.number,
                template=MailTemplate.FOREIGN_THREAD,
                forged=forged,
            )
        # Sender trust (POLICY.md "Who sees what"): From alone proves nothing. A reply
        # acts as the client when it answers one of our genuine Message-IDs or our
        # receiving server verified its sender, never when that server says forged.
        if thread is None:
            if check is SenderCheck.PASS:
                return await self._open_ticket(parsed, key, contact, client)
            return await self._hold_for_confirmation(parsed, raw, key, contact, check)
        if forged or not (thread.answers_ours or check is SenderCheck.PASS):
            # Unverified: logged for staff; it neither rates, nor reopens, nor ends a wait.
            return await self._add_unverified(parsed, raw, key, thread.number, contact, check)
        score = ts.score_at_start(_message_body(parsed, [])) if rating else None
        if score is not None and (rated := await self._rate(key, thread.number, sender, score)):
            return rated
        # Starting with a score, it never reopens, even when the rating itself was refused.
        return await self._add_message(
            parsed, raw, key, thread.number, sender, may_reopen=score is None
        )

    # --- Unverified senders -------------------------------------------------------------------

    async def _add_unverified(
        self,
        parsed: ParsedMail,
        raw: bytes,
        key: str,
        number: int,
        contact: Contact,
        check: SenderCheck,
    ) -> IntakeResult:
        """Keep it whole and in the ticket's log for staff; change nothing; tell the contact."""
        why = (
            f"a message in the name of {contact.email} that answers none of our mails and whose "
            f"sender was not verified (authentication: {check.value}): logged for staff, "
            "nothing changed"
        )
        await self._refusals.keep(parsed, raw, key, why, number, MailOutcome.UNVERIFIED)
        names = [item.filename for item in parsed.attachments]
        body = _message_body(parsed, [])
        if names:
            body += "\n\n[adjuntos no conservados: " + ", ".join(names) + "]"
        message = ClientMessage(
            message_id=parsed.message_id,
            author_email=contact.email,
            body=body,
            channel=Channel.EMAIL,
            email_message_id=parsed.message_id,
            verified=False,
        )
        handle = (await self._temporal()).get_workflow_handle(workflow_id(number))
        try:
            await handle.signal(TicketSignal.CLIENT_MESSAGE, message, rpc_timeout=SIGNAL_TIMEOUT)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            if not await self._is_closed(await self._temporal(), number):
                raise Unavailable(f"ticket #{number} is not running yet; retry later") from None
        note = await self._refusals.auto_reply(
            parsed, key, MailTemplate.UNVERIFIED_MESSAGE, number, None
        )
        return IntakeResult(MailOutcome.UNVERIFIED, key, number, why, auto_reply=note)

    async def _hold_for_confirmation(
        self, parsed: ParsedMail, raw: bytes, key: str, contact: Contact, check: SenderCheck
    ) -> IntakeResult:
        """A new request whose sender nothing proves: held (no ticket, no clock) until the
        contact follows the link we mail to its registered address, or staff confirm it."""
        why = (
            f"a new request in the name of {contact.email} whose sender was not verified "
            f"(authentication: {check.value}): held until the contact or staff confirm it"
        )
        row_id = await self._refusals.keep(parsed, raw, key, why, None, MailOutcome.PENDING)
        token = confirmation_token(self.settings, row_id, key)
        extra: dict[str, object] = {
            "confirm_url": portal_paths.absolute(
                self.settings.public_url, portal_paths.confirmation(token)
            ),
            "received_at": self.clock().isoformat(),
        }
        note = await self._refusals.auto_reply(
            parsed, key, MailTemplate.CONFIRM_TICKET, None, None, extra
        )
        return IntakeResult(MailOutcome.PENDING, key, None, why, auto_reply=note)

    async def confirm(self, token: str | None = None, *, row_id: int | None = None) -> IntakeResult:
        """Open the ticket a held message asks for: by its link's token (the contact), or by
        its row (staff). Idempotent: a second confirmation answers the same ticket."""
        if token is not None:
            row_id = confirmation_row(token)
        async with self.sessions() as session:
            row = await session.get(RefusedMail, row_id) if row_id is not None else None
            await session.commit()
        if row is None or row.outcome not in (MailOutcome.PENDING, MailOutcome.CONFIRMED):
            raise NotFound("there is no request waiting for confirmation with this link")
        if token is not None and token != confirmation_token(self.settings, row.id, row.message_id):
            raise NotFound("there is no request waiting for confirmation with this link")
        async with self._locks.hold(row.message_id):
            parsed = await asyncio.to_thread(parse_message, row.raw, None)
            async with self.sessions() as session:
                found = await _sender_of(session, row.from_address)
            if found is None or not found[0].active or not found[1].active:
                raise Conflict(
                    f"{row.from_address} is no longer an active contact of an active client"
                )
            result = await self._open_ticket(parsed, row.message_id, *found)
            await self._mark_confirmed(row.id, row.message_id, result)
        return result

    async def _mark_confirmed(self, row_id: int, key: str, result: IntakeResult) -> None:
        async with write_turn(bind_of(self.sessions)), self.sessions() as session:
            row = await session.get(RefusedMail, row_id)
            if row is not None:
                row.outcome, row.number = MailOutcome.CONFIRMED, result.number
            inbound = await session.get(InboundMail, key)
            if inbound is not None:
                inbound.outcome, inbound.number = result.outcome, result.number
                inbound.reason = clean(f"confirmed; {result.reason}")
            await session.commit()

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
                TicketUpdate.RATE, command, id=f"rate-{key}"[:1000], rpc_timeout=SIGNAL_TIMEOUT
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
        # The reopen question needs the status only, read before the signal: from the read
        # model, which every step of the ticket writes before it answers or waits again (a
        # query costs the server a round trip to the worker and the worker an activation,
        # issue 15); from the workflow when the ticket is not projected yet.
        # A ticket closed for good has no run to ask: its completed history would be replayed.
        projected = await self._projected_status(number)
        asks = may_reopen and projected is not Status.CLOSED
        before = projected if asks else None
        if asks and before is None:
            live = await live_view(temporal, number)
            before = live.status if live else None
        try:
            await handle.signal(TicketSignal.CLIENT_MESSAGE, message, rpc_timeout=SIGNAL_TIMEOUT)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            if not await self._is_closed(temporal, number):
                raise Unavailable(f"ticket #{number} is not running yet; retry later") from None
            why = f"ticket #{number} is closed for good: the reply was not added"
            return await self._refusals.refuse(
                parsed, raw, key, why, number, template=MailTemplate.REOPEN_REFUSED
            )
        await self._record_attachments(number, refs, sender)
        answer = None
        if may_reopen:
            answer = await reopen_on_client_message(temporal, number, message, before)
        if answer is not None and answer.outcome is ReopenOutcome.REOPENED:
            return IntakeResult(MailOutcome.MESSAGE_ADDED, key, number, "reopened the ticket")
        if answer is not None and answer.outcome is ReopenOutcome.REFUSED:
            log.info("reply to resolved ticket #%s not reopened: %s", number, answer.refusal)
        return IntakeResult(MailOutcome.MESSAGE_ADDED, key, number, "added to the ticket's log")

    async def _projected_status(self, number: int) -> Status | None:
        async with self.sessions() as session:
            status = await session.scalar(select(Ticket.status).where(Ticket.number == number))
        return Status(status) if status is not None else None

    async def _is_closed(self, temporal: TemporalClient, number: int) -> bool:
        if await self._projected_status(number) is Status.CLOSED:
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
