"""A JSON body that does not parse answers 422 saying where it failed (FastAPI says 400
"There was an error parsing the body" for invalid UTF-8 or deep nesting), and only after
the credentials: without a valid token a malformed body is a 401, as any other request.

The body is parsed here as Starlette will parse it (`json.loads` of the bytes); a body
that parses is passed on untouched.
"""

from __future__ import annotations

import json
from email.message import Message as HeaderParser
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import authenticate_caller, client_ip, current_principal
from api.errors import FieldError, ValidationErrorBody, error_response, service_error_response
from soporte.services.errors import ServiceError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_json(scope: Scope) -> bool:
    """Whether FastAPI would parse this request's body as JSON."""
    content_type = dict(scope["headers"]).get(b"content-type")
    if not content_type:
        return True
    parsed = HeaderParser()
    parsed["content-type"] = content_type.decode("latin-1")
    subtype = parsed.get_content_subtype()
    return parsed.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def json_problem(body: bytes) -> str | None:
    """Where the body fails to be JSON, or None when it parses."""
    try:
        json.loads(body)
    except UnicodeDecodeError as error:
        return f"the body is not valid UTF-8: {error.reason} at byte {error.start}"
    except json.JSONDecodeError as error:
        return f"the body is not valid JSON: {error}"  # says line, column and char
    except RecursionError:
        return f"the body is not acceptable JSON: nested too deep at char {_too_deep_at(body)}"
    return None


def _too_deep_at(body: bytes, limit: int = 500) -> int:
    """The offset where brackets outside strings first nest deeper than `limit`."""
    depth, in_string, escaped = 0, False, False
    for index, byte in enumerate(body):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth > limit:
                return index
        elif byte in b"]}":
            depth -= 1
    return len(body)


def _uses(dependant: Dependant, call: Any) -> bool:
    return dependant.call is call or any(_uses(sub, call) for sub in dependant.dependencies)


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route with its full path (included routers are resolved lazily)."""
    found = (context.route for context in iter_route_contexts(app.routes))
    return [route for route in found if isinstance(route, APIRoute)]


def route_of(app: FastAPI, scope: Scope) -> APIRoute | None:
    for route in api_routes(app):
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def bearer_token(scope: Scope) -> str | None:
    header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class JsonBodyCheck:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS or not is_json(scope):
            await self.app(scope, receive, send)
            return
        try:
            body, ended = await _read_body(receive)
        except HTTPException as error:  # BodySizeLimit's 413 for a streamed body
            await error_response(error.status_code, str(error.detail))(scope, receive, send)
            return
        if not ended:
            return  # the client went away before sending its body
        problem = json_problem(body) if body else None
        if problem is not None and (refusal := await self._refusal(scope, problem)):
            await refusal(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refusal(self, scope: Scope, problem: str) -> JSONResponse | None:
        app: FastAPI = scope["app"]
        route = route_of(app, scope)
        if route is None or route.body_field is None:
            return None  # FastAPI answers (404, 405) or ignores the body
        if _uses(route.dependant, current_principal):
            client = scope.get("client")
            ip = client_ip(client[0] if client else None)
            try:
                await authenticate_caller(app.state.soporte, ip, bearer_token(scope))
            except ServiceError as error:
                return service_error_response(error)
        field = FieldError(field="body", location="body", rule="json_invalid", message=problem)
        return JSONResponse(
            ValidationErrorBody(detail=f"body (body): {problem}", errors=[field]).model_dump(),
            status_code=422,
        )


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, and whether it was read to its end (not a disconnect)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True
