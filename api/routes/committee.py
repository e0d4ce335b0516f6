"""The weekly Comité Operativo: sessions, starting one now, deciding its agenda."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import PrincipalDep, SessionDep, SettingsDep, TemporalDep
from api.errors import COMMON_RESPONSES
from soporte.policy.committee import RecordedDecision, SessionView
from soporte.services import committee
from soporte.services.committee import DecisionRequest

router = APIRouter(
    prefix="/api/v1/committee/sessions", tags=["committee"], responses=COMMON_RESPONSES
)

SessionIdPath = Annotated[
    str,
    Path(max_length=200, pattern=r"^[A-Za-z0-9_.:+-]+$", description="the session's id"),
]


@router.get("")
async def list_sessions(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SessionView]:
    """Sessions newest first, as last projected (staff only)."""
    return await committee.list_sessions(session, principal, limit, offset)


@router.get("/current")
async def current_session(
    principal: PrincipalDep, session: SessionDep, temporal: TemporalDep
) -> SessionView:
    """The open session (404 when none is open)."""
    return await committee.current_session(session, temporal, principal)


@router.post("", status_code=status.HTTP_201_CREATED)
async def start_session(
    response: Response,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> SessionView:
    """A committee member or admin starts a session now (refused while another is open)."""
    view = await committee.start_session(session, temporal, settings, principal)
    response.headers["Location"] = f"/api/v1/committee/sessions/{view.session_id}"
    return view


@router.get("/{session_id}")
async def read_session(
    session_id: SessionIdPath, principal: PrincipalDep, session: SessionDep, temporal: TemporalDep
) -> SessionView:
    return await committee.read_session(session, temporal, principal, session_id)


@router.post("/{session_id}/decisions")
async def decide(
    session_id: SessionIdPath,
    data: DecisionRequest,
    principal: PrincipalDep,
    session: SessionDep,
    temporal: TemporalDep,
) -> RecordedDecision:
    """Accept (with estimated_delivery), reject (with reason) or defer one agenda item.
    A retried request for the same requirement answers the first decision."""
    return await committee.decide(session, temporal, principal, session_id, data)
