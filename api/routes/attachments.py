"""Attachments: multipart upload, listing, download (never inline)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, UploadFile, status
from fastapi.responses import FileResponse

from api.deps import PrincipalDep, SessionDep, SettingsDep, TemporalDep
from api.errors import COMMON_RESPONSES
from api.routes.tickets import Number
from soporte.policy import Visibility
from soporte.services import attachments
from soporte.services.schemas import AttachmentOut

router = APIRouter(prefix="/api/v1/tickets", tags=["attachments"], responses=COMMON_RESPONSES)

CHUNK = 64 * 1024
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the file's SHA-256")]


async def chunks_of(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


@router.post("/{number}/attachments", status_code=status.HTTP_201_CREATED)
async def upload_attachment(
    number: Number,
    file: Annotated[UploadFile, File(description="PNG, JPEG, GIF, WebP or PDF; 10 MiB at most")],
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    body: Annotated[str | None, Form(max_length=20000)] = None,
    visibility: Annotated[Visibility, Form()] = Visibility.PUBLIC,
) -> AttachmentOut:
    """Attach evidence to a ticket; the ticket's log records it as a message."""
    return await attachments.upload(
        session,
        temporal,
        settings,
        principal,
        number,
        file.filename,
        chunks_of(file),
        body=body,
        visibility=visibility,
    )


@router.get("/{number}/attachments")
async def list_attachments(
    number: Number, principal: PrincipalDep, session: SessionDep
) -> list[AttachmentOut]:
    return await attachments.list_attachments(session, principal, number)


@router.get(
    "/{number}/attachments/{sha256}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
async def download_attachment(
    number: Number,
    sha256: Sha256,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> FileResponse:
    """The file, as a download: `Content-Disposition: attachment`, `nosniff`."""
    found = await attachments.download(session, settings, principal, number, sha256)
    return FileResponse(
        found.path,
        media_type=found.content_type,
        filename=found.filename,
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
