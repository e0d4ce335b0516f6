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

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient

from soporte.db.models import Ticket, TicketIntake
from soporte.policy import Kind, Status
from soporte.policy.calendar import BusinessCalendar
from soporte.policy.config import PolicyConfig
from soporte.policy.names import TicketUpdate
from soporte.policy.refusals import Refusal, RefusalCode
from soporte.policy.slots import free_slots, validate_booking
from soporte.policy.tickets import (
    AdvisoryDoneCommand,
    BookingCommand,
    DeliverCommand,
    TicketInput,
    TicketView,
)
from soporte.services import slot_claims, tickets
from soporte.services.access import Action, check
from soporte.services.auth import Principal
from soporte.services.errors import Conflict, InFlight, refused
from soporte.services.intake import check_idempotency_key, holidays_for
from soporte.services.schemas import Request
from soporte.services.slot_claims import Claim
from soporte.settings import Settings

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
    check(principal, Action.DELIVER)
    await _require_kind(session, intake, Kind.REQUIREMENT, "delivered")
    command = DeliverCommand(actor_email=principal.email, body=data.body)
    return await tickets.run_keyed_update(
        session, temporal, principal, number, TicketUpdate.DELIVER, command, key
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
    check(principal, Action.BOOK)


def _booking_rules(intake: TicketIntake, settings: Settings) -> tuple[PolicyConfig, list[date]]:
    """The slot length, horizon and holidays the ticket's workflow books with: its own
    input (what it was started with), never today's settings; the settings only for a row
    stored before the input was kept."""
    if intake.input:
        ticket = TicketInput.model_validate({**intake.input, "number": intake.number})
        return ticket.policy, ticket.holidays
    return settings.policy(), holidays_for(datetime.now(UTC))


async def list_slots(
    session: AsyncSession, settings: Settings, principal: Principal, number: int
) -> SlotsOut:
    intake = await tickets.find_ticket(session, principal, number)
    await _require_kind(session, intake, Kind.ADVISORY, "booked")
    taken = await taken_slots(session, number)
    await session.commit()
    policy, holidays = _booking_rules(intake, settings)
    length = policy.advisory_slot_length
    starts = free_slots(
        BusinessCalendar(holidays), datetime.now(UTC), policy.advisory_horizon, length, taken
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
    return await _book_free_slot(session, temporal, settings, principal, intake, data)


async def _book_free_slot(
    session: AsyncSession,
    temporal: TemporalClient,
    settings: Settings,
    principal: Principal,
    intake: TicketIntake,
    data: BookingRequest,
) -> TicketView:
    """The workflow's rule with the workflow's configuration, asked before the start is
    claimed in SQL (the workflow's validator asks it again, with the same numbers)."""
    number = intake.number
    taken = await taken_slots(session, number)
    await session.commit()
    policy, holidays = _booking_rules(intake, settings)
    problem = validate_booking(
        BusinessCalendar(holidays),
        datetime.now(UTC),
        data.start,
        policy.advisory_horizon,
        policy.advisory_slot_length,
        taken,
    )
    if problem is not None:
        raise refused(problem)
    claimed = await slot_claims.claim(session.bind, data.start, number)
    if claimed is Claim.TAKEN:
        message = f"{data.start.isoformat()} is already taken"
        raise refused(Refusal(RefusalCode.TAKEN, message, "start"))
    command = BookingCommand(actor_email=principal.email, start=data.start, taken=taken)
    try:
        return await tickets.run_update(temporal, number, TicketUpdate.BOOK, command)
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
    check(principal, Action.ADVISORY_DONE)
    await _require_kind(session, intake, Kind.ADVISORY, "held")
    command = AdvisoryDoneCommand(actor_email=principal.email, body=data.body)
    return await tickets.run_keyed_update(
        session, temporal, principal, number, TicketUpdate.ADVISORY_DONE, command, key
    )
