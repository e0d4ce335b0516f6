"""`POST /api/v1/inbound-email`: one raw RFC 5322 message, handled exactly as SMTP does."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from api.deps import PrincipalDep, StateDep
from api.errors import COMMON_RESPONSES, ErrorBody
from soporte.email.smtp_server import MAX_MESSAGE_BYTES
from soporte.services.access import Action, check
from soporte.services.email_intake import EmailIntake
from soporte.services.errors import InvalidInput, ServiceError, TooLarge

router = APIRouter(prefix="/api/v1", tags=["email"], responses=COMMON_RESPONSES)

CONTENT_TYPE = "message/rfc822"


class UnsupportedMediaType(ServiceError):
    status = 415


class InboundEmailOut(BaseModel):
    outcome: str = Field(description="ticket_opened | message_added | refused | ignored")
    number: int | None = Field(default=None, description="the ticket, when one was touched")
    reason: str | None = None
    message_id: str = Field(description="the message's Message-ID (or its synthesized one)")
    duplicate: bool = Field(default=False, description="this Message-ID was handled before")


def _intake(state: StateDep, request: Request) -> EmailIntake:
    """One intake per app, so concurrent duplicates of one message wait for each other."""
    intake: EmailIntake | None = getattr(request.app.state, "email_intake", None)
    if intake is None:
        intake = EmailIntake(state.settings, state.sessions, state.temporal)
        request.app.state.email_intake = intake
    return intake


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
    result = await _intake(state, request).receive(raw)
    return InboundEmailOut(
        outcome=result.outcome,
        number=result.number,
        reason=result.reason or None,
        message_id=result.message_id,
        duplicate=result.duplicate,
    )
