"""The staff console: who may open which page, and the queue ("Mi cola", "Sin asignar",
"Todas").

A contact who types a console address gets the "not found" page (never staff data); a
staff member without the page's role gets "not allowed". The queue reads the same service
as GET /api/v1/tickets (soporte.services.tickets.list_tickets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.web import core
from api.web.core import Caller, page, redirect, signed_in
from api.web.queue_rows import filter_choices, queue_rows
from soporte import portal_paths
from soporte.policy import Kind, Priority, Status
from soporte.policy.calendar import BOGOTA
from soporte.services import access, tickets
from soporte.services.access import Action
from soporte.services.errors import NotFound

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
async def staff_caller(request: Request, action: Action | None = None) -> Caller:
    """The signed-in staff member allowed `action` (soporte.services.access); any staff
    member when no action is named."""
    caller = await signed_in(request)
    if caller.is_contact or not caller.principal.roles & access.STAFF_ROLES:
        raise NotFound("not a page for contacts")
    if action is not None:
        access.check(caller.principal, action)
    return caller


@dataclass(frozen=True)
class QueueView:
    """One of the three queues: its title, its address and what it keeps."""

    key: str
    title: str
    path: str
    mine: bool = False
    unassigned: bool = False


QUEUES = {
    "mine": QueueView("mine", "Mi cola", portal_paths.STAFF_HOME, mine=True),
    "unassigned": QueueView("unassigned", "Sin asignar", portal_paths.UNASSIGNED, unassigned=True),
    "all": QueueView("all", "Todas", portal_paths.ALL_TICKETS),
}
OPEN_STATES = tuple(s for s in Status if s not in (Status.RESOLVED, Status.CLOSED))


def _choice(raw: str, enum: Any) -> Any:
    try:
        return enum(raw) if raw else None
    except ValueError:
        return None


SORTS = {
    "next_due": (tickets.TicketSort.NEXT_DUE, "lo que vence primero arriba"),
    "-next_due": (tickets.TicketSort.NEXT_DUE_DESC, "lo que vence más tarde arriba"),
    "-created_at": (tickets.TicketSort.CREATED_AT_DESC, "las más recientes primero"),
    "created_at": (tickets.TicketSort.CREATED_AT, "las más antiguas primero"),
}
TEXT_LIMITS = {"q": 200, "categoria": 100, "cliente": 30, "responsable": 254}


@dataclass
class QueueQuery:
    """The queue's filters as typed in the address: kept in the form, the page links and,
    when one is not valid, shown with its error next to it (the others still apply)."""

    filters: tickets.TicketFilters
    sort: str
    offset: int
    values: dict[str, Any]
    errors: dict[str, str]
    page_size: int = PAGE_SIZE


def _text(params: Any, name: str, errors: dict[str, str]) -> str | None:
    raw = str(params.get(name, "")).strip()
    if len(raw) > TEXT_LIMITS[name]:
        errors[name] = f"Es demasiado largo: máximo {TEXT_LIMITS[name]} caracteres."
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        errors[name] = "Contiene caracteres no válidos."
        return None
    return raw or None


def _due_before(raw: str, errors: dict[str, str]) -> datetime | None:
    """'Vence antes de' a day: before that day ends in Bogota."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors["vence_antes"] = "Escriba una fecha válida (AAAA-MM-DD)."
        return None
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BOGOTA).astimezone(UTC)


def read_query(request: Request, caller: Caller, queue: QueueView) -> QueueQuery:
    params = request.query_params
    errors: dict[str, str] = {}
    statuses = tuple(s for s in (_choice(v, Status) for v in params.getlist("estado")) if s)
    raw_offset = params.get("desde", "0")
    offset = min(int(raw_offset), 1_000_000) if raw_offset.isdigit() else 0
    breached = {"si": True, "no": False}.get(params.get("vencidas", ""))
    assignee = caller.principal.email if queue.mine else _text(params, "responsable", errors)
    sort = params.get("orden", "") if params.get("orden", "") in SORTS else "next_due"
    filters = tickets.TicketFilters(
        statuses=statuses,
        priority=_choice(params.get("prioridad", ""), Priority),
        nit=_text(params, "cliente", errors),
        assignee=assignee,
        unassigned=queue.unassigned,
        breached=breached,
        kind=_choice(params.get("tipo", ""), Kind),
        category=_text(params, "categoria", errors),
        q=_text(params, "q", errors),
        due_before=_due_before(params.get("vence_antes", "").strip(), errors),
    )
    values: dict[str, Any] = {k: params.get(k, "") for k in params if k not in ("desde", "estado")}
    values["estado"] = [s.value for s in statuses]
    values["orden"] = sort
    raw_size = params.get("por_pagina", "")
    size = min(max(int(raw_size), 1), MAX_PAGE_SIZE) if raw_size.isdigit() else PAGE_SIZE
    return QueueQuery(filters, sort, offset, values, errors, size)


def page_link_of(request: Request) -> Any:
    def link(offset: int) -> str:
        pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "desde"]
        pairs.append(("desde", str(max(0, offset))))
        return f"{request.url.path}?{urlencode(pairs)}"

    return link


async def queue_page(request: Request, queue: QueueView) -> Response:
    caller = await staff_caller(request)
    query = read_query(request, caller, queue)
    now = datetime.now(UTC)
    sort, sort_words = SORTS[query.sort]
    async with core.state_of(request).sessions() as session:
        found = await tickets.list_tickets(
            session, caller.principal, query.filters, query.page_size, query.offset, sort
        )
        rows = await queue_rows(session, list(found.items), now)
        choices = await filter_choices(session)
        await session.commit()
    return page(
        request,
        "queue.html",
        caller,
        422 if query.errors else 200,
        section=queue.key,
        queue=queue,
        rows=rows,
        total=found.total,
        offset=query.offset,
        page_size=query.page_size,
        values=query.values,
        errors=query.errors,
        statuses=list(Status),
        priorities=list(Priority),
        kinds=list(Kind),
        sorts=SORTS,
        choices=choices,
        page_link=page_link_of(request),
        sort_words=sort_words,
    )


@router.get(portal_paths.STAFF_HOME)
async def my_queue(request: Request) -> Response:
    caller = await signed_in(request)
    if caller.is_contact:
        return redirect(portal_paths.TICKETS)
    return await queue_page(request, QUEUES["mine"])


@router.get(portal_paths.UNASSIGNED)
async def unassigned_queue(request: Request) -> Response:
    return await queue_page(request, QUEUES["unassigned"])


@router.get(portal_paths.ALL_TICKETS)
async def all_queue(request: Request) -> Response:
    return await queue_page(request, QUEUES["all"])
