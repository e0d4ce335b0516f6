"""Refusals a service raises; the API maps each to its HTTP status (API.md)."""

from __future__ import annotations


class ServiceError(Exception):
    """`message`: the English detail (for scripts); `spanish`: the same refusal for the person
    reading it (es-CO), when a client meets it."""

    status = 400

    def __init__(self, message: str, *, spanish: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.spanish = spanish


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class InvalidInput(ServiceError):
    """422: the message names the field and the rule."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Unavailable(ServiceError):
    status = 503


class InFlight(ServiceError):
    """202: the ticket has the command (or may have it) but did not answer within the
    bound; `location` is where to look. Never a 5xx for work in flight or done."""

    status = 202

    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        self.location = location
