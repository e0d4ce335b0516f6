"""Incidents: one failure and the tickets it caused (staff only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import PrincipalDep, SessionDep, SettingsDep, TemporalDep
from api.errors import COMMON_RESPONSES
from api.query import KnownQueryOnly
from soporte.policy.incidents import IncidentStatus, IncidentView
from soporte.services import incidents
from soporte.services.incidents import (
    ID_PATTERN,
    IncidentCreate,
    IncidentPage,
    IncidentResolveRequest,
    LinkRequest,
)

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses=COMMON_RESPONSES)

IncidentId = Annotated[str, Path(pattern=ID_PATTERN, description="the incident's id")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def open_incident(
    data: IncidentCreate,
    response: Response,
    principal: PrincipalDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> IncidentView:
    view = await incidents.open_incident(temporal, settings, principal, data)
    response.headers["Location"] = f"/api/v1/incidents/{view.incident_id}"
    return view


@router.get("", dependencies=[KnownQueryOnly])
async def list_incidents(
    principal: PrincipalDep,
    session: SessionDep,
    status: IncidentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> IncidentPage:
    """Incidents newest first (staff), from the read model: one just opened shows up once
    its workflow has projected it."""
    return await incidents.list_incidents(session, principal, status, limit, offset)


@router.get("/{incident_id}")
async def read_incident(
    incident_id: IncidentId, principal: PrincipalDep, session: SessionDep, temporal: TemporalDep
) -> IncidentView:
    return await incidents.read_incident(session, temporal, principal, incident_id)


@router.post("/{incident_id}/tickets")
async def link_ticket(
    incident_id: IncidentId,
    data: LinkRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> IncidentView:
    """Link a ticket; tickets of two or more clients make the incident and each ticket P1."""
    return await incidents.link_ticket(session, temporal, principal, incident_id, data)


@router.post("/{incident_id}/resolve")
async def resolve_incident(
    incident_id: IncidentId,
    data: IncidentResolveRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> IncidentView:
    """Resolve the incident and, with it, every linked ticket."""
    return await incidents.resolve_incident(session, temporal, principal, incident_id, data)
