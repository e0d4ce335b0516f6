"""Attachments: which parts are kept as evidence (sniffed type, size and count limits)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import NamedTuple

from soporte.email.parse.headers import decode_header_text
from soporte.email.parse.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from soporte.policy.evidence import EVIDENCE_EXTENSIONS, sniff_content_type
from soporte.policy.evidence import safe_filename as evidence_filename


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


# --- Attachments ---------------------------------------------------------------------------


def safe_filename(name: str | None) -> str:
    """A MIME filename (maybe RFC 2047-encoded) under the evidence rule's name."""
    return evidence_filename(decode_header_text(name))


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
        name = name or f"adjunto-{already_accepted + 1}{EVIDENCE_EXTENSIONS[sniffed]}"
        return Attachment(name, sniffed, data)
    return RefusedAttachment(name, candidate.declared_type, len(data), code, reason)
