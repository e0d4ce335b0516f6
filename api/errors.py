"""Every error is JSON `{"detail": ...}` with the status API.md names; never a traceback."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from soporte.services.auth_limits import TooManyFailures
from soporte.services.errors import InFlight, ServiceError, Unauthorized

log = logging.getLogger("soporte.api")


class ErrorBody(BaseModel):
    detail: str
    # The refusal in Spanish for the person reading it, when a client meets it.
    message_es: str | None = None


class FieldError(BaseModel):
    field: str
    location: str
    rule: str
    message: str


class ValidationErrorBody(BaseModel):
    detail: str
    errors: list[FieldError] = []


class InFlightBody(BaseModel):
    detail: str
    location: str


# On ticket commands: the ticket did not answer within the bound (README, "202").
IN_FLIGHT: dict[int | str, dict[str, Any]] = {
    202: {
        "model": InFlightBody,
        "description": "Taken, or possibly taken, but not answered in time: see `Location`",
    },
}

COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No token, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "The caller's role may not do this"},
    404: {"model": ErrorBody, "description": "Unknown, or not the caller's to see"},
    409: {"model": ErrorBody, "description": "Not possible in the current state (says why)"},
    413: {"model": ErrorBody, "description": "The request body is too large"},
    429: {"model": ErrorBody, "description": "Too many failed authentications: see Retry-After"},
    422: {"model": ValidationErrorBody, "description": "Invalid input (names field and rule)"},
    503: {"model": ErrorBody, "description": "The database or Temporal is not answering"},
}

_LOCATIONS = {"body": "body", "query": "query parameter", "path": "path", "header": "header"}
_FRIENDLY = {
    "extra_forbidden": "unknown field: it may not be set here",
    "missing": "field required",
    "json_invalid": "the body is not valid JSON",
}


_ENUM_REPR = re.compile(r"<\w+\.\w+: '([^']*)'>")


def without_enum_reprs(error: dict[str, Any]) -> dict[str, Any]:
    """Pydantic words a Literal of enum members as `<ResolutionKind.SOLUTION: 'solution'>`:
    name the allowed words instead (`'solution'`)."""
    msg = error.get("msg")
    if isinstance(msg, str):
        error = {**error, "msg": _ENUM_REPR.sub(lambda match: f"'{match.group(1)}'", msg)}
    return error


def describe(error: dict[str, Any]) -> FieldError:
    loc = [str(part) for part in error.get("loc", ())]
    location = _LOCATIONS.get(loc[0], loc[0]) if loc else "body"
    field = ".".join(loc[1:]) or loc[0] if loc else "body"
    rule = str(error.get("type", "invalid"))
    if rule == "json_invalid":
        field = "body"
    message = _FRIENDLY.get(rule, str(error.get("msg", "invalid value")))
    if rule == "json_invalid" and error.get("ctx", {}).get("error"):
        message += f" ({error['ctx']['error']})"
    return FieldError(field=field, location=location, rule=rule, message=message)


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # nosec B101  # invariant (never run -O)
    fields = [describe(without_enum_reprs(dict(error))) for error in exc.errors()]
    detail = "; ".join(f"{f.field} ({f.location}): {f.message}" for f in fields) or "invalid input"
    body = ValidationErrorBody(detail=detail, errors=fields)
    return JSONResponse(body.model_dump(), status_code=422)


async def on_service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)  # nosec B101  # invariant (never run -O)
    return service_error_response(exc)


def service_error_response(exc: ServiceError) -> JSONResponse:
    if isinstance(exc, TooManyFailures):
        return error_response(429, exc.message, {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, InFlight):
        body = {"detail": exc.message, "location": exc.location}
        return JSONResponse(body, status_code=202, headers={"Location": exc.location})
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    if exc.spanish:
        body = {"detail": exc.message, "message_es": exc.spanish}
        return JSONResponse(body, status_code=exc.status, headers=headers)
    return error_response(exc.status, exc.message, headers)


async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # nosec B101  # invariant (never run -O)
    return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}) or None)


async def on_rpc_error(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("Temporal call failed: %s", exc)
    return error_response(503, "Temporal is not answering; try again shortly")


async def on_database_down(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database call failed: %s", exc)
    return error_response(503, "the database is not answering; try again shortly")


async def on_data_error(_request: Request, exc: Exception) -> JSONResponse:
    log.info("database refused a value: %s", exc)
    return error_response(422, "a value is not acceptable to the database (e.g. a NUL character)")


async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RPCError, on_rpc_error)
    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(Exception, on_unexpected)
