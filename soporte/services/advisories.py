"""Requirement delivery and personalised advisories through the API.

- deliver: an engineer marks an accepted (planned) requirement delivered (update `deliver`).
- slots: the free advisory slots inside business hours (soporte.policy.slots.free_slots), without
  the slots other advisories have booked (the read model's `tickets.booked_slot` of the
  scheduled ones).
- booking: the ticket's contact (or staff) books one; the start is claimed in SQL first
  (soporte.services.slot_claims: one ticket per start, whatever the API process), then
  the API passes the taken starts to the update `book`, whose validator has the last word.
- done: the engineer held the session (update `advisory_done`), which resolves it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient

from soporte.db.models import Ticket, TicketIntake
from soporte.policy import Kind, Role, Status
from soporte.policy.calendar import BusinessCalendar
from soporte.policy.slots import free_slots, validate_booking
from soporte.policy.tickets import AdvisoryDoneCommand, BookingCommand, DeliverCommand, TicketView
from soporte.services import slot_claims, tickets
from soporte.services.auth import WORKING_ROLES, Principal
from soporte.services.errors import Conflict, InFlight, InvalidInput
from soporte.services.intake import check_idempotency_key, holidays_for
from soporte.services.schemas import Request
from soporte.services.slot_claims import Claim
from soporte.settings import Settings

WORKERS = tuple(WORKING_ROLES)
# Staff who may book on a client's behalf (e.g. on the phone).
BOOKERS = (Role.ENGINEER, Role.SUPERVISOR, Role.ADMIN)
TAKEN_SUFFIX = "is already taken"

Note = Annotated[str, StringConstraints(max_length=20000)]


class DeliverRequest(Request):
    body: Note = ""


class DoneRequest(Request):
    body: Note = ""


class BookingRequest(Request):
    start: datetime


class SlotOut(BaseModel):
    start: datetime
    end: datetime


class SlotsOut(BaseModel):
    number: int
    slot_minutes: int
    slots: list[SlotOut]


# --- Requirements -------------------------------------------------------------------------


async def deliver(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: DeliverRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    key = check_idempotency_key(idempotency_key)
    intake = await tickets.find_ticket(session, principal, number)
    tickets.require(principal, *WORKERS, action="mark requirements delivered")
    await _require_kind(session, intake, Kind.REQUIREMENT, "delivered")
    command = DeliverCommand(actor_email=principal.email, body=data.body)
    return await tickets.run_keyed_update(
        session, temporal, principal, number, "deliver", command, key
    )


# --- Advisories ---------------------------------------------------------------------------


async def _require_kind(session: AsyncSession, intake: TicketIntake, kind: Kind, what: str) -> None:
    """Refuse a ticket of another kind (the intake input, else the read model, knows it)."""
    known = (intake.input or {}).get("kind")
    if known is None:
        known = await session.scalar(select(Ticket.kind).where(Ticket.number == intake.number))
    await session.commit()
    if known is not None and known != kind.value:
        raise Conflict(
            f"ticket {intake.number} is a {known}, not a {kind.value}: "
            f"only a {kind.value} is {what}"
        )


async def taken_slots(session: AsyncSession, number: int) -> list[datetime]:
    """The starts other advisories have booked (scheduled, per the read model)."""
    query = (
        select(Ticket.booked_slot)
        .where(Ticket.status == Status.SCHEDULED.value)
        .where(Ticket.booked_slot.is_not(None))
        .where(Ticket.number != number)
    )
    return [start for start in (await session.scalars(query)).all() if start is not None]


def _require_booker(principal: Principal) -> None:
    if not principal.is_contact:
        tickets.require(principal, *BOOKERS, action="book advisory slots")


async def list_slots(
    session: AsyncSession, settings: Settings, principal: Principal, number: int
) -> SlotsOut:
    intake = await tickets.find_ticket(session, principal, number)
    await _require_kind(session, intake, Kind.ADVISORY, "booked")
    taken = await taken_slots(session, number)
    await session.commit()
    now = datetime.now(UTC)
    length = settings.advisory_slot_length
    starts = free_slots(
        BusinessCalendar(holidays_for(now)), now, settings.advisory_horizon, length, taken
    )
    return SlotsOut(
        number=number,
        slot_minutes=int(length.total_seconds() // 60),
        slots=[SlotOut(start=start, end=start + length) for start in starts],
    )


async def book(
    session: AsyncSession,
    temporal: TemporalClient,
    settings: Settings,
    principal: Principal,
    number: int,
    data: BookingRequest,
) -> TicketView:
    intake = await tickets.find_ticket(session, principal, number)
    _require_booker(principal)
    await _require_kind(session, intake, Kind.ADVISORY, "booked")
    await session.commit()
    return await _book_free_slot(session, temporal, settings, principal, number, data)


async def _book_free_slot(
    session: AsyncSession,
    temporal: TemporalClient,
    settings: Settings,
    principal: Principal,
    number: int,
    data: BookingRequest,
) -> TicketView:
    taken = await taken_slots(session, number)
    await session.commit()
    now = datetime.now(UTC)
    problem = validate_booking(
        BusinessCalendar(holidays_for(now)),
        now,
        data.start,
        settings.advisory_horizon,
        settings.advisory_slot_length,
        taken,
    )
    if problem is not None:
        if problem.endswith(TAKEN_SUFFIX):
            raise Conflict(problem)
        raise InvalidInput("start", problem.removeprefix("start:").strip())
    claimed = await slot_claims.claim(session.bind, data.start, number)
    if claimed is Claim.TAKEN:
        raise Conflict(f"start: {data.start.isoformat()} {TAKEN_SUFFIX}")
    command = BookingCommand(actor_email=principal.email, start=data.start, taken=taken)
    try:
        return await tickets.run_update(temporal, number, "book", command)
    except InFlight:
        raise  # the booking may still land: the slot stays claimed for it
    except BaseException:
        if claimed is Claim.CLAIMED:
            await slot_claims.release(session.bind, data.start, number)
        raise


async def done(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    data: DoneRequest,
    idempotency_key: str | None = None,
) -> TicketView:
    key = check_idempotency_key(idempotency_key)
    intake = await tickets.find_ticket(session, principal, number)
    tickets.require(principal, *WORKERS, action="mark advisories done")
    await _require_kind(session, intake, Kind.ADVISORY, "held")
    command = AdvisoryDoneCommand(actor_email=principal.email, body=data.body)
    return await tickets.run_keyed_update(
        session, temporal, principal, number, "advisory_done", command, key
    )
