"""Incidents through the API: open one (IncidentWorkflow), read it, link tickets, resolve.

Contacts never reach incidents (403). Engineers, supervisors and admin act on them; every
staff role reads them. Linking takes the ticket's NIT from the database, so the incident
knows which clients it hits (two or more: the incident and its tickets become P1).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from soporte.db.incident_models import IncidentRow
from soporte.policy import ResolutionKind
from soporte.policy.incidents import (
    IncidentInput,
    IncidentStatus,
    IncidentView,
    LinkTicket,
    ResolveIncident,
    incident_workflow_id,
)
from soporte.policy.names import IncidentUpdate, Query, WorkflowType
from soporte.services import tickets
from soporte.services.access import Action, check
from soporte.services.auth import Principal
from soporte.services.errors import (
    Conflict,
    InFlight,
    NotFound,
    Unavailable,
    refusal_error,
)
from soporte.services.schemas import Request, RequiredText
from soporte.services.tickets import QUERY_TIMEOUT, UPDATE_TIMEOUT
from soporte.settings import Settings

ID_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class IncidentCreate(Request):
    title: Title


class LinkRequest(Request):
    number: int


class IncidentResolveRequest(Request):
    kind: Literal[ResolutionKind.SOLUTION, ResolutionKind.INSTRUCTIONS, ResolutionKind.ADVICE]
    body: RequiredText


def require_reader(principal: Principal) -> None:
    check(principal, Action.READ_INCIDENTS)


def require_actor(principal: Principal) -> None:
    check(principal, Action.ACT_ON_INCIDENTS)


def new_incident_id(now: datetime) -> str:
    return f"{now:%Y%m%d}-{uuid.uuid4().hex[:10]}"


async def open_incident(
    temporal: TemporalClient, settings: Settings, principal: Principal, data: IncidentCreate
) -> IncidentView:
    require_actor(principal)
    now = datetime.now(UTC)
    start = IncidentInput(
        incident_id=new_incident_id(now), title=data.title, opened_by=principal.email, opened_at=now
    )
    await temporal.start_workflow(
        WorkflowType.INCIDENT.value,
        start,
        id=incident_workflow_id(start.incident_id),
        task_queue=settings.task_queue,
    )
    # The workflow's first view, computed the same way (its @workflow.init).
    return IncidentView(
        incident_id=start.incident_id,
        title=start.title,
        opened_by=start.opened_by,
        opened_at=now,
        version=1,
    )


class IncidentPage(BaseModel):
    items: list[IncidentView]
    total: int
    limit: int
    offset: int


async def list_incidents(
    session: AsyncSession,
    principal: Principal,
    status: IncidentStatus | None,
    limit: int,
    offset: int,
) -> IncidentPage:
    """Incidents newest first, as last projected (ix_incidents_status_opened)."""
    require_reader(principal)
    condition = [] if status is None else [IncidentRow.status == status.value]
    total = await session.scalar(select(func.count()).select_from(IncidentRow).where(*condition))
    query = (
        select(IncidentRow.view)
        .where(*condition)
        .order_by(IncidentRow.opened_at.desc(), IncidentRow.incident_id.desc())
        .limit(limit)
        .offset(offset)
    )
    views = (await session.scalars(query)).all()
    await session.commit()
    items = [IncidentView.model_validate(view) for view in views]
    return IncidentPage(items=items, total=total or 0, limit=limit, offset=offset)


async def live_incident(temporal: TemporalClient, incident_id: str) -> IncidentView | None:
    handle = temporal.get_workflow_handle(incident_workflow_id(incident_id))
    try:
        return await handle.query(Query.VIEW, result_type=IncidentView, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None


async def read_incident(
    session: AsyncSession, temporal: TemporalClient, principal: Principal, incident_id: str
) -> IncidentView:
    """Live from the workflow while open; else as last projected."""
    require_reader(principal)
    row = await session.get(IncidentRow, incident_id)
    await session.commit()
    if row is not None and row.status == IncidentStatus.RESOLVED.value:
        return IncidentView.model_validate(row.view)
    live = await live_incident(temporal, incident_id)
    if live is not None:
        return live
    if row is not None:
        return IncidentView.model_validate(row.view)
    raise NotFound(f"there is no incident {incident_id}")


async def _update(
    session: AsyncSession,
    temporal: TemporalClient,
    incident_id: str,
    name: IncidentUpdate,
    command: BaseModel,
) -> IncidentView:
    """No fixed update id: a repeated link or resolve is refused by the validator (409,
    "already linked" / "already resolved") rather than answered with a stale view."""
    handle = temporal.get_workflow_handle(incident_workflow_id(incident_id))
    try:
        return await handle.execute_update(
            name, command, result_type=IncidentView, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as error:
        raise refusal_error(error) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        location = f"/api/v1/incidents/{incident_id}"
        raise InFlight(
            f"incident {incident_id} did not answer in time; see {location}", location
        ) from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise Unavailable(f"incident {incident_id} could not be reached") from None
    # The workflow is unknown or already finished: the read model tells which.
    row = await session.get(IncidentRow, incident_id)
    await session.commit()
    if row is None:
        raise NotFound(f"there is no incident {incident_id}")
    raise Conflict(f"incident {incident_id} is {row.status}: it takes no more changes")


async def link_ticket(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    incident_id: str,
    data: LinkRequest,
) -> IncidentView:
    require_actor(principal)
    intake = await tickets.find_ticket(session, principal, data.number)
    nit = intake.nit
    await session.commit()
    command = LinkTicket(number=data.number, nit=nit, actor=principal.email)
    return await _update(session, temporal, incident_id, IncidentUpdate.LINK, command)


async def resolve_incident(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    incident_id: str,
    data: IncidentResolveRequest,
) -> IncidentView:
    require_actor(principal)
    command = ResolveIncident(kind=data.kind, body=data.body, actor=principal.email)
    return await _update(session, temporal, incident_id, IncidentUpdate.RESOLVE, command)
