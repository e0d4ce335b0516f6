"""Incidents (fallas generales): the list, a new one, and one incident's page (its
tickets and every client it hits, link a ticket, resolve them all with one text). Through
soporte.services.incidents, as GET/POST /api/v1/incidents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from api.web import core, words
from api.web.console import staff_caller
from api.web.core import Caller, page, redirect
from api.web.ticket_pages import field_errors, people_names
from soporte import portal_paths
from soporte.db.models import Client, Ticket
from soporte.policy.incidents import IncidentStatus
from soporte.services import access, incidents
from soporte.services.access import Action
from soporte.services.errors import InvalidInput, ServiceError
from soporte.services.incidents import IncidentCreate, IncidentResolveRequest, LinkRequest

router = APIRouter(include_in_schema=False)

IncidentId = Annotated[str, Path(pattern=incidents.ID_PATTERN)]
PAGE_SIZE = 50


async def list_page(
    request: Request,
    caller: Caller,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    shown = request.query_params.get("estado", "open")
    status = IncidentStatus.RESOLVED if shown == "resolved" else IncidentStatus.OPEN
    async with core.state_of(request).sessions() as session:
        found = await incidents.list_incidents(session, caller.principal, status, PAGE_SIZE, 0)
        await session.commit()
    return page(
        request,
        "incidents.html",
        caller,
        status_code,
        section="incidents",
        incidents=found.items,
        total=found.total,
        shown=status.value,
        can_act=access.may(caller.principal, Action.ACT_ON_INCIDENTS),
        values=values or {},
        errors=errors or {},
        refusal=refusal,
    )


@router.get(portal_paths.INCIDENTS)
async def incidents_page(request: Request) -> Response:
    caller = await staff_caller(request)
    return await list_page(request, caller)


@router.post(portal_paths.INCIDENTS)
async def open_incident(request: Request) -> Response:
    caller = await staff_caller(request, Action.ACT_ON_INCIDENTS)
    form = await core.checked_form(request, caller)
    values = {"title": str(form.get("title") or "")}
    state = core.state_of(request)
    try:
        data = IncidentCreate.model_validate(values)
        opened = await incidents.open_incident(
            await state.temporal(), state.settings, caller.principal, data
        )
    except ValidationError as error:
        return await list_page(request, caller, values, field_errors(error), "", 422)
    except ServiceError as error:
        refusal = words.staff_refusal("save", error)
        return await list_page(request, caller, values, {}, refusal, min(error.status, 503))
    return redirect(portal_paths.incident(opened.incident_id), "incidente")


async def detail_page(
    request: Request,
    caller: Caller,
    incident_id: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    state = core.state_of(request)
    async with state.sessions() as session:
        view = await incidents.read_incident(
            session, await state.temporal(), caller.principal, incident_id
        )
        numbers = [t.number for t in view.tickets]
        nits = {t.nit for t in view.tickets}
        clients = (
            dict(
                (
                    await session.execute(
                        select(Client.nit, Client.name).where(Client.nit.in_(nits))
                    )
                ).all()
            )
            if nits
            else {}
        )
        subjects: dict[int, Any] = {}
        if numbers:
            rows = await session.execute(
                select(Ticket.number, Ticket.subject, Ticket.status).where(
                    Ticket.number.in_(numbers)
                )
            )
            subjects = {number: (subject, status) for number, subject, status in rows.all()}
        people = {view.opened_by, *(t.linked_by for t in view.tickets)}
        if view.resolution:
            people.add(view.resolution.by)
        names = await people_names(session, people)
        await session.commit()
    return page(
        request,
        "incident.html",
        caller,
        status_code,
        section="incidents",
        incident=view,
        clients=clients,
        subjects=subjects,
        names=names,
        can_act=access.may(caller.principal, Action.ACT_ON_INCIDENTS)
        and view.status is IncidentStatus.OPEN,
        values=values or {},
        errors=errors or {},
        refusal=refusal,
    )


@router.get(portal_paths.INCIDENTS + "/{incident_id}")
async def incident_page(request: Request, incident_id: IncidentId) -> Response:
    caller = await staff_caller(request)
    return await detail_page(request, caller, incident_id)


async def incident_command(
    request: Request, incident_id: str, fields: tuple[str, ...], action: str, run: Any, notice: str
) -> Response:
    caller = await staff_caller(request, Action.ACT_ON_INCIDENTS)
    form = await core.checked_form(request, caller)
    typed = {name: str(form.get(name) or "") for name in fields}
    state = core.state_of(request)
    try:
        async with state.sessions() as session:
            await run(session, await state.temporal(), caller.principal, typed)
    except ValidationError as error:
        errors = {f"{action}.{k}": v for k, v in field_errors(error).items()}
        values = {f"{action}.{k}": v for k, v in typed.items()}
        return await detail_page(request, caller, incident_id, values, errors, "", 422)
    except ServiceError as error:
        values = {f"{action}.{k}": v for k, v in typed.items()}
        message = words.staff_refusal(action, error)
        errors = {f"{action}.{error.field}": message} if isinstance(error, InvalidInput) else {}
        return await detail_page(
            request, caller, incident_id, values, errors, message, min(error.status, 503)
        )
    return redirect(portal_paths.incident(incident_id), notice)


@router.post(portal_paths.INCIDENTS + "/{incident_id}/solicitudes")
async def link_ticket(request: Request, incident_id: IncidentId) -> Response:
    async def run(session: Any, temporal: Any, principal: Any, typed: dict[str, str]) -> Any:
        raw = typed["number"].strip().lstrip("#")
        data = LinkRequest.model_validate({"number": raw or None})
        return await incidents.link_ticket(session, temporal, principal, incident_id, data)

    return await incident_command(request, incident_id, ("number",), "link", run, "vinculada")


@router.post(portal_paths.INCIDENTS + "/{incident_id}/resolver")
async def resolve(request: Request, incident_id: IncidentId) -> Response:
    async def run(session: Any, temporal: Any, principal: Any, typed: dict[str, str]) -> Any:
        data = IncidentResolveRequest.model_validate(
            {"kind": typed["kind"] or None, "body": typed["body"].strip()}
        )
        return await incidents.resolve_incident(session, temporal, principal, incident_id, data)

    return await incident_command(
        request, incident_id, ("kind", "body"), "incident_resolve", run, "incidente_resuelto"
    )
