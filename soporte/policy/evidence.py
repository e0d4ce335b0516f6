"""Evidence acceptance (POLICY.md §IV: "evidence (images or PDF, size-limited)"), one rule
for every door: the API's upload and the email's attachments. Pure: no I/O.

The bytes decide the type (magic bytes at offset 0, never the name or the declared type);
a file over the size limit is refused; a filename keeps only its last path segment, loses
the characters no file system takes, and is capped keeping its extension.
"""

from __future__ import annotations

import re
import unicodedata

EVIDENCE_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}
ALLOWED_TYPES = "PNG, JPEG, GIF or WebP images and PDF documents"
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MAX_EVIDENCE_PER_MESSAGE = 20
MAX_EVIDENCE_PER_TICKET = 20
# The signatures below fit in this many leading bytes.
SNIFF_BYTES = 16
MAX_FILENAME_CHARS = 150
_MAX_EXTENSION_CHARS = 10
_FORBIDDEN_IN_NAMES = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')


def sniff_content_type(head: bytes) -> str | None:
    """The evidence type the leading bytes really are; None when not an allowed type."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def safe_filename(name: str | None) -> str:
    """The name evidence is kept under ("" when nothing usable is left)."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = _FORBIDDEN_IN_NAMES.sub("_", text)
    text = "".join(char if char.isprintable() else "_" for char in text).strip(" .")
    if len(text) <= MAX_FILENAME_CHARS:
        return text
    stem, dot, extension = text.rpartition(".")
    if dot and len(extension) <= _MAX_EXTENSION_CHARS:
        return stem[: MAX_FILENAME_CHARS - len(extension) - 1] + dot + extension
    return text[:MAX_FILENAME_CHARS]
