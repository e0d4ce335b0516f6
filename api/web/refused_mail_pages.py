"""Refused mail: the list of what we did not take, one message, and its ways out (a ticket
for a known contact; its sender registered as a contact, for admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.web import core, words
from api.web.console import staff_caller
from api.web.core import Caller, page, redirect
from api.web.ticket_pages import field_errors
from soporte import portal_paths
from soporte.policy import Kind
from soporte.services import access, refused_mail, registry
from soporte.services.access import Action
from soporte.services.errors import InvalidInput, ServiceError

router = APIRouter(include_in_schema=False)

MailId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PAGE_SIZE = 50
WHY = {
    "refused": "Rechazado (se le respondió al remitente)",
    "ignored": "Ignorado (sin respuesta automática)",
}


@router.get(portal_paths.REFUSED_MAIL)
async def list_page(request: Request) -> Response:
    caller = await staff_caller(request, Action.READ_REFUSED_MAIL)
    everything = request.query_params.get("ver") == "todos"
    raw_offset = request.query_params.get("desde", "0")
    offset = min(int(raw_offset), 1_000_000) if raw_offset.isdigit() else 0
    async with core.state_of(request).sessions() as session:
        found = await refused_mail.list_refused(
            session, caller.principal, not everything, PAGE_SIZE, offset
        )
        await session.commit()
    return page(
        request,
        "refused_mail.html",
        caller,
        section="refused_mail",
        mails=found.items,
        total=found.total,
        everything=everything,
        offset=offset,
        page_size=PAGE_SIZE,
        why=WHY,
    )


async def detail(
    request: Request,
    caller: Caller,
    mail_id: int,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str = "",
) -> Response:
    async with core.state_of(request).sessions() as session:
        found = await refused_mail.read_refused(session, caller.principal, mail_id)
        clients = await registry.list_clients(session)
        await session.commit()
    return page(
        request,
        "refused_message.html",
        caller,
        status_code,
        section="refused_mail",
        mail=found.summary,
        parsed=found.parsed,
        clients=[c for c in clients if c.active],
        kinds=list(Kind),
        categories=words.CATEGORIES,
        can_register=access.may(caller.principal, Action.MANAGE_REGISTRY),
        can_open=access.may(caller.principal, Action.OPEN_TICKET),
        values=values or {},
        errors=errors or {},
        refusal=refusal,
        why=WHY,
    )


@router.get(portal_paths.REFUSED_MAIL + "/{mail_id}")
async def message_page(request: Request, mail_id: MailId) -> Response:
    caller = await staff_caller(request, Action.READ_REFUSED_MAIL)
    return await detail(request, caller, mail_id)


def _problems(error: ServiceError | ValidationError, form: str) -> tuple[dict[str, str], str]:
    if isinstance(error, ValidationError):
        return {f"{form}.{k}": v for k, v in field_errors(error).items()}, ""
    message = words.staff_refusal("save", error)
    if isinstance(error, InvalidInput):
        return {f"{form}.{error.field}": message}, ""
    return {}, message


@router.post(portal_paths.REFUSED_MAIL + "/{mail_id}/solicitud")
async def to_ticket(request: Request, mail_id: MailId) -> Response:
    caller = await staff_caller(request, Action.OPEN_TICKET)
    form = await core.checked_form(request, caller)
    typed = {k: str(form.get(k) or "").strip() for k in ("reporter_email", "kind", "category")}
    values = _values(typed, "ticket")
    try:
        kind = Kind(typed["kind"] or Kind.SUPPORT.value)
    except ValueError:
        return await detail(
            request, caller, mail_id, 422, values, {"ticket.kind": "Elija una de las opciones."}
        )
    state = core.state_of(request)
    try:
        async with state.sessions() as session:
            number = await refused_mail.to_ticket(
                session,
                await state.temporal(),
                state.settings,
                caller.principal,
                mail_id,
                typed["reporter_email"],
                kind,
                typed["category"],
            )
    except (ServiceError, ValidationError) as error:
        errors, refusal = _problems(error, "ticket")
        status = 422 if isinstance(error, ValidationError) else min(error.status, 503)
        return await detail(request, caller, mail_id, status, values, errors, refusal)
    return redirect(portal_paths.ticket(number), "convertido")


def _values(typed: dict[str, str], form: str) -> dict[str, str]:
    return {f"{form}.{k}": v for k, v in typed.items()}


@router.post(portal_paths.REFUSED_MAIL + "/{mail_id}/remitente")
async def register_sender(request: Request, mail_id: MailId) -> Response:
    caller = await staff_caller(request, Action.MANAGE_REGISTRY)
    form = await core.checked_form(request, caller)
    typed = {k: str(form.get(k) or "").strip() for k in ("nit", "name")}
    try:
        async with core.state_of(request).sessions() as session:
            await refused_mail.register_sender(
                session, caller.principal, mail_id, typed["nit"], typed["name"]
            )
    except (ServiceError, ValidationError) as error:
        errors, refusal = _problems(error, "sender")
        status = 422 if isinstance(error, ValidationError) else min(error.status, 503)
        return await detail(
            request, caller, mail_id, status, _values(typed, "sender"), errors, refusal
        )
    return redirect(f"{portal_paths.REFUSED_MAIL}/{mail_id}", "guardado")
