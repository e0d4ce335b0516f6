"""The message on the wire: the RFC 5322 message with the headers that keep threads and
prevent loops."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from soporte.email.subject_tag import with_tag
from soporte.email.templates.document import RenderedMail

# On every message we send (RFC 3834): automatic, and asking Exchange for no out-of-office
# answer; inbound, soporte.email.loops refuses to answer such mail.
OUTBOUND_LOOP_HEADERS = (("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All"))

# --- The message on the wire ------------------------------------------------------------


def _one_line(value: str) -> str:
    return re.sub(r"[\r\n]+\s*", " ", value).strip()


def build_email(
    rendered: RenderedMail,
    *,
    to: Iterable[str],
    from_addr: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: Iterable[str] = (),
    number: int | None = None,
    thread_root: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """multipart/alternative (text + HTML, UTF-8) with the headers that keep threads and
    prevent loops: Auto-Submitted, our Message-ID, In-Reply-To and References (the ticket's
    `thread_root` first, when given: MessageIds.thread_root)."""
    subject = with_tag(number, _one_line(rendered.subject))
    message = EmailMessage()
    message["From"] = _one_line(from_addr)
    message["To"] = ", ".join(_one_line(address) for address in to)
    message["Subject"] = subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = _one_line(message_id)
    thread = _references(thread_root, in_reply_to, references)
    if in_reply_to:
        message["In-Reply-To"] = _one_line(in_reply_to)
    if thread:
        message["References"] = " ".join(thread)
    for name, value in OUTBOUND_LOOP_HEADERS:
        message[name] = value
    if number:
        message["X-Soporte-Ticket"] = str(number)
    message.set_content(rendered.text, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    message["Content-Language"] = "es-CO"  # after the body: set_content drops Content-* headers
    return message


def _references(
    thread_root: str | None, in_reply_to: str | None, references: Iterable[str]
) -> list[str]:
    ids = [_one_line(thread_root)] if thread_root else []
    ids += [_one_line(ref) for ref in references if ref and ref.strip()]
    if in_reply_to:
        ids.append(_one_line(in_reply_to))
    return list(dict.fromkeys(ids))
