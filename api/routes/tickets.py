"""Tickets: open, list, read, log, and the commands (workflow updates and signals)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AwareDatetime

from api.deps import (
    IdempotencyKey,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    StateDep,
    TemporalDep,
)
from api.errors import COMMON_RESPONSES, IN_FLIGHT
from api.query import KnownQueryOnly
from soporte.policy import Kind, Priority, Status
from soporte.services import commands, intake, tickets
from soporte.services.schemas import (
    AssignRequest,
    ContactTicket,
    LogEntry,
    MessageCreate,
    PriorityRequest,
    RatingRequest,
    ReasonRequest,
    RequestInfoRequest,
    ResolveRequest,
    StaffTicket,
    TicketCreate,
    TicketPage,
)
from soporte.services.views import render_log, render_ticket

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=COMMON_RESPONSES)

Number = Annotated[int, Path(ge=1, le=2**31 - 1, description="the ticket number")]
TicketOut = StaffTicket | ContactTicket
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketOut)
async def open_ticket(
    data: TicketCreate,
    response: Response,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    """Open a ticket (contacts for their client; engineers on a contact's behalf)."""
    opened = await intake.open_ticket(session, temporal, settings, principal, data, idempotency_key)
    if opened.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/v1/tickets/{opened.view.number}"
    return render_ticket(opened.view, principal)


@router.get("", dependencies=[KnownQueryOnly])
async def list_tickets(
    principal: PrincipalDep,
    session: SessionDep,
    status: Annotated[
        list[Status] | None, Query(description="repeatable: any of these states")
    ] = None,
    priority: Priority | None = None,
    nit: Annotated[str | None, Query(max_length=30, pattern=PRINTABLE)] = None,
    assignee: Annotated[str | None, Query(max_length=254, pattern=PRINTABLE)] = None,
    breached: bool | None = None,
    kind: Kind | None = None,
    category: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=PRINTABLE, description="text in subject and description"),
    ] = None,
    due_before: Annotated[
        AwareDatetime | None,
        Query(description="next due instant before this (ISO 8601 with its offset)"),
    ] = None,
    sort: tickets.TicketSort = tickets.TicketSort.CREATED_AT_DESC,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TicketPage:
    """Tickets from the read model, newest first unless `sort` says otherwise (`next_due`:
    what is due next first); contacts see their client's only. Pages by limit and offset."""
    filters = tickets.TicketFilters(
        statuses=tuple(status or ()),
        priority=priority,
        nit=nit,
        assignee=assignee,
        breached=breached,
        kind=kind,
        category=category,
        q=q,
        due_before=due_before,
    )
    return await tickets.list_tickets(session, principal, filters, limit, offset, sort)


@router.get("/{number}", response_model=TicketOut)
async def get_ticket(
    number: Number, principal: PrincipalDep, session: SessionDep, state: StateDep
) -> StaffTicket | ContactTicket:
    """The live ticket (from its workflow), else as last projected."""
    view = await tickets.read_ticket(session, state.temporal, principal, number)
    return render_ticket(view, principal)


@router.get("/{number}/log")
async def get_log(number: Number, principal: PrincipalDep, session: SessionDep) -> list[LogEntry]:
    """The communications log, oldest first (contacts: public lines only)."""
    return render_log(await tickets.read_log(session, principal, number), principal)


@router.post("/{number}/messages", response_model=TicketOut, responses=IN_FLIGHT)
async def post_message(
    number: Number,
    data: MessageCreate,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    """A contact's message, or an engineer's public reply or internal note."""
    view = await commands.post_message(session, temporal, principal, number, data, idempotency_key)
    return render_ticket(view, principal)


@router.post("/{number}/assign", response_model=TicketOut, responses=IN_FLIGHT)
async def assign(
    number: Number,
    data: AssignRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    view = await commands.assign(session, temporal, principal, number, data, idempotency_key)
    return render_ticket(view, principal)


@router.post("/{number}/priority", response_model=TicketOut, responses=IN_FLIGHT)
async def change_priority(
    number: Number,
    data: PriorityRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    view = await commands.change_priority(
        session, temporal, principal, number, data, idempotency_key
    )
    return render_ticket(view, principal)


@router.post("/{number}/request-info", response_model=TicketOut, responses=IN_FLIGHT)
async def request_info(
    number: Number,
    data: RequestInfoRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    view = await commands.request_info(session, temporal, principal, number, data, idempotency_key)
    return render_ticket(view, principal)


@router.post("/{number}/resolve", response_model=TicketOut, responses=IN_FLIGHT)
async def resolve(
    number: Number,
    data: ResolveRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    view = await commands.resolve(session, temporal, principal, number, data, idempotency_key)
    return render_ticket(view, principal)


@router.post("/{number}/abandon", response_model=TicketOut, responses=IN_FLIGHT)
async def abandon(
    number: Number,
    data: ReasonRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    view = await commands.abandon(session, temporal, principal, number, data, idempotency_key)
    return render_ticket(view, principal)


@router.post("/{number}/reopen", response_model=TicketOut, responses=IN_FLIGHT)
async def reopen(
    number: Number,
    data: ReasonRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    view = await commands.reopen(session, temporal, principal, number, data, idempotency_key)
    return render_ticket(view, principal)


@router.post("/{number}/rating", response_model=TicketOut, responses=IN_FLIGHT)
async def rate(
    number: Number,
    data: RatingRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    idempotency_key: IdempotencyKey = None,
) -> StaffTicket | ContactTicket:
    view = await commands.rate(session, temporal, principal, number, data, idempotency_key)
    return render_ticket(view, principal)
