""" "Nueva solicitud" and the advisory booking page.

The new-ticket form is validated by the API's own model (TicketCreate) and opened by the
same service (soporte.services.intake); its hidden form id is the Idempotency-Key, so a
double click never opens two tickets. Booking lists and books through
soporte.services.advisories, as the API does.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.web import core, words
from api.web.core import Caller, page, redirect, signed_in
from api.web.ticket_pages import (
    Number,
    chunks_of,
    evidence_problem,
    field_errors,
    ticket_page_data,
    uploads_in,
)
from soporte import portal_paths
from soporte.policy import SUPPORT_PRIORITIES, Kind
from soporte.policy.calendar import BOGOTA
from soporte.services import advisories, attachments, intake, registry, tickets
from soporte.services.advisories import BookingRequest
from soporte.services.errors import ServiceError
from soporte.services.schemas import TicketCreate

router = APIRouter(include_in_schema=False)

TEXT_FIELDS = (
    "kind",
    "category",
    "suggested_priority",
    "subject",
    "description",
    "expected_result",
    "legal_number",
    "business_impact",
)
OPTIONAL = ("suggested_priority", "legal_number", "business_impact")


async def colleagues(request: Request, caller: Caller) -> list[Any]:
    """The people a contact may have informed: the active contacts of its own client."""
    if not caller.is_contact or caller.principal.nit is None:
        return []
    async with core.state_of(request).sessions() as session:
        found = await registry.list_contacts(session, caller.principal.nit)
        await session.commit()
    return [c for c in found if c.active and c.email != caller.principal.email]


async def new_ticket_form(
    request: Request,
    caller: Caller,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    refusal: str = "",
) -> Response:
    return page(
        request,
        "new_ticket.html",
        caller,
        status_code,
        values=values,
        errors=errors,
        refusal=refusal,
        kinds=list(Kind),
        priorities=list(SUPPORT_PRIORITIES),
        people=await colleagues(request, caller),
    )


@router.get(portal_paths.NEW_TICKET)
async def new_ticket(request: Request, referencia: int = 0) -> Response:
    caller = await signed_in(request)
    if not caller.is_contact:  # staff open tickets on a contact's behalf through the API
        return redirect(portal_paths.STAFF_HOME)
    values: dict[str, Any] = {"kind": Kind.SUPPORT.value, "form_id": secrets.token_hex(16)}
    if 0 < referencia < 2**31:
        values["description"] = f"Relacionada con la solicitud #{referencia}.\n\n"
    return await new_ticket_form(request, caller, values, {})


def ticket_body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {name: str(form.get(name) or "") for name in TEXT_FIELDS}
    for name in OPTIONAL:
        if not body[name].strip():
            body[name] = None
    if body["kind"] != Kind.SUPPORT.value:
        body["suggested_priority"] = None
    body["notify"] = [str(email) for email in form.getlist("notify")]
    return body


@router.post(portal_paths.NEW_TICKET)
async def open_ticket(request: Request) -> Response:
    caller = await signed_in(request)
    if not caller.is_contact:
        return redirect(portal_paths.STAFF_HOME)
    form = await core.checked_form(request, caller)
    body = ticket_body(form)
    form_id = str(form.get("form_id") or "")[:64] or secrets.token_hex(16)
    values = {**{k: v or "" for k, v in body.items()}, "form_id": form_id}
    files = uploads_in(form, "evidence")
    errors: dict[str, str] = {}
    data: TicketCreate | None = None
    try:
        data = TicketCreate.model_validate(body)
    except ValidationError as error:
        errors = field_errors(error)
    problem = await evidence_problem(files)
    if problem:
        errors["evidence"] = problem
    if errors or data is None:
        if files:
            errors.setdefault(
                "evidence", "Vuelva a elegir los archivos: por seguridad no se conservan."
            )
        return await new_ticket_form(request, caller, values, errors, 422)
    state = core.state_of(request)
    try:
        temporal = await state.temporal()
        async with state.sessions() as session:
            opened = await intake.open_ticket(
                session, temporal, state.settings, caller.principal, data, form_id
            )
            number = opened.view.number
            for upload in files:
                await attachments.upload(
                    session,
                    temporal,
                    state.settings,
                    caller.principal,
                    number,
                    upload.filename,
                    chunks_of(upload),
                )
    except ServiceError as error:
        field = getattr(error, "field", None)
        if field in TEXT_FIELDS or field == "notify":
            word = words.FIELD_REFUSALS.get(field, words.FIELD_RULES["value_error"])
            return await new_ticket_form(request, caller, values, {field: word}, 422)
        refusal = words.refusal("open", error, None)
        return await new_ticket_form(request, caller, values, {}, min(error.status, 503), refusal)
    return redirect(portal_paths.ticket(number), "creada")


# --- Booking an advisory ------------------------------------------------------------------


def slots_by_day(slots: list[Any]) -> OrderedDict[date, list[Any]]:
    days: OrderedDict[date, list[Any]] = OrderedDict()
    for slot in slots:
        days.setdefault(slot.start.astimezone(BOGOTA).date(), []).append(slot)
    return days


def released_slot(request: Request, booked: datetime | None) -> datetime | None:
    """The slot a rebooking released (named by the redirect; shown only as an instant)."""
    try:
        released = datetime.fromisoformat(request.query_params.get("liberado", ""))
    except ValueError:
        return None
    return released if released.tzinfo is not None and released != booked else None


async def booking_form(
    request: Request, caller: Caller, number: int, status_code: int = 200, refusal: str = ""
) -> Response:
    data = await ticket_page_data(request, caller, number)
    data.released_slot = released_slot(request, data.view.booked_slot)
    state = core.state_of(request)
    days: OrderedDict[date, list[Any]] = OrderedDict()
    if data.can_book:
        async with state.sessions() as session:
            offered = await advisories.list_slots(session, state.settings, caller.principal, number)
            await session.commit()
        days = slots_by_day(offered.slots)
    return page(
        request,
        "booking.html",
        caller,
        status_code,
        t=data,
        view=data.view,
        days=days,
        refusal=refusal,
        bogota=BOGOTA,
    )


@router.get(portal_paths.TICKETS + "/{number}/agendar")
async def booking_page(request: Request, number: Number) -> Response:
    caller = await signed_in(request)
    return await booking_form(request, caller, number)


@router.post(portal_paths.TICKETS + "/{number}/agendar")
async def book(request: Request, number: Number) -> Response:
    caller = await signed_in(request)
    form = await core.checked_form(request, caller)
    raw = str(form.get("start") or "")
    state = core.state_of(request)
    try:
        start = datetime.fromisoformat(raw)
        data_in = BookingRequest(start=start)
    except ValueError:
        return await booking_form(request, caller, number, 422, "Elija uno de los espacios.")
    try:
        async with state.sessions() as session:
            before = await tickets.read_ticket(session, state.temporal, caller.principal, number)
            await advisories.book(
                session, await state.temporal(), state.settings, caller.principal, number, data_in
            )
    except ServiceError as error:
        view = (await ticket_page_data(request, caller, number)).view
        return await booking_form(
            request, caller, number, min(error.status, 503), words.refusal("book", error, view)
        )
    target = portal_paths.booking(number)
    if before.booked_slot is not None:  # a rebooking: the page says which slot was released
        target += "?liberado=" + quote(before.booked_slot.isoformat())
    return redirect(target, "agendada")
