"""Refuse oversized request bodies before they are read (413), declared or streamed."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soporte.email.smtp_server import MAX_MESSAGE_BYTES

JSON_LIMIT = 1024 * 1024
UPLOAD_LIMIT = 10 * 1024 * 1024 + 256 * 1024  # the file limit plus multipart overhead


# The portal's forms with evidence: up to five files of the attachment limit.
PORTAL_UPLOAD_LIMIT = 5 * 10 * 1024 * 1024 + 512 * 1024


def is_portal_upload(path: str) -> bool:
    return path == "/solicitudes/nueva" or (
        path.startswith("/solicitudes/") and path.endswith("/responder")
    )


# A raw email may be as large as the SMTP listener accepts.
INBOUND_EMAIL_PATH = "/api/v1/inbound-email"


def limit_for(path: str) -> int:
    if path == INBOUND_EMAIL_PATH:
        return MAX_MESSAGE_BYTES
    if is_portal_upload(path):
        return PORTAL_UPLOAD_LIMIT
    return UPLOAD_LIMIT if path.endswith("/attachments") else JSON_LIMIT


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the request body is larger than {limit} bytes")
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"the request body is larger than {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
