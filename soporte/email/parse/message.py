"""The parsed message (`ParsedMail`) and `parse_message`, which puts the parts together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import compat32
from email.utils import parsedate_to_datetime

from soporte.email.parse.attachments import Attachment, RefusedAttachment, screen_attachments
from soporte.email.parse.fields import (
    _IMPACT_LABEL,
    _PRIORITY_LABEL,
    labelled_value,
    ticket_number_in,
)
from soporte.email.parse.headers import (
    _as_bytes,
    _Headers,
    _loop_flags,
    _return_path,
    decode_bytes,
    decode_header_text,
    message_ids_in,
    normalize_message_id,
    synthetic_message_id,
)
from soporte.email.parse.html_text import _tidy
from soporte.email.parse.limits import _MAX_FIELD_CHARS, MAX_TEXT_CHARS
from soporte.email.parse.mime import _Walk, _walk_part
from soporte.email.parse.quoting import is_forward, trim_reply
from soporte.email.templates.message_ids import ticket_number_from_message_id
from soporte.policy import Priority
from soporte.policy.triage import priority_from_text


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    message_id_synthesized: bool = False
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    # What the sender wrote now: quoted history and signature trimmed (empty if nothing new).
    body_text: str = ""
    full_text: str = ""
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    ticket_number_in_subject: int | None = None
    # A ticket number read from one of our own Message-IDs in In-Reply-To/References.
    ticket_number_in_references: int | None = None
    business_impact: str | None = None
    suggested_priority: Priority | None = None
    attachments: list[Attachment] = field(default_factory=list)
    refused_attachments: list[RefusedAttachment] = field(default_factory=list)
    # The reverse path: "" is the null path (MAIL FROM:<>), None when unknown.
    return_path: str | None = None
    auto_submitted: bool = False
    is_bulk: bool = False
    is_bounce: bool = False
    # Why no automatic reply may ever answer this message (None: no header-level risk).
    loop_risk: str | None = None
    defects: list[str] = field(default_factory=list)

    @property
    def ticket_number(self) -> int | None:
        """The ticket this message belongs to by its own words: subject first, then ids."""
        if self.ticket_number_in_subject is not None:
            return self.ticket_number_in_subject
        return self.ticket_number_in_references

    @property
    def thread_message_ids(self) -> list[str]:
        """Ids to look up against messages we know: In-Reply-To, then References newest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids.extend(reversed(self.references))
        return list(dict.fromkeys(ids))


def parse_message(raw: bytes, envelope_from: str | None = None) -> ParsedMail:
    """Parse one raw message. Never raises: unreadable input yields a flagged ParsedMail."""
    data = _as_bytes(raw)
    try:
        return _parse(data, envelope_from)
    except Exception as error:  # the last net: a parser bug must not lose a client's mail
        return _unparseable(data, envelope_from, error)


# --- Putting it together -----------------------------------------------------------------


def _parse(raw: bytes, envelope_from: str | None) -> ParsedMail:
    message = message_from_bytes(raw, policy=compat32)
    headers = _Headers(message)
    walk = _Walk()
    main_text = _walk_part(message, walk)
    subject = headers.text("subject")[:_MAX_FIELD_CHARS]
    body_text = main_text if is_forward(subject) else trim_reply(main_text)
    attached = "\n\n".join(walk.attached_messages)
    full_text = _limit(_join(main_text, attached), walk)
    body_text = _limit(_join(body_text, attached), walk)
    accepted, refused = screen_attachments(walk.candidates)
    message_id = normalize_message_id(headers.raw("message-id"))
    if message_id is None:
        walk.note("missing Message-ID: synthesized from the content")
    from_name, from_address = (headers.addresses("from") or [("", "")])[0]
    if not from_address:
        walk.note("missing or unreadable From address")
    in_reply_to = normalize_message_id(headers.raw("in-reply-to"))
    references = message_ids_in(" ".join(headers.all("references")))
    flags = _loop_flags(headers, message, from_address, envelope_from)
    return_path = _return_path(headers, envelope_from)
    return ParsedMail(
        message_id=message_id or synthetic_message_id(raw),
        message_id_synthesized=message_id is None,
        from_address=from_address,
        from_name=from_name[:_MAX_FIELD_CHARS],
        to=[address for _, address in headers.addresses("to")],
        cc=[address for _, address in headers.addresses("cc")],
        reply_to=[address for _, address in headers.addresses("reply-to")],
        subject=subject,
        date=_date(headers.raw("date")),
        body_text=body_text,
        full_text=full_text,
        in_reply_to=in_reply_to,
        references=references,
        ticket_number_in_subject=ticket_number_in(subject),
        ticket_number_in_references=_number_in_ids([in_reply_to, *reversed(references)]),
        business_impact=labelled_value(body_text, _IMPACT_LABEL),
        suggested_priority=priority_from_text(labelled_value(body_text, _PRIORITY_LABEL)),
        attachments=accepted,
        refused_attachments=refused,
        return_path=return_path,
        auto_submitted=flags.auto_submitted,
        is_bulk=flags.is_bulk,
        is_bounce=flags.is_bounce,
        loop_risk=flags.loop_risk,
        defects=walk.defects,
    )


def _join(*texts: str) -> str:
    return "\n\n".join(text for text in texts if text.strip())


def _limit(text: str, walk: _Walk) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    walk.note(f"text longer than {MAX_TEXT_CHARS} characters: truncated")
    return text[:MAX_TEXT_CHARS] + "\n[… texto truncado …]"


def _number_in_ids(ids: list[str | None]) -> int | None:
    for message_id in ids:
        number = ticket_number_from_message_id(message_id) if message_id else None
        if number is not None:
            return number
    return None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(decode_header_text(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _unparseable(raw: bytes, envelope_from: str | None, error: Exception) -> ParsedMail:
    text, _ = decode_bytes(raw)
    text = _tidy(text)[:MAX_TEXT_CHARS]
    return_path = None
    if envelope_from is not None:
        return_path = envelope_from.strip().strip("<>").lower()
    return ParsedMail(
        message_id=synthetic_message_id(raw),
        message_id_synthesized=True,
        full_text=text,
        body_text=text,
        return_path=return_path,
        loop_risk="null return path" if return_path == "" else None,
        defects=[f"unparseable message ({type(error).__name__}): kept as raw text"],
    )
