"""`POST /api/v1/inbound-email`: one raw RFC 5322 message, handled exactly as SMTP does; and
the confirmation of a new request held because its sender was not verified (by staff here;
the contact's link is the portal page `/confirmar/{token}`, api/web/confirm_pages.py)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import PrincipalDep, StateDep, email_intake
from api.errors import COMMON_RESPONSES, ErrorBody
from soporte import portal_paths
from soporte.db.mail_models import MailOutcome, RefusedMail
from soporte.email.smtp_server import MAX_MESSAGE_BYTES
from soporte.services.access import Action, check
from soporte.services.errors import InvalidInput, ServiceError, TooLarge

router = APIRouter(prefix="/api/v1", tags=["email"], responses=COMMON_RESPONSES)

CONTENT_TYPE = "message/rfc822"


class UnsupportedMediaType(ServiceError):
    status = 415


class InboundEmailOut(BaseModel):
    outcome: str = Field(
        description="ticket_opened | message_added | unverified | pending | refused | ignored"
    )
    number: int | None = Field(default=None, description="the ticket, when one was touched")
    reason: str | None = None
    message_id: str = Field(description="the message's Message-ID (or its synthesized one)")
    duplicate: bool = Field(default=False, description="this Message-ID was handled before")


async def _read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_MESSAGE_BYTES:
        raise TooLarge(f"a message may have at most {MAX_MESSAGE_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_MESSAGE_BYTES:
            raise TooLarge(f"a message may have at most {MAX_MESSAGE_BYTES} bytes")
    return bytes(body)


@router.post(
    "/inbound-email",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        415: {"model": ErrorBody, "description": f"The body is not `{CONTENT_TYPE}`"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def inbound_email(
    request: Request, principal: PrincipalDep, state: StateDep
) -> InboundEmailOut:
    """Take one raw message (admin only): it opens a ticket, adds a client's reply to one,
    or is refused (the sender is told why) or ignored (automatic mail, never answered).
    The same Message-ID twice has one effect. 503 when the database or Temporal is down:
    retry the same message."""
    check(principal, Action.POST_INBOUND_EMAIL)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != CONTENT_TYPE:
        raise UnsupportedMediaType(
            f"Content-Type must be {CONTENT_TYPE} (one raw RFC 5322 message), "
            f"not {media_type or 'missing'}"
        )
    raw = await _read_capped(request)
    if not raw.strip():
        raise InvalidInput("body", "the message is empty")
    result = await email_intake(state, request).receive(raw)
    return InboundEmailOut(
        outcome=result.outcome,
        number=result.number,
        reason=result.reason or None,
        message_id=result.message_id,
        duplicate=result.duplicate,
    )


# --- Held requests: confirmed by the contact's link, or by staff ---------------------------


class PendingMailOut(BaseModel):
    id: int
    from_address: str
    subject: str
    received_at: datetime
    reason: str


@router.api_route("/confirm/{token}", methods=["GET", "POST"], include_in_schema=False)
async def old_confirmation_link(token: str) -> RedirectResponse:
    """The link of mail sent before the portal page: 303 to that page (its button, with the
    portal's CSRF, is the only door that confirms)."""
    return RedirectResponse(portal_paths.confirmation(quote(token, safe="")), status_code=303)


@router.get("/inbound-email/pending")
async def pending_mail(principal: PrincipalDep, state: StateDep) -> list[PendingMailOut]:
    """New requests held because their sender was not verified, oldest first (staff)."""
    check(principal, Action.CONFIRM_HELD_MAIL)
    async with state.sessions() as session:
        rows = await session.scalars(
            select(RefusedMail)
            .where(RefusedMail.outcome == MailOutcome.PENDING)
            .order_by(RefusedMail.received_at)
            .limit(500)
        )
        return [
            PendingMailOut(
                id=row.id,
                from_address=row.from_address,
                subject=row.subject,
                received_at=row.received_at,
                reason=row.reason,
            )
            for row in rows
        ]


@router.post("/inbound-email/pending/{pending_id}/confirm")
async def confirm_pending(
    pending_id: int, principal: PrincipalDep, state: StateDep, request: Request
) -> InboundEmailOut:
    """Staff confirm a held request (they reached its contact): the ticket opens now.
    Idempotent: a second confirmation answers the same ticket."""
    check(principal, Action.CONFIRM_HELD_MAIL)
    result = await email_intake(state, request).confirm(row_id=pending_id)
    return InboundEmailOut(
        outcome=result.outcome,
        number=result.number,
        reason=result.reason or None,
        message_id=result.message_id,
        duplicate=result.duplicate,
    )
