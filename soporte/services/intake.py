"""Opening a ticket: who may, its number (idempotent), its input, its workflow.

Used by the API now and by the email and phone channels later. The number comes from
the `ticket_intake` table; an `Idempotency-Key` from the same principal maps to the
same row (a unique constraint decides races), so a retry never opens a second ticket.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from temporalio.client import Client as TemporalClient
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from soporte.db.models import Client, Contact, TicketIntake
from soporte.db.session import engine_of, write_in_one_go
from soporte.holiday_dates import holidays_around
from soporte.policy import Channel
from soporte.policy.names import WorkflowType
from soporte.policy.tickets import TicketInput, TicketView, workflow_id
from soporte.policy.triage import missing_info, starting_priority, suggest_priority
from soporte.services.access import Action, check
from soporte.services.auth import Principal
from soporte.services.errors import Conflict, Forbidden, InvalidInput, Unavailable
from soporte.services.intake_writer import intake_writer
from soporte.services.people_to_inform import informable, normalized
from soporte.services.registry import checked_nit
from soporte.services.schemas import TicketCreate
from soporte.services.views import initial_view
from soporte.settings import Settings

log = logging.getLogger("soporte.intake")

TICKET_WORKFLOW = WorkflowType.TICKET.value
IMPLEMENTATION_CATEGORIES = frozenset({"implementation", "implementacion", "implementación"})
MAX_IDEMPOTENCY_KEY = 200
MAX_TAKEN_NUMBERS = 1000


@dataclass(frozen=True)
class Reporter:
    contact: Contact
    client: Client


@dataclass(frozen=True)
class Opened:
    view: TicketView
    replayed: bool


def refuse_inactive(client: Client, settings: Settings) -> Forbidden:
    """403 for an inactive client: the English detail for scripts, the Spanish message for the
    person (with the vendor's channels, POLICY.md "Channels")."""
    emails = " o ".join(settings.support_addresses)
    return Forbidden(
        f"client {client.nit} is inactive: only contacts of active clients may open tickets",
        spanish=(
            f"{client.name} (NIT {client.nit}) no tiene hoy un servicio de soporte activo con "
            "BTW, así que no puede abrir solicitudes. Para reactivarlo, comuníquese con su "
            f"consultor de BTW, escriba a {emails} o llame a la línea única "
            f"{settings.support_phone}."
        ),
    )


async def resolve_reporter(
    session: AsyncSession, principal: Principal, data: TicketCreate, settings: Settings
) -> tuple[Reporter, Channel]:
    """The reporting contact and the channel, after the rules of who may open what."""
    check(principal, Action.OPEN_TICKET)
    if principal.is_contact:
        return _contact_reporter(principal, data, settings), Channel.WEB
    return await _staff_reporter(session, data, settings), data.channel or Channel.PHONE


async def _load_reporter(session: AsyncSession, email: str) -> Reporter | None:
    row = (
        await session.execute(
            select(Contact, Client)
            .join(Client, Client.nit == Contact.client_nit)
            .where(Contact.email == email)
        )
    ).first()
    return Reporter(contact=row[0], client=row[1]) if row else None


def _contact_reporter(principal: Principal, data: TicketCreate, settings: Settings) -> Reporter:
    if data.channel not in (None, Channel.WEB):
        raise InvalidInput("channel", "contacts open tickets on the web channel only")
    if data.reporter_email not in (None, principal.email):
        raise InvalidInput("reporter_email", "a contact reports its own tickets only")
    reporter = reporter_of(principal)
    if data.nit is not None and checked_nit(data.nit) != reporter.client.nit:
        raise InvalidInput("nit", "a contact opens tickets for its own client only")
    if not reporter.client.active:
        raise refuse_inactive(reporter.client, settings)
    return reporter


def reporter_of(principal: Principal) -> Reporter:
    """A contact caller as a reporter, from what authentication read (no query)."""
    assert principal.nit is not None, "a contact principal carries its client"  # nosec B101  # invariant (never run -O)
    contact = Contact(
        email=principal.email, name=principal.name, client_nit=principal.nit, active=True
    )
    client = Client(
        nit=principal.nit,
        name=principal.client_name,
        active=principal.client_active,
        consultant_email=principal.consultant_email,
    )
    return Reporter(contact=contact, client=client)


async def _staff_reporter(
    session: AsyncSession, data: TicketCreate, settings: Settings
) -> Reporter:
    if data.reporter_email is None:
        raise InvalidInput(
            "reporter_email", "staff open a ticket on behalf of a contact: give its email"
        )
    reporter = await _load_reporter(session, data.reporter_email)
    if reporter is None:
        raise InvalidInput("reporter_email", f"{data.reporter_email} is not a registered contact")
    if not reporter.contact.active:
        raise Forbidden(f"the contact {reporter.contact.email} is inactive")
    if data.nit is not None and checked_nit(data.nit) != reporter.client.nit:
        raise InvalidInput("nit", f"{reporter.contact.email} is a contact of another client")
    if not reporter.client.active:
        raise refuse_inactive(reporter.client, settings)
    return reporter


async def check_people_to_inform(
    session: AsyncSession, reporter: Reporter, notify: list[str]
) -> None:
    """People to inform are active contacts of the reporter's own client (POLICY.md, "Who
    sees what"): any other address is refused, naming it, so no mail goes to a stranger."""
    others = sorted(normalized(notify) - {reporter.contact.email})
    if not others:
        return
    known = await informable(session, reporter.client.nit, others)
    strangers = [email for email in others if email not in known]
    if strangers:
        raise InvalidInput(
            "notify",
            f"{', '.join(strangers)}: not an active contact of {reporter.client.name}; "
            "people to inform are active contacts of the same client",
        )


def request_hash(principal: Principal, data: TicketCreate) -> str:
    canonical = json.dumps(
        {"principal": principal.email, "body": data.model_dump(mode="json")}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters"
        )
    return key


def build_input(
    number: int, data: TicketCreate, reporter: Reporter, channel: Channel, settings: Settings
) -> TicketInput:
    registered_at = datetime.now(UTC)
    system = suggest_priority(data.kind, data.category, f"{data.subject}\n{data.description}")
    start = starting_priority(data.kind, data.suggested_priority, system)
    category = data.category.strip().lower()
    consultant = reporter.client.consultant_email if category in IMPLEMENTATION_CATEGORIES else None
    return TicketInput(
        number=number,
        kind=data.kind,
        category=data.category,
        subject=data.subject,
        description=data.description,
        expected_result=data.expected_result,
        legal_number=data.legal_number,
        business_impact=data.business_impact,
        channel=channel,
        nit=reporter.client.nit,
        client_name=reporter.client.name,
        reporter_email=reporter.contact.email,
        reporter_name=reporter.contact.name,
        notify=sorted(set(data.notify) - {reporter.contact.email}),
        suggested_priority=data.suggested_priority,
        system_priority=system,
        priority=start.priority,
        priority_to_verify=start.to_verify,
        registered_at=registered_at,
        consultant_email=consultant,
        holidays=holidays_for(registered_at),
        policy=settings.policy(),
    )


def with_missing_info(ticket: TicketInput) -> TicketInput:
    """What the request lacks (POLICY §IV), once the channel added what it carries (an
    email's attachments are its evidence)."""
    fields = {**ticket.model_dump(), "evidence": ticket.attachments}
    missing = missing_info(ticket.channel, fields, ticket.kind)
    return ticket.model_copy(update={"missing_info": missing})


def holidays_for(registered_at: datetime) -> list[date]:
    """The holidays a ticket registered then carries (soporte.holiday_dates caches them)."""
    return holidays_around(registered_at)


async def allocate(
    session: AsyncSession,
    principal: Principal,
    data: TicketCreate,
    key: str | None,
    reporter: Reporter,
    channel: Channel,
    settings: Settings,
    amend: dict[str, Any] | None = None,
) -> tuple[TicketInput, bool]:
    """The ticket's input: a new number, or the one an earlier try with `key` got.

    `amend` sets input fields the channel knows (an email's Message-ID and attachments)."""
    fingerprint = request_hash(principal, data)
    if key is not None:
        earlier = await _earlier(session, principal, key, fingerprint)
        if earlier is not None:
            return earlier, True
    draft = with_missing_info(
        build_input(0, data, reporter, channel, settings).model_copy(update=amend or {})
    )
    number = await intake_writer(engine_of(session.bind)).insert(
        {
            "idempotency_key": key,
            "request_hash": fingerprint,
            "principal": principal.email,
            "nit": reporter.client.nit,
            "created_at": draft.registered_at,
            "input": draft.model_dump(mode="json"),  # the number is the row's own key
        }
    )
    if number is None:  # another opening with this key was written first
        assert key is not None  # nosec B101  # invariant (never run -O)
        earlier = await _earlier(session, principal, key, fingerprint)
        if earlier is None:
            raise Conflict(f"Idempotency-Key {key!r} is taken but its ticket was not found")
        return earlier, True
    return draft.model_copy(update={"number": number}), False


async def _earlier(
    session: AsyncSession, principal: Principal, key: str, fingerprint: str
) -> TicketInput | None:
    row = await session.scalar(
        select(TicketIntake).where(
            TicketIntake.principal == principal.email, TicketIntake.idempotency_key == key
        )
    )
    await session.commit()
    if row is None or row.input is None:
        return None
    if row.request_hash != fingerprint:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used for a different request "
            f"(ticket {row.number}); use a new key for a new ticket"
        )
    return stored_input(row)


def stored_input(row: TicketIntake) -> TicketInput | None:
    """The input a ticket was started with (its number is the row's key)."""
    if row.input is None:
        return None
    return TicketInput.model_validate({**row.input, "number": row.number})


async def start_workflow(
    temporal: TemporalClient,
    settings: Settings,
    ticket: TicketInput,
    *,
    replay: bool,
    engine: AsyncEngine | None = None,
) -> TicketInput:
    """Start the ticket's workflow; returns the ticket as started (its number may differ).

    A new number whose workflow already exists belongs to another request: the read model
    was restored older than the Temporal database. With `engine`, that number's
    registration is recovered from its workflow and this request moves on to the next
    free number, so a 201 always names a ticket that really started."""
    for _ in range(MAX_TAKEN_NUMBERS):
        try:
            await _start(temporal, settings, ticket)
            return ticket
        except WorkflowAlreadyStartedError:
            if replay:
                return ticket
            existing = await started_input(temporal, ticket.number)
            if existing is not None and _same_request(existing, ticket):
                return ticket
            log.warning(
                "ticket %s: workflow %s already exists for another request (a read model "
                "older than Temporal?): moving on to a free number",
                ticket.number,
                workflow_id(ticket.number),
            )
            if engine is None:
                return ticket
            ticket = await _move_on(engine, ticket, existing)
    raise Unavailable(
        f"no free ticket number after {MAX_TAKEN_NUMBERS} taken ones: the read model is far "
        "older than the Temporal database; restore a matching backup"
    )


async def _start(temporal: TemporalClient, settings: Settings, ticket: TicketInput) -> None:
    try:
        await temporal.start_workflow(
            TICKET_WORKFLOW,
            ticket,
            id=workflow_id(ticket.number),
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except RPCError as error:
        raise Unavailable(
            f"ticket {ticket.number} was registered but its workflow could not be started "
            f"({error.message}); retry with the same Idempotency-Key"
        ) from None


async def started_input(temporal: TemporalClient, number: int) -> TicketInput | None:
    """The input the workflow of ticket `number` was started with (its first event)."""
    try:
        history = await temporal.get_workflow_handle(workflow_id(number)).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        if started.workflow_type.name != TICKET_WORKFLOW:
            return None
        [value] = await temporal.data_converter.decode(started.input.payloads, [TicketInput])
    except Exception as error:  # unreadable: the number is still taken
        log.warning("ticket %s: cannot read its workflow's input: %s", number, error)
        return None
    return value if isinstance(value, TicketInput) else None


def _same_request(existing: TicketInput, ticket: TicketInput) -> bool:
    return existing.model_dump(mode="json") == ticket.model_dump(mode="json")


async def _move_on(
    engine: AsyncEngine, ticket: TicketInput, existing: TicketInput | None
) -> TicketInput:
    """Give the taken number back to the ticket its workflow holds, and this request the
    next number, in one transaction (the Idempotency-Key moves with the request)."""

    def renumber(db: Session) -> int:
        taken = db.get(TicketIntake, ticket.number)
        assert taken is not None, "the request's own row was just written"  # nosec B101  # invariant
        moved = TicketIntake(
            idempotency_key=taken.idempotency_key,
            request_hash=taken.request_hash,
            principal=taken.principal,
            nit=taken.nit,
            created_at=taken.created_at,
            input=taken.input,
            request_id=uuid.uuid4().hex,
        )
        taken.idempotency_key = taken.request_hash = None
        taken.principal = existing.reporter_email if existing else "unknown"
        taken.nit = existing.nit if existing else taken.nit
        taken.created_at = existing.registered_at if existing else taken.created_at
        taken.input = existing.model_dump(mode="json") if existing else None
        db.flush()  # the key is free before the new row takes it
        db.add(moved)
        db.flush()
        return moved.number

    number = await write_in_one_go(engine, renumber)
    return ticket.model_copy(update={"number": number})


async def open_ticket(
    session: AsyncSession,
    temporal: TemporalClient,
    settings: Settings,
    principal: Principal,
    data: TicketCreate,
    idempotency_key: str | None = None,
) -> Opened:
    key = check_idempotency_key(idempotency_key)
    reporter, channel = await resolve_reporter(session, principal, data, settings)
    await check_people_to_inform(session, reporter, data.notify)
    if session.in_transaction():  # a staff caller read the contact: end that read first
        await session.commit()
    ticket, replayed = await allocate(session, principal, data, key, reporter, channel, settings)
    engine = engine_of(session.bind)
    ticket = await start_workflow(temporal, settings, ticket, replay=replayed, engine=engine)
    return Opened(view=initial_view(ticket), replayed=replayed)
