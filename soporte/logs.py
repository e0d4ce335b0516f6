"""Logging for every process: `SOPORTE_LOG_LEVEL` and `SOPORTE_LOG_FORMAT=text|json`.

JSON lines carry the record's structured fields (`extra=`), e.g. the access log's
method, path, status, duration, request id and principal.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from soporte import request_ids

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The attributes every LogRecord has: anything else was passed in `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class InvalidLogSetting(ValueError):
    pass


def check_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LEVELS:
        raise InvalidLogSetting(f"{raw!r} is not a log level ({', '.join(LEVELS)})")
    return level


def check_format(raw: str) -> str:
    form = raw.strip().lower()
    if form not in FORMATS:
        raise InvalidLogSetting(f"{raw!r} is not a log format (text or json)")
    return form


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
    if "request_id" not in fields and request_ids.current.get() is not None:
        fields["request_id"] = request_ids.current.get()
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(fields_of(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The usual text line; a request id, when there is one, at its end."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = fields_of(record).get("request_id")
        if request_id and "request_id=" not in text:
            text += f" request_id={request_id}"
        return text


def configure_from_environ(environ: dict[str, str] | None = None) -> None:
    """From SOPORTE_LOG_LEVEL and SOPORTE_LOG_FORMAT; a bad value names its variable."""
    import os

    environ = dict(os.environ) if environ is None else environ
    level = environ.get("SOPORTE_LOG_LEVEL") or "INFO"
    form = environ.get("SOPORTE_LOG_FORMAT") or "text"
    for name, value, check in (
        ("SOPORTE_LOG_LEVEL", level, check_level),
        ("SOPORTE_LOG_FORMAT", form, check_format),
    ):
        try:
            check(value)
        except InvalidLogSetting as error:
            raise InvalidLogSetting(f"{name}: {error}") from None
    configure(level, form)


def configure(level: str = "INFO", form: str = "text") -> None:
    """Root logging to stderr (`soporte up` sends each child's stderr to var/logs/)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if check_format(form) == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(check_level(level))
