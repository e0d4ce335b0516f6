"""The engineer's commands on the ticket page: assign, change priority (with a reason),
request information, resolve, abandon, deliver a requirement, mark an advisory done, link
to an incident. Each calls the same service as its API route; a refusal (the workflow's
validator, a service rule) comes back on the ticket page in Spanish, with what was typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient

from api.web import core
from api.web.core import Caller, redirect, signed_in
from api.web.ticket_pages import Number, refused
from soporte import portal_paths
from soporte.services import advisories, commands, incidents
from soporte.services.advisories import DeliverRequest, DoneRequest
from soporte.services.auth import Principal
from soporte.services.errors import InvalidInput, NotFound, ServiceError
from soporte.services.incidents import LinkRequest
from soporte.services.schemas import (
    AssignRequest,
    PriorityRequest,
    ReasonRequest,
    RequestInfoRequest,
    ResolveRequest,
)

router = APIRouter(include_in_schema=False)

Run = Callable[[AsyncSession, TemporalClient, Principal, dict[str, str]], Awaitable[Any]]


async def staff_command(
    request: Request, number: int, action: str, fields: tuple[str, ...], run: Run, notice: str
) -> Response:
    """Check the form, run the command, then back to the ticket (or the page again with the
    refusal and the typed values)."""
    caller: Caller = await signed_in(request)
    if caller.is_contact:
        raise NotFound(f"there is no ticket {number}")
    form = await core.checked_form(request, caller)
    typed = {name: str(form.get(name) or "") for name in fields}
    state = core.state_of(request)
    try:
        async with state.sessions() as session:
            await run(session, await state.temporal(), caller.principal, typed)
    except (ServiceError, ValidationError) as error:
        values = {f"{action}.{name}": value for name, value in typed.items()}
        return await refused(request, caller, number, error, values, action)
    return redirect(portal_paths.ticket(number), notice, "historial")


@router.post(portal_paths.TICKETS + "/{number}/asignar")
async def assign(request: Request, number: Number) -> Response:
    async def run(s: AsyncSession, t: TemporalClient, p: Principal, typed: dict[str, str]) -> Any:
        data = AssignRequest(engineer_email=typed["engineer_email"])
        return await commands.assign(s, t, p, number, data)

    return await staff_command(request, number, "assign", ("engineer_email",), run, "asignada")


@router.post(portal_paths.TICKETS + "/{number}/prioridad")
async def change_priority(request: Request, number: Number) -> Response:
    async def run(s: AsyncSession, t: TemporalClient, p: Principal, typed: dict[str, str]) -> Any:
        data = PriorityRequest.model_validate(
            {"priority": typed["priority"] or None, "reason": typed["reason"].strip()}
        )
        return await commands.change_priority(s, t, p, number, data)

    return await staff_command(
        request, number, "priority", ("priority", "reason"), run, "prioridad"
    )


@router.post(portal_paths.TICKETS + "/{number}/pedir-informacion")
async def request_info(request: Request, number: Number) -> Response:
    async def run(s: AsyncSession, t: TemporalClient, p: Principal, typed: dict[str, str]) -> Any:
        data = RequestInfoRequest(body=typed["body"].strip())
        return await commands.request_info(s, t, p, number, data)

    return await staff_command(request, number, "request_info", ("body",), run, "pedida")


@router.post(portal_paths.TICKETS + "/{number}/resolver")
async def resolve(request: Request, number: Number) -> Response:
    async def run(s: AsyncSession, t: TemporalClient, p: Principal, typed: dict[str, str]) -> Any:
        data = ResolveRequest.model_validate(
            {"kind": typed["kind"] or None, "body": typed["body"].strip()}
        )
        return await commands.resolve(s, t, p, number, data)

    return await staff_command(request, number, "resolve", ("kind", "body"), run, "resuelta")


@router.post(portal_paths.TICKETS + "/{number}/abandonar")
async def abandon(request: Request, number: Number) -> Response:
    async def run(s: AsyncSession, t: TemporalClient, p: Principal, typed: dict[str, str]) -> Any:
        data = ReasonRequest(reason=typed["reason"].strip())
        return await commands.abandon(s, t, p, number, data)

    return await staff_command(request, number, "abandon", ("reason",), run, "abandonada")


@router.post(portal_paths.TICKETS + "/{number}/entregar")
async def deliver(request: Request, number: Number) -> Response:
    async def run(s: AsyncSession, t: TemporalClient, p: Principal, typed: dict[str, str]) -> Any:
        data = DeliverRequest(body=typed["body"].strip())
        return await advisories.deliver(s, t, p, number, data)

    return await staff_command(request, number, "deliver", ("body",), run, "entregada")


@router.post(portal_paths.TICKETS + "/{number}/asesoria-realizada")
async def advisory_done(request: Request, number: Number) -> Response:
    async def run(s: AsyncSession, t: TemporalClient, p: Principal, typed: dict[str, str]) -> Any:
        data = DoneRequest(body=typed["body"].strip())
        return await advisories.done(s, t, p, number, data)

    return await staff_command(request, number, "done", ("body",), run, "realizada")


@router.post(portal_paths.TICKETS + "/{number}/vincular-incidente")
async def link_incident(request: Request, number: Number) -> Response:
    async def run(s: AsyncSession, t: TemporalClient, p: Principal, typed: dict[str, str]) -> Any:
        incident_id = typed["incident_id"].strip()
        if not incident_id:
            raise InvalidInput("incident_id", "choose an open incident")
        return await incidents.link_ticket(s, t, p, incident_id, LinkRequest(number=number))

    return await staff_command(request, number, "link", ("incident_id",), run, "vinculada")
