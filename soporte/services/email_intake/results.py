"""What became of one inbound message, its `inbound_mail` key, and the limits and cleaning
every step applies to mail text."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import Client as TemporalClient

log = logging.getLogger("soporte.email")

TemporalGetter = Callable[[], Awaitable[TemporalClient]]
Clock = Callable[[], datetime]

DEFAULT_CATEGORY = "general"
SIGNAL_TIMEOUT = timedelta(seconds=10)
AUTO_REPLY_WINDOW = timedelta(hours=1)
AUTO_REPLY_LEASE = timedelta(minutes=2)
MAX_KEY_CHARS = 400
MAX_BODY_CHARS = 20_000
MAX_SUBJECT_CHARS = 200
IDEMPOTENCY_PREFIX = "email:"


@dataclass(frozen=True)
class IntakeResult:
    """What became of one message: `outcome` is one of MailOutcome."""

    outcome: str
    message_id: str
    number: int | None = None
    reason: str = ""
    duplicate: bool = False
    auto_reply: str = ""


def mail_key(message_id: str) -> str:
    """The `inbound_mail` key of a Message-ID: itself, or its SHA-256 when very long."""
    message_id = message_id.strip()
    if len(message_id) <= MAX_KEY_CHARS:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def clean(text: str | None, limit: int | None = None) -> str:
    """Text any database and mail can hold: no NUL, no lone surrogates, bounded."""
    value = (text or "").replace("\x00", "")
    value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit] if limit is not None else value
