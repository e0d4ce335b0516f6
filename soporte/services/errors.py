"""Refusals a service raises; the API maps each to its HTTP status (API.md)."""

from __future__ import annotations

from soporte.policy.refusals import Refusal


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


class TooManyRequests(ServiceError):
    """429: a rate limit (the portal's sign-in requests)."""

    status = 429


def refused(refusal: Refusal) -> ServiceError:
    """A structured refusal at a door: about a field, a 422 naming it; about the state of
    things (a taken slot, a repeat), a 409."""
    if refusal.is_conflict or refusal.field is None:
        return Conflict(str(refusal))
    return InvalidInput(refusal.field, refusal.message)


def refusal_error(error: BaseException) -> ServiceError:
    """Every door's answer to a workflow's refusal (a WorkflowUpdateFailedError): the
    structured refusal its details carry, else a 409 with the workflow's message."""
    cause = getattr(error, "cause", None)
    message = str(getattr(cause, "message", None) or cause or error)
    details = getattr(cause, "details", None) or ()
    refusal = Refusal.from_details(details[0]) if details else None
    return Conflict(message) if refusal is None else refused(refusal)
