"""`POST /api/v1/inbound-email`: one raw RFC 5322 message, handled exactly as SMTP does; and
the confirmation of a new request held because its sender was not verified (the contact's
link `/api/v1/confirm/{token}`, or staff)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import PrincipalDep, StateDep
from api.errors import COMMON_RESPONSES, ErrorBody
from soporte.db.mail_models import MailOutcome, RefusedMail
from soporte.email.smtp_server import MAX_MESSAGE_BYTES
from soporte.services.access import Action, check
from soporte.services.email_intake import EmailIntake
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


# --- Held requests: confirmed by the contact's link, or by staff ---------------------------


class PendingMailOut(BaseModel):
    id: int
    from_address: str
    subject: str
    received_at: datetime
    reason: str


def _page(title: str, body: str, code: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="es-CO"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}"
        "<p>Soporte Amazonas ERP · BTW</p></body></html>"
    )
    return HTMLResponse(html, status_code=code)


@router.get("/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
async def confirmation_page(token: str) -> HTMLResponse:
    """The link in the mail: a page with one button (a GET never opens the ticket, so a
    mail scanner that follows links confirms nothing)."""
    form = (
        "<p>Recibimos un correo a su nombre que pide abrir una solicitud de soporte. "
        "Si usted lo envió, confírmelo:</p>"
        f'<form method="post" action="{escape(token)}">'
        '<button type="submit">Confirmar mi solicitud</button></form>'
    )
    return _page("Confirme su solicitud", form)


@router.post("/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
async def confirm_by_link(token: str, state: StateDep, request: Request) -> HTMLResponse:
    """The contact confirms: the ticket opens now, and its clock starts now."""
    try:
        result = await _intake(state, request).confirm(token)
    except ServiceError as error:
        return _page("No pudimos confirmar la solicitud", _refusal_text(error), error.status)
    text = (
        f"<p>Registramos su solicitud #{result.number}. Le enviamos la confirmación por "
        "correo con el número y los tiempos de atención.</p>"
    )
    return _page("Solicitud registrada", text)


def _refusal_text(error: ServiceError) -> str:
    if error.status == 404:
        return "<p>El enlace no es válido. Revise que lo haya copiado completo.</p>"
    if error.status == 409:
        return (
            "<p>Su dirección ya no está registrada como contacto activo; comuníquese con "
            "soporte@btw.com.co.</p>"
        )
    return "<p>No pudimos registrarla en este momento; intente de nuevo en unos minutos.</p>"


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
    result = await _intake(state, request).confirm(row_id=pending_id)
    return InboundEmailOut(
        outcome=result.outcome,
        number=result.number,
        reason=result.reason or None,
        message_id=result.message_id,
        duplicate=result.duplicate,
    )
