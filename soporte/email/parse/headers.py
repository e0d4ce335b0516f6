"""Charsets and headers: decoding bytes and encoded words, addresses, Message-IDs, and the
headers that say a message is automatic (bounces, auto-replies, bulk)."""

from __future__ import annotations

import binascii
import codecs
import hashlib
import re
from email.message import Message
from email.utils import getaddresses
from typing import NamedTuple

SYNTHETIC_ID_DOMAIN = "synthesized.soporte.invalid"


# --- Charsets and headers -------------------------------------------------------------

# WHATWG practice: mail labelled Latin-1 or ASCII is really Windows-1252 (Outlook quotes).
_WINDOWS_1252_LABELS = {"iso8859-1", "ascii", "latin-1", "latin_1"}
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """Text from bytes: the declared charset, else UTF-8, Windows-1252, Latin-1.

    Returns the text and a note when the declared charset could not be used.
    """
    candidates = [_effective_charset(declared)] if declared else []
    candidates += ["utf-8", "cp1252"]
    for name in candidates:
        if not name:
            continue
        try:
            return data.decode(name), _fallback_note(declared, name)
        except (LookupError, UnicodeError, ValueError):
            continue
    return data.decode("latin-1"), _fallback_note(declared, "latin-1")


def _effective_charset(declared: str) -> str:
    name = declared.strip().strip("\"'").lower()
    try:
        codec_name = codecs.lookup(name).name
    except (LookupError, ValueError):
        return name
    return "cp1252" if codec_name in _WINDOWS_1252_LABELS else name


def _fallback_note(declared: str | None, used: str) -> str | None:
    if declared and _effective_charset(declared) != used:
        return f"charset {declared!r} unusable, read as {used}"
    return None


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _recover_text(value: str) -> str:
    """A header value as parsed from bytes (ASCII + surrogate escapes) back to real text."""
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    text, _ = decode_bytes(value.encode("utf-8", "surrogateescape"))
    return text


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def decode_header_text(raw: str | None) -> str:
    """An unstructured header value as text: unfolded, RFC 2047 words decoded, no controls."""
    if not raw:
        return ""
    text = re.sub(r"\r?\n[ \t]*", " ", _recover_text(str(raw)))
    text = _decode_encoded_words(text)
    return _CONTROL_CHARS.sub("", text).replace("\r", "").replace("\n", " ").strip()


def _decode_encoded_words(text: str) -> str:
    out: list[str] = []
    pending: tuple[str, bytes] | None = None
    position = 0

    def flush() -> None:
        nonlocal pending
        if pending:
            out.append(decode_bytes(pending[1], pending[0])[0])
            pending = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        position = match.end()
        # Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
        if not (pending and not gap.strip()):
            flush()
            out.append(gap)
        charset = match.group(1).split("*", 1)[0].lower()
        data = _encoded_word_bytes(match.group(2), match.group(3))
        if data is None:
            flush()
            out.append(match.group(0))
        elif pending and pending[0] == charset:
            # Joined before decoding: some mailers split one UTF-8 character across words.
            pending = (charset, pending[1] + data)
        else:
            flush()
            pending = (charset, data)
    flush()
    out.append(text[position:])
    return "".join(out)


def _encoded_word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding.lower() == "b":
            padded = payload + "=" * (-len(payload) % 4)
            return binascii.a2b_base64(padded.encode("ascii", "ignore"))
        return binascii.a2b_qp(payload.encode("utf-8", "surrogateescape"), header=True)
    except (binascii.Error, ValueError, UnicodeError):
        return None


class _Headers:
    """Safe, case-insensitive access to a part's raw headers."""

    def __init__(self, part: Message) -> None:
        self._values: dict[str, list[str]] = {}
        try:
            items = list(part.raw_items())
        except Exception:
            items = []
        for name, value in items:
            self._values.setdefault(str(name).strip().lower(), []).append(str(value))

    def all(self, name: str) -> list[str]:
        return self._values.get(name.lower(), [])

    def raw(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def text(self, name: str) -> str:
        return decode_header_text(self.raw(name))

    def token(self, name: str) -> str:
        """The first word of a header such as `Auto-Submitted: auto-replied; owner=...`."""
        text = self.text(name)
        return re.split(r"[;(\s]", text, maxsplit=1)[0].strip().lower() if text else ""

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(display name, lowercased address) pairs, names decoded; unparseable ones skipped."""
        values = [re.sub(r"\r?\n[ \t]*", " ", _recover_text(v)) for v in self.all(name)]
        try:
            pairs = getaddresses(values)
        except Exception:
            pairs = []
        found = [(decode_header_text(n), _clean_address(a)) for n, a in pairs]
        found = [(n, a) for n, a in found if "@" in a]
        if found or not values:
            return found
        loose = _ADDRESS.findall(decode_header_text(" ".join(values)))
        return [("", _clean_address(address)) for address in loose]


_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def _clean_address(address: str) -> str:
    return decode_header_text(address).strip().strip("<>").strip().lower()


_MESSAGE_ID = re.compile(r"<([^<>]+)>")


def normalize_message_id(value: str | None) -> str | None:
    """`<local@domain>` from a Message-ID-like header value; None when there is none."""
    ids = message_ids_in(value)
    if ids:
        return ids[0]
    token = (value or "").strip().split()
    return f"<{token[0].strip('<>')}>" if token and token[0].strip("<>") else None


def message_ids_in(value: str | None) -> list[str]:
    """Every `<...>` id in a References/In-Reply-To value, whitespace removed."""
    if not value:
        return []
    found = (re.sub(r"\s+", "", m) for m in _MESSAGE_ID.findall(_recover_text(value)))
    return list(dict.fromkeys(f"<{m}>" for m in found if m))


def synthetic_message_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_ID_DOMAIN}>"


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


_BULK_PRECEDENCE = {"bulk", "junk", "list"}
_SUPPRESS_WORDS = {"all", "autoreply", "oof"}


class _LoopFlags(NamedTuple):
    auto_submitted: bool
    is_bulk: bool
    is_bounce: bool
    loop_risk: str | None


def _loop_flags(
    headers: _Headers, message: Message, from_address: str, envelope_from: str | None
) -> _LoopFlags:
    """The mail-loop flags (RFC 3834) and the first reason found, most serious first."""
    bounce = _bounce_reason(headers, message, from_address)
    auto = _auto_submitted_reason(headers)
    bulk = _bulk_reason(headers)
    suppressed = _suppress_reason(headers)
    null_path = "null return path" if _return_path(headers, envelope_from) == "" else None
    reasons = [reason for reason in (bounce, auto, bulk, suppressed, null_path) if reason]
    return _LoopFlags(
        auto_submitted=auto is not None,
        is_bulk=bulk is not None,
        is_bounce=bounce is not None,
        loop_risk=reasons[0] if reasons else None,
    )


def _suppress_reason(headers: _Headers) -> str | None:
    words = {word.strip().lower() for word in headers.text("x-auto-response-suppress").split(",")}
    return "x-auto-response-suppress asks for no reply" if words & _SUPPRESS_WORDS else None


def _bounce_reason(headers: _Headers, message: Message, from_address: str) -> str | None:
    content_type = _content_type(message)
    if content_type == "multipart/report" or content_type == "message/delivery-status":
        return "delivery status report"
    if from_address.split("@", 1)[0] == "mailer-daemon":
        return "mailer-daemon sender"
    if headers.raw("x-failed-recipients") is not None:
        return "delivery failure notice"
    return None


def _auto_submitted_reason(headers: _Headers) -> str | None:
    token = headers.token("auto-submitted")
    if token and token != "no":  # nosec B105  # the header value "no", not a password
        return f"auto-submitted: {token}"
    if headers.token("precedence") == "auto_reply":
        return "precedence: auto_reply"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if headers.raw(name) is not None:
            return f"{name} header"
    return None


def _bulk_reason(headers: _Headers) -> str | None:
    precedence = headers.token("precedence")
    if precedence in _BULK_PRECEDENCE:
        return f"precedence: {precedence}"
    if headers.raw("list-id") is not None:
        return "mailing list message (list-id)"
    return None


def _return_path(headers: _Headers, envelope_from: str | None) -> str | None:
    value = envelope_from if envelope_from is not None else headers.raw("return-path")
    if value is None:
        return None
    return _clean_address(value) if value.strip() not in ("", "<>") else ""
