"""The request id: accepted from the caller's `X-Request-ID` when sane, else generated;
carried to Temporal in a header so the worker's log lines name it too.

Pure (stdlib only): the API's middleware, the Temporal interceptors and the logging
formatters share it.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
# Temporal header key of the commands the API sends (start, signal, update).
TEMPORAL_HEADER = "soporte-request-id"
_SANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

current: ContextVar[str | None] = ContextVar("soporte_request_id", default=None)


def accept_or_generate(raw: str | None) -> str:
    """The caller's id when it is 1-128 characters of letters, digits and `._:-`
    (starting with a letter or digit); a new one otherwise."""
    if raw is not None and _SANE.fullmatch(raw):
        return raw
    return uuid.uuid4().hex


def is_sane(raw: str) -> bool:
    return bool(_SANE.fullmatch(raw))
