"""Walking the MIME tree: the text and the attachment candidates of every part."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from email.utils import collapse_rfc2231_value

from soporte.email.parse.attachments import _Candidate
from soporte.email.parse.headers import _content_type, _Headers, decode_bytes
from soporte.email.parse.html_text import _tidy, html_to_text
from soporte.email.parse.limits import _MAX_DEPTH, _MAX_HTML_CHARS, _MAX_PARTS, MAX_TEXT_CHARS

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
