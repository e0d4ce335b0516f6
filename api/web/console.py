"""The staff console: who may open which page, and the queue ("Mi cola", "Sin asignar",
"Todas").

A contact who types a console address gets the "not found" page (never staff data); a
staff member without the page's role gets "not allowed". The queue reads the same service
as GET /api/v1/tickets (soporte.services.tickets.list_tickets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.web import core
from api.web.core import Caller, page, redirect, signed_in
from api.web.queue_rows import queue_rows
from soporte import portal_paths
from soporte.policy import Priority, Role, Status
from soporte.services import tickets
from soporte.services.errors import Forbidden, NotFound

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
WORKERS = (Role.ENGINEER, Role.SUPERVISOR)
EVERY_STAFF = (Role.ADMIN, Role.SUPERVISOR, Role.ENGINEER, Role.COMMITTEE)


async def staff_caller(request: Request, *roles: Role) -> Caller:
    """The signed-in staff member holding one of `roles` (any staff role when none)."""
    caller = await signed_in(request)
    if caller.is_contact or not caller.principal.has(*EVERY_STAFF):
        raise NotFound("not a page for contacts")
    if roles and not caller.principal.has(*roles):
        raise Forbidden("this page needs another role")
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


@dataclass
class QueueQuery:
    """The queue's filters as typed in the address (kept in the form and the page links)."""

    statuses: list[Status]
    priority: Priority | None
    offset: int
    values: dict[str, Any]

    def filters(self, caller: Caller, queue: QueueView) -> tickets.TicketFilters:
        assignee = caller.principal.email if queue.mine else None
        status = self.statuses[0] if len(self.statuses) == 1 else None
        return tickets.TicketFilters(status=status, priority=self.priority, assignee=assignee)


def read_query(request: Request) -> QueueQuery:
    params = request.query_params
    statuses = [s for s in (_choice(v, Status) for v in params.getlist("estado")) if s]
    raw_offset = params.get("desde", "0")
    offset = min(int(raw_offset), 1_000_000) if raw_offset.isdigit() else 0
    values = {key: params.get(key, "") for key in params if key not in ("desde", "estado")}
    values["estado"] = [s.value for s in statuses]
    return QueueQuery(statuses, _choice(params.get("prioridad", ""), Priority), offset, values)


def page_link_of(request: Request, query: QueueQuery) -> Any:
    def link(offset: int) -> str:
        pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "desde"]
        pairs.append(("desde", str(max(0, offset))))
        return f"{request.url.path}?{urlencode(pairs)}"

    return link


async def queue_page(request: Request, queue: QueueView) -> Response:
    caller = await staff_caller(request)
    query = read_query(request)
    now = datetime.now(UTC)
    async with core.state_of(request).sessions() as session:
        found = await tickets.list_tickets(
            session, caller.principal, query.filters(caller, queue), PAGE_SIZE, query.offset
        )
        items = list(found.items)
        if queue.unassigned:
            items = [row for row in items if row.assignee is None]
        if len(query.statuses) > 1:
            items = [row for row in items if row.status in query.statuses]
        rows = await queue_rows(session, items, now)
        await session.commit()
    return page(
        request,
        "queue.html",
        caller,
        section=queue.key,
        queue=queue,
        rows=rows,
        total=found.total,
        offset=query.offset,
        page_size=PAGE_SIZE,
        values=query.values,
        statuses=list(Status),
        priorities=list(Priority),
        page_link=page_link_of(request, query),
        sort_words="las más recientes primero",
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
