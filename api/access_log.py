"""One access-log line per request, and the request id echoed in `X-Request-ID`.

The line names the method, the route's path template (`/api/v1/tickets/{number}`: never
the raw path or query, which may carry emails or anything a caller typed), the status,
the duration, the request id and the caller's principal (its email, `admin`, or `-`).
Never a header value, a token or a body. A pure ASGI middleware: no extra task per request.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soporte import request_ids

log = logging.getLogger("soporte.access")

_HEADER = request_ids.HEADER.lower().encode()
# The principal of the request under way, filled by the authentication dependency.
_principal: ContextVar[dict[str, str] | None] = ContextVar("soporte_principal", default=None)


def note_principal(principal_id: str) -> None:
    """Called once the caller is authenticated: its id goes on the access-log line."""
    holder = _principal.get()
    if holder is not None:
        holder["id"] = principal_id


def path_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "-"


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        raw = dict(scope["headers"]).get(_HEADER)
        request_id = request_ids.accept_or_generate(raw.decode("latin-1") if raw else None)
        holder: dict[str, str] = {}
        status = 500
        id_token = request_ids.current.set(request_id)
        principal_token = _principal.set(holder)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER]
                headers.append((_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_ids.current.reset(id_token)
            _principal.reset(principal_token)
            _write_line(scope, status, started, request_id, holder.get("id", "-"))


def _write_line(scope: Scope, status: int, started: float, request_id: str, who: str) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    method, path = scope["method"], path_template(scope)
    log.info(
        "%s %s %s %.1fms principal=%s request_id=%s",
        method,
        path,
        status,
        duration_ms,
        who,
        request_id,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request_id,
            "principal": who,
        },
    )
