"""The message on the wire: the RFC 5322 message with the headers that keep threads and
prevent loops.

`wire_email` writes the message's bytes itself, for our one shape (multipart/alternative,
text and HTML in UTF-8): what `EmailMessage`, its header policy and its generator make of
it, at a tenth of the cost. Composing a notification through the email package took about
a sixth of the worker's CPU per ticket command (issue 15, README "Benchmarks");
tests/test_email_templates.py checks that both give the same message. `build_email` is
the same message as an `EmailMessage`, for the doors that want one.
"""

from __future__ import annotations

import binascii
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, getaddresses
from typing import cast

from soporte.email.subject_tag import with_tag
from soporte.email.templates.document import RenderedMail

# On every message we send (RFC 3834): automatic, and asking Exchange for no out-of-office
# answer; inbound, soporte.email.loops refuses to answer such mail.
OUTBOUND_LOOP_HEADERS = (("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All"))

# RFC 5322's recommended line length (the email package's too). An RFC 2047 encoded word
# carries 42 bytes: `=?utf-8?b?` + 56 characters of base64 + `?=`, so that `Subject: ` and
# the first word fit in one line.
MAX_LINE = 78
WORD_BYTES = 42


@dataclass(frozen=True)
class WireMail:
    """A composed message: its bytes (lines end in LF), and what SMTP's envelope needs."""

    data: bytes
    message_id: str
    envelope_from: str
    recipients: tuple[str, ...]

    def crlf(self) -> bytes:
        """The bytes as SMTP carries them."""
        return self.data.replace(b"\n", b"\r\n")

    def as_message(self) -> EmailMessage:
        return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(self.data))

    def __getitem__(self, name: str) -> str | None:
        """A header, decoded (as `EmailMessage[name]` reads)."""
        return self.as_message()[name]


# --- The message on the wire ------------------------------------------------------------


def _one_line(value: str) -> str:
    return re.sub(r"[\r\n]+\s*", " ", value).strip()


def wire_email(
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
) -> WireMail:
    """multipart/alternative (text + HTML, UTF-8) with the headers that keep threads and
    prevent loops: Auto-Submitted, our Message-ID, In-Reply-To and References (the ticket's
    `thread_root` first, when given: MessageIds.thread_root)."""
    sender = _addresses([_one_line(from_addr)])
    recipients = _addresses([_one_line(address) for address in to])
    message_id = _one_line(message_id)
    headers = [
        ("From", ", ".join(map(_address, sender))),
        ("To", ", ".join(map(_address, recipients))),
        ("Subject", _unstructured(with_tag(number, _one_line(rendered.subject)))),
        ("Date", format_datetime(now or datetime.now(UTC))),
        ("Message-ID", message_id),
    ]
    thread = _references(thread_root, in_reply_to, references)
    if in_reply_to:
        headers.append(("In-Reply-To", _one_line(in_reply_to)))
    if thread:
        headers.append(("References", " ".join(thread)))
    headers += OUTBOUND_LOOP_HEADERS
    if number:
        headers.append(("X-Soporte-Ticket", str(number)))
    text, html = _body(rendered.text), _body(rendered.html)
    boundary = _boundary(text[1], html[1])
    headers += [
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("Content-Language", "es-CO"),
    ]
    head = "".join(_fold(f"{name}: {value}") + "\n" for name, value in headers)
    parts = [_part(boundary, "plain", *text), _part(boundary, "html", *html)]
    return WireMail(
        data=b"\n".join([head.encode(), *parts, f"--{boundary}--\n".encode()]),
        message_id=message_id,
        envelope_from=sender[0][1] if sender else "",
        recipients=tuple(address for _, address in recipients),
    )


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
    """The message of `wire_email`, as an `EmailMessage`."""
    return wire_email(
        rendered,
        to=to,
        from_addr=from_addr,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        number=number,
        thread_root=thread_root,
        now=now,
    ).as_message()


def _references(
    thread_root: str | None, in_reply_to: str | None, references: Iterable[str]
) -> list[str]:
    ids = [_one_line(thread_root)] if thread_root else []
    ids += [_one_line(ref) for ref in references if ref and ref.strip()]
    if in_reply_to:
        ids.append(_one_line(in_reply_to))
    return list(dict.fromkeys(ids))


# --- Headers ------------------------------------------------------------------------------


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """The (display name, address) pairs written in `values`."""
    return [pair for pair in getaddresses(values) if pair[1]]


def _address(pair: tuple[str, str]) -> str:
    """`Name <address>`, the name in an encoded word when it is not ASCII. An address that is
    not ASCII (RFC 6531) goes as it is, in UTF-8."""
    name, address = pair
    if address.isascii():
        return formataddr(pair, charset="utf-8")
    return f"{_unstructured(name)} <{address}>" if name else address


def _unstructured(value: str) -> str:
    """ASCII as it is; otherwise RFC 2047 encoded words of whole characters."""
    if value.isascii():
        return value
    words, word = [], b""
    for char in value:
        encoded = char.encode("utf-8")
        if len(word) + len(encoded) > WORD_BYTES:
            words.append(word)
            word = b""
        word += encoded
    words.append(word)
    return " ".join(f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode()}?=" for w in words)


def _fold(line: str) -> str:
    """Fold a header line at spaces to at most MAX_LINE characters where it can be."""
    if len(line) <= MAX_LINE:
        return line
    folded, current = [], ""
    for token in line.split(" "):
        if current and len(current) + 1 + len(token) > MAX_LINE:
            folded.append(current)
            current = " " + token
        else:
            current = f"{current} {token}" if current else token
    folded.append(current)
    return "\n".join(folded)


# --- Bodies ---------------------------------------------------------------------------------


def _body(content: str) -> tuple[str, bytes]:
    """(transfer encoding, body) as the email package chooses for UTF-8 text: 7bit or 8bit
    when no line is longer than MAX_LINE, else quoted-printable. Lines end in LF, and the
    body in one."""
    lines = content.encode("utf-8").splitlines()
    raw = b"\n".join(lines) + b"\n"
    if max((len(line) for line in lines), default=0) <= MAX_LINE:
        return ("7bit" if raw.isascii() else "8bit"), raw
    return "quoted-printable", binascii.b2a_qp(raw, istext=True)


def _boundary(*bodies: bytes) -> str:
    while True:
        boundary = f"=_{uuid.uuid4().hex}"
        if not any(boundary.encode() in body for body in bodies):
            return boundary


def _part(boundary: str, subtype: str, encoding: str, body: bytes) -> bytes:
    head = (
        f"--{boundary}\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\n'
        f"Content-Transfer-Encoding: {encoding}\n\n"
    )
    return head.encode() + body
