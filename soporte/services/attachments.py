"""Evidence files: sniffed by magic bytes, size- and count-limited, stored by SHA-256.

Only PNG, JPEG, GIF and WebP images and PDF documents are kept, whatever type the
upload declared; files are served back only as downloads (never inline).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient

from soporte.db.models import Attachment
from soporte.policy import Visibility
from soporte.policy.tickets import AttachmentRef, ClientMessage, EngineerMessage
from soporte.services import tickets
from soporte.services.auth import WORKING_ROLES, Principal
from soporte.services.errors import Conflict, InvalidInput, NotFound, TooLarge
from soporte.services.schemas import AttachmentOut, clean_text
from soporte.settings import Settings

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_TICKET = 20
SNIFF_BYTES = 16
ALLOWED = "PNG, JPEG, GIF or WebP images and PDF documents"


def sniff(head: bytes) -> str | None:
    """The content type the bytes really are, among the allowed ones; else None."""
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


def safe_filename(raw: str | None) -> str:
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*')
    name = name.strip(" .")[:200]
    return name or "adjunto"


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str


def blob_path(settings: Settings, sha256: str) -> Path:
    return settings.attachments_dir / sha256[:2] / sha256


async def store(settings: Settings, chunks: AsyncIterator[bytes]) -> StoredFile:
    """Write the upload under the attachments dir by its hash; refuse wrong types or sizes."""
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    handle, temp_name = tempfile.mkstemp(dir=settings.attachments_dir, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as temp:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_BYTES:
                    raise TooLarge(f"file: an attachment may have at most {MAX_BYTES} bytes")
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    _check_type(head, final=False)
                digest.update(chunk)
                temp.write(chunk)
        content_type = _check_type(head, final=True)
        assert content_type is not None  # nosec B101  # invariant (never run -O)
        sha = digest.hexdigest()
        target = blob_path(settings, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp_name, target)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
    return StoredFile(sha256=sha, size=size, content_type=content_type)


def _check_type(head: bytes, *, final: bool) -> str | None:
    if not final and len(head) < SNIFF_BYTES:
        return None
    if not head:
        raise InvalidInput("file", "the file is empty")
    content_type = sniff(head)
    if content_type is None:
        raise InvalidInput("file", f"only {ALLOWED} are accepted (checked by content)")
    return content_type


def attachment_out(row: Attachment) -> AttachmentOut:
    return AttachmentOut.model_validate(
        {
            "sha256": row.sha256,
            "filename": row.filename,
            "content_type": row.content_type,
            "size": row.size,
            "visibility": row.visibility,
            "uploaded_by": row.uploaded_by,
            "created_at": row.created_at,
        }
    )


def _check_body(body: str | None) -> str | None:
    if body is None:
        return None
    try:
        clean_text(body)
    except ValueError as error:
        raise InvalidInput("body", str(error)) from None
    if len(body) > 20000:
        raise InvalidInput("body", "may have at most 20000 characters")
    return body.strip() or None


async def upload(
    session: AsyncSession,
    temporal: TemporalClient,
    settings: Settings,
    principal: Principal,
    number: int,
    filename: str | None,
    chunks: AsyncIterator[bytes],
    body: str | None = None,
    visibility: Visibility = Visibility.PUBLIC,
) -> AttachmentOut:
    await tickets.find_ticket(session, principal, number)
    if not principal.is_contact:
        tickets.require(principal, *WORKING_ROLES, action="attach files")
    elif visibility != Visibility.PUBLIC:
        raise InvalidInput("visibility", "contacts attach public files only")
    text = _check_body(body)
    count = await session.scalar(select(func.count()).where(Attachment.number == number))
    await session.commit()
    if (count or 0) >= MAX_PER_TICKET:
        raise Conflict(f"ticket {number} already has {MAX_PER_TICKET} attachments, the limit")
    stored = await store(settings, chunks)
    name = safe_filename(filename)
    existing = await session.scalar(
        select(Attachment).where(Attachment.number == number, Attachment.sha256 == stored.sha256)
    )
    await session.commit()
    if existing is not None:
        return attachment_out(existing)
    ref = AttachmentRef(
        sha256=stored.sha256, filename=name, content_type=stored.content_type, size=stored.size
    )
    await _tell_ticket(temporal, principal, number, ref, text or f"Adjunto: {name}", visibility)
    return await _record(session, principal, number, ref, visibility)


async def _tell_ticket(
    temporal: TemporalClient,
    principal: Principal,
    number: int,
    ref: AttachmentRef,
    body: str,
    visibility: Visibility,
) -> None:
    if principal.is_contact:
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"attachment:{number}:{ref.sha256}"))
        message = ClientMessage(
            message_id=message_id, author_email=principal.email, body=body, attachments=[ref]
        )
        await tickets.send_client_message(temporal, number, message)
        return
    reply = EngineerMessage(
        author_email=principal.email, body=body, visibility=visibility, attachments=[ref]
    )
    await tickets.run_update(temporal, number, "reply", reply)


async def _record(
    session: AsyncSession,
    principal: Principal,
    number: int,
    ref: AttachmentRef,
    visibility: Visibility,
) -> AttachmentOut:
    row = Attachment(
        sha256=ref.sha256,
        number=number,
        filename=ref.filename,
        content_type=ref.content_type,
        size=ref.size,
        visibility=visibility.value,
        uploaded_by=principal.email,
    )
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        found = await session.scalar(
            select(Attachment).where(Attachment.number == number, Attachment.sha256 == ref.sha256)
        )
        if found is None:
            raise
        return attachment_out(found)
    return attachment_out(row)


def _visible(principal: Principal) -> ColumnElement[bool]:
    if principal.is_contact:
        return Attachment.visibility == Visibility.PUBLIC.value
    return true()


async def list_attachments(
    session: AsyncSession, principal: Principal, number: int
) -> list[AttachmentOut]:
    await tickets.find_ticket(session, principal, number)
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.number == number, _visible(principal))
        .order_by(Attachment.id)
    )
    return [attachment_out(row) for row in rows]


@dataclass(frozen=True)
class Download:
    path: Path
    filename: str
    content_type: str


async def download(
    session: AsyncSession, settings: Settings, principal: Principal, number: int, sha256: str
) -> Download:
    await tickets.find_ticket(session, principal, number)
    row = await session.scalar(
        select(Attachment).where(
            Attachment.number == number, Attachment.sha256 == sha256, _visible(principal)
        )
    )
    path = blob_path(settings, sha256)
    if row is None or not path.exists():
        raise NotFound(f"ticket {number} has no attachment {sha256}")
    return Download(path=path, filename=row.filename, content_type=row.content_type)
