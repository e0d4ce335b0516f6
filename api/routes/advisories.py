"""Requirement delivery and advisory booking, under /api/v1/tickets/{number}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from api.deps import IdempotencyKey, PrincipalDep, SessionDep, SettingsDep, TemporalDep
from api.errors import COMMON_RESPONSES, IN_FLIGHT
from soporte.services import advisories
from soporte.services.advisories import BookingRequest, DeliverRequest, DoneRequest, SlotsOut
from soporte.services.schemas import ContactTicket, StaffTicket
from soporte.services.views import render_ticket

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=COMMON_RESPONSES)

Number = Annotated[int, Path(ge=1, le=2**31 - 1, description="the ticket number")]
TicketOut = StaffTicket | ContactTicket


@router.post("/{number}/deliver", response_model=TicketOut, responses=IN_FLIGHT)
async def deliver(
    number: Number,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    data: Annotated[DeliverRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    """An accepted (planned) requirement was delivered: it becomes resolved."""
    body = data or DeliverRequest()
    view = await advisories.deliver(session, temporal, principal, number, body, idempotency_key)
    return render_ticket(view, principal)


@router.get("/{number}/slots")
async def list_slots(
    number: Number, principal: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> SlotsOut:
    """Free advisory slots inside business hours (others' bookings left out)."""
    return await advisories.list_slots(session, settings, principal, number)


@router.post("/{number}/booking", response_model=TicketOut, responses=IN_FLIGHT)
async def book(
    number: Number,
    data: BookingRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> StaffTicket | ContactTicket:
    """Book one of the offered slots (`start` with its timezone)."""
    view = await advisories.book(session, temporal, settings, principal, number, data)
    return render_ticket(view, principal)


@router.post("/{number}/done", response_model=TicketOut, responses=IN_FLIGHT)
async def done(
    number: Number,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    data: Annotated[DoneRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    """The advisory session was held: the ticket is resolved."""
    body = data or DoneRequest()
    view = await advisories.done(session, temporal, principal, number, body, idempotency_key)
    return render_ticket(view, principal)
