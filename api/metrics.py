"""The API's metrics: request durations by route template, and GET /metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import SessionDep
from soporte import metrics
from soporte.db.models import Ticket
from soporte.policy.ticket import OPEN_STATUSES

router = APIRouter(tags=["system"])
UNMATCHED = "unmatched"


class RequestMetrics:
    """Times every HTTP request; the route label is the path template (`/api/v1/tickets/
    {number}`), never the raw path, so the label set stays small."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            metrics.HTTP_DURATION.labels(
                method=scope["method"], route=route, status=str(status)
            ).observe(time.perf_counter() - started)


async def refresh_open_tickets(session: SessionDep) -> None:
    """Set the open-tickets gauge from the read model (one grouped count)."""
    query = (
        select(Ticket.status, Ticket.priority, func.count())
        .where(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(Ticket.status, Ticket.priority)
    )
    rows = (await session.execute(query)).all()
    await session.commit()
    metrics.OPEN_TICKETS.clear()
    for status, priority, count in rows:
        metrics.OPEN_TICKETS.labels(status=status, priority=priority).set(count)


@router.get("/metrics", response_class=Response)
async def scrape(session: SessionDep) -> Response:
    """Prometheus text format; no token (bind the API to a private address)."""
    await refresh_open_tickets(session)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
