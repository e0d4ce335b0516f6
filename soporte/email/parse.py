"""One parser for inbound mail: raw RFC 5322 bytes in, a `ParsedMail` out, never an exception.

Fed by the SMTP listener and by `POST /api/v1/inbound-email` alike. Real mail is messy, so
every step degrades instead of failing: unknown or wrong charsets fall back to UTF-8, then
Windows-1252, then Latin-1; broken encodings keep what can be read; what was odd is noted
in `ParsedMail.defects`. Pure: no I/O.

The message structure is read with the `compat32` policy and headers are decoded here by
hand: the modern policy parses headers lazily and can raise on access for malformed ones.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import collapse_rfc2231_value, getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import NamedTuple

from soporte.email.templates import ticket_number_from_message_id
from soporte.policy import Priority

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20
# Bodies become ticket descriptions carried in workflow payloads, which must stay small.
MAX_TEXT_CHARS = 100_000
_MAX_PARTS = 500
_MAX_DEPTH = 30
_MAX_FIELD_CHARS = 1_000
# HTML is mostly markup; reading more than this cannot add to the capped text, only time.
_MAX_HTML_CHARS = 5 * MAX_TEXT_CHARS

SYNTHETIC_ID_DOMAIN = "synthesized.soporte.invalid"


class Attachment(NamedTuple):
    """Evidence kept from a message: a sniffed image or PDF within the limits."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class RefusedAttachment(NamedTuple):
    """A part that was not kept, and why (`code`: type, size, count or empty)."""

    filename: str
    content_type: str
    size: int
    code: str
    reason: str


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


# --- HTML to text -----------------------------------------------------------------------

_BLOCK_TAGS = {
    "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav", "ol",
    "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
}  # fmt: skip
_PARAGRAPH_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"}
# `head` itself is not skipped: broken mail often never closes it.
_SKIPPED_TAGS = {"script", "style", "title", "noscript", "template", "object", "iframe"}
_SIGNATURE_MARKERS = {"gmail_signature", "signature", "moz-signature"}


class _HtmlText(HTMLParser):
    """HTML reduced to plain text: blocks become lines, blockquotes become `> ` lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skip = 0
        self._quote = 0
        self._pre = 0
        self._gap = False
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip += 1
        elif tag == "br":
            self._push(force=True)
        elif tag in _PARAGRAPH_TAGS and not _is_outlook_line(tag, attrs):
            self._paragraph()
            if tag == "blockquote":
                self._quote += 1
            if tag == "pre":
                self._pre += 1
        elif tag in _BLOCK_TAGS or tag == "p":
            self._push()
            if tag == "li":
                self._current.append("- ")
        elif tag in ("td", "th"):
            self._current.append(" ")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self._href = href.strip() if re.match(r"https?://", href.strip(), re.I) else None
        if not self._quote and _is_signature(attrs):
            self._push()
            self.lines.append("-- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _PARAGRAPH_TAGS:
            self._paragraph()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
        elif tag in _BLOCK_TAGS:
            self._push()
        elif tag == "a" and self._href:
            if self._href not in "".join(self._current):
                self._current.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if not self._pre:
            self._current.append(re.sub(r"\s+", " ", data))
            return
        first, *rest = data.split("\n")
        self._current.append(first)
        for line in rest:
            self._push(force=True)
            self._current.append(line)

    def text(self) -> str:
        self._push()
        return "\n".join(self.lines)

    def _push(self, force: bool = False) -> None:
        line = "".join(self._current).replace("\xa0", " ")
        line = line.rstrip() if self._pre else re.sub(r" {2,}", " ", line).strip()
        self._current = []
        if not (line or force):
            return
        # A paragraph gap is written only between two lines, never dangling at the end.
        if self._gap and self.lines and self.lines[-1]:
            self.lines.append("")
        self._gap = False
        self.lines.append("> " * self._quote + line if line else ">" * self._quote)

    def _paragraph(self) -> None:
        self._push()
        self._gap = True


def _classes(attrs: list[tuple[str, str | None]]) -> set[str]:
    return {
        word
        for name, value in attrs
        if name in ("class", "id") and value
        for word in value.lower().split()
    }


def _is_signature(attrs: list[tuple[str, str | None]]) -> bool:
    return bool(_classes(attrs) & _SIGNATURE_MARKERS)


def _is_outlook_line(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    # Outlook writes every line as <p class=MsoNormal> with no margin: a line, not a paragraph.
    return tag == "p" and "msonormal" in _classes(attrs)


def html_to_text(html: str) -> str:
    """Safe plain text from HTML: scripts and styles dropped, entities unescaped."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
        text = parser.text()
    except Exception:  # HTMLParser can assert on pathological markup
        stripped = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html)
        text = unescape(re.sub(r"<[^>]*>", " ", stripped))
    return _tidy(text)


# --- Reply trimming ------------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"^\s*(?:el|on|le|am|em)\b.{0,400}?(?:escribi[óo]|wrote|a\s+écrit|schrieb|escreveu)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|mensaje original|mensagem original)\s*-{2,}\s*$", re.I
)
_HEADER_FROM = re.compile(r"^\s*[*_]*\s*(?:de|from)\s*[*_]*\s*:", re.I)
_HEADER_SENT = re.compile(r"^\s*[*_]*\s*(?:enviado(?:\s+el)?|sent|fecha|date)\s*[*_]*\s*:", re.I)
_UNDERSCORE_RULE = re.compile(r"^\s*_{8,}\s*$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:enviado|sent|obtener|get)\s+(?:desde|from|de)\s+\S.{0,60}$", re.I
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:fwd?|rv|reenv(?:iado)?|tr)\s*:", re.I)


def trim_reply(text: str) -> str:
    """What was written now: history after a reply header, `>` lines and signature removed."""
    lines = text.split("\n")
    lines = lines[: _history_start(lines)]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    lines = lines[: _signature_start(lines)]
    while lines and (not lines[-1].strip() or _MOBILE_SIGNATURE.match(lines[-1])):
        lines.pop()
    return _tidy("\n".join(lines))


def is_forward(subject: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject))


def _history_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _is_attribution(lines, index):
            return index
        if _is_header_block(lines, index):
            before = index - 1
            return before if before >= 0 and _UNDERSCORE_RULE.match(lines[before]) else index
    return len(lines)


def _is_attribution(lines: list[str], index: int) -> bool:
    if not re.match(r"^\s*(?:el|on|le|am|em)\b", lines[index], re.I):
        return False
    # Clients wrap long attributions ("... <juan@\nexample.com>) escribió:") over lines.
    return any(
        _ATTRIBUTION.match(" ".join(lines[index : index + span]))
        for span in (1, 2, 3)
        if index + span <= len(lines) and _wraps(lines[index : index + span])
    )


def _wraps(lines: list[str]) -> bool:
    """Whether lines can be one wrapped line: no blank line, no sentence ended before."""
    return all(line.strip() for line in lines) and not any(
        line.rstrip().endswith((".", "!", "?")) for line in lines[:-1]
    )


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 6] if line.strip()][:4]
    return any(_HEADER_SENT.match(line) for line in following)


def _signature_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line == "-- " or line.strip() == "--":
            return index
    return len(lines)


def _tidy(text: str) -> str:
    """Newlines normalized, controls and trailing spaces dropped, blank runs collapsed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_CHARS.sub("", text)
    text = "\n".join(line.rstrip() if line != "-- " else line for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# --- Impact, priority and ticket numbers ---------------------------------------------------

_IMPACT_LABEL = re.compile(
    r"^impacto(?: (?:en|de|al|para) (?:el |la |los )?(?:negocio|operacion|empresa|cliente))?$"
)
_PRIORITY_LABEL = re.compile(r"^prioridad(?: sugerida)?$")
_PRIORITY_WORDS = {
    "critica": Priority.P1,
    "critico": Priority.P1,
    "alta": Priority.P2,
    "alto": Priority.P2,
    "media": Priority.P3,
    "medio": Priority.P3,
    "baja": Priority.P3,
    "bajo": Priority.P3,
}
_SUBJECT_NUMBER = (
    re.compile(r"\[\s*#\s*(\d{1,9})\s*\]"),
    re.compile(r"\b(?:ticket|caso)\s*(?:n[o°º.]*\s*)?[:#]?\s*#?\s*(\d{1,9})\b", re.I),
    re.compile(r"(?<![\w&#])#\s?(\d{1,9})\b"),
)


def fold(text: str) -> str:
    """Lowercase without accents or decoration: 'Prioridad Sugerída' -> 'prioridad sugerida'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"\s+", " ", plain.casefold().strip(" \t*_-•>")).strip()


def labelled_value(text: str, label: re.Pattern[str]) -> str | None:
    """The value of the first `Label: value` line whose folded label matches (or the next line)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        name, colon, value = line.partition(":")
        if not colon or not label.match(fold(name)):
            continue
        value = value.strip(" \t*_") or _next_unlabelled_line(lines[index + 1 : index + 3])
        if value:
            return value[:_MAX_FIELD_CHARS]
    return None


def _next_unlabelled_line(lines: list[str]) -> str:
    for line in lines:
        if line.strip():
            return "" if ":" in line[:30] else line.strip()
    return ""


def priority_from_text(value: str | None) -> Priority | None:
    """P1/P2/P3 from a client's words: 'P2', 'alta', 'Crítica', '3'; None when unclear."""
    if not value:
        return None
    for token in re.findall(r"p\s*-?\s*[123]\b|[a-z]+|\d+", fold(value)):
        if token[0] == "p" and token[-1] in "123":
            return Priority(f"P{token[-1]}")
        if token in _PRIORITY_WORDS:
            return _PRIORITY_WORDS[token]
        if token in ("1", "2", "3"):
            return Priority(f"P{token}")
    return None


def ticket_number_in(subject: str) -> int | None:
    """`[#1234]` first, then 'Ticket 1234' / 'Caso #1234', then a bare '#1234'."""
    for pattern in _SUBJECT_NUMBER:
        match = pattern.search(subject)
        if match and int(match.group(1)) > 0:
            return int(match.group(1))
    return None


# --- Attachments ---------------------------------------------------------------------------

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}


def sniff_content_type(data: bytes) -> str | None:
    """The evidence type by magic bytes (never by name or declared type); None if not allowed."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if b"%PDF-" in data[:1024]:
        return "application/pdf"
    return None


def safe_filename(name: str | None) -> str:
    text = decode_header_text(name).replace("\\", "/").rsplit("/", 1)[-1]
    text = re.sub(r'[<>:"|?*\x00-\x1f]', "_", text).strip(" .")
    if len(text) > 150:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: 140 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else text[:150]
    return text


class _Candidate(NamedTuple):
    filename: str
    declared_type: str
    data: bytes | None


def screen_attachments(
    candidates: Iterable[_Candidate],
) -> tuple[list[Attachment], list[RefusedAttachment]]:
    """Evidence kept by the rules (sniffed type, size, count) and the parts refused, with why."""
    accepted: list[Attachment] = []
    refused: list[RefusedAttachment] = []
    for candidate in candidates:
        verdict = _screen(candidate, len(accepted))
        if isinstance(verdict, Attachment):
            accepted.append(verdict)
        else:
            refused.append(verdict)
    return accepted, refused


def _screen(candidate: _Candidate, already_accepted: int) -> Attachment | RefusedAttachment:
    data = candidate.data or b""
    name = safe_filename(candidate.filename)
    sniffed = sniff_content_type(data)
    if not data:
        code, reason = "empty", "adjunto vacío o ilegible"
    elif sniffed is None:
        code, reason = "type", "tipo no permitido: solo imágenes PNG, JPEG, GIF, WebP y PDF"
    elif len(data) > MAX_ATTACHMENT_BYTES:
        code, reason = "size", "supera el máximo de 10 MiB por archivo"
    elif already_accepted >= MAX_ATTACHMENTS:
        code, reason = "count", f"supera el máximo de {MAX_ATTACHMENTS} adjuntos por mensaje"
    else:
        name = name or f"adjunto-{already_accepted + 1}{_EXTENSIONS[sniffed]}"
        return Attachment(name, sniffed, data)
    return RefusedAttachment(name, candidate.declared_type, len(data), code, reason)


# --- Walking the MIME tree ---------------------------------------------------------------


@dataclass
class _Walk:
    candidates: list[_Candidate] = field(default_factory=list)
    attached_messages: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    parts: int = 0

    def note(self, defect: str) -> None:
        if defect not in self.defects:
            self.defects.append(defect)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or part.get_param("name")
        if isinstance(name, tuple):  # an RFC 2231 value not yet decoded
            name = collapse_rfc2231_value(name)
    except Exception:
        return ""
    return str(name) if name else ""


def _payload_bytes(part: Message, walk: _Walk) -> bytes | None:
    try:
        payload = part.get_payload(decode=True)
    except Exception as error:
        walk.note(f"undecodable payload: {type(error).__name__}")
        return None
    return payload if isinstance(payload, bytes) else None


def _children(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    return (
        [child for child in payload if isinstance(child, Message)]
        if isinstance(payload, list)
        else []
    )


def _text_of(part: Message, walk: _Walk) -> str:
    data = _payload_bytes(part, walk) or b""
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    text, note = decode_bytes(data, declared)
    if note:
        walk.note(note)
    return _tidy(text)


def _is_attachment(part: Message, content_type: str) -> bool:
    # Text is body unless marked as an attachment: mailers name inline text parts too.
    if not content_type.startswith("text/"):
        return True
    return _Headers(part).token("content-disposition") == "attachment"


def _walk_part(part: Message, walk: _Walk, depth: int = 0) -> str:
    """The body text of `part`; files found on the way are collected as candidates."""
    walk.parts += 1
    if walk.parts > _MAX_PARTS or depth > _MAX_DEPTH:
        walk.note("too many or too deeply nested parts: the rest was ignored")
        return ""
    for defect in getattr(part, "defects", []) or []:
        walk.note(type(defect).__name__)
    content_type = _content_type(part)
    if part.is_multipart():
        return _walk_container(part, content_type, walk, depth)
    if content_type.startswith("multipart/"):
        walk.note("multipart without parts: read as text")
        return _text_of(part, walk)
    if _is_attachment(part, content_type):
        data = _payload_bytes(part, walk)
        walk.candidates.append(_Candidate(_filename(part), content_type, data))
        return ""
    text = _text_of(part, walk)
    if content_type != "text/html":
        return _cap(text, MAX_TEXT_CHARS + 1, walk)
    return html_to_text(_cap(text, _MAX_HTML_CHARS, walk))


def _cap(text: str, limit: int, walk: _Walk) -> str:
    if len(text) > limit:
        walk.note(f"part longer than {limit} characters: only its start was read")
    return text[:limit]


def _walk_container(part: Message, content_type: str, walk: _Walk, depth: int) -> str:
    children = _children(part)
    if content_type == "message/rfc822":
        for child in children:
            walk.attached_messages.append(_attached_message(child, walk, depth))
        return ""
    if content_type.startswith("message/"):
        return ""  # delivery and disposition reports carry no client text
    if content_type == "multipart/alternative":
        return _pick_alternative(children, walk, depth)
    texts = (_walk_part(child, walk, depth + 1) for child in children)
    return "\n\n".join(text for text in texts if text.strip())


def _pick_alternative(children: list[Message], walk: _Walk, depth: int) -> str:
    # Every alternative is walked: inline images often live only in the HTML branch.
    versions = [(_content_type(child), _walk_part(child, walk, depth + 1)) for child in children]
    for content_type, text in versions:
        if content_type == "text/plain" and text.strip():
            return text
    return next((text for _, text in reversed(versions) if text.strip()), "")


def _attached_message(message: Message, walk: _Walk, depth: int) -> str:
    headers = _Headers(message)
    body = _walk_part(message, walk, depth + 1)
    summary = [f"De: {headers.text('from')}", f"Asunto: {headers.text('subject')}"]
    return "--- Mensaje adjunto ---\n" + "\n".join(summary) + "\n\n" + body


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
    if token and token != "no":  # nosec B105  # the header value 'no', not a password
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
