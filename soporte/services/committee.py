"""The weekly committee through the API: sessions (read model, else live), starting one
now, and deciding agenda items (the session workflow's update `decide`).

Contacts never reach the committee (403). Staff read sessions; only committee members and
admin decide, and start an extraordinary session by hand.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from soporte.db.committee_models import CommitteeSessionRow
from soporte.policy.committee import (
    COMMITTEE_SESSION_ID_PREFIXES,
    Decision,
    DecisionKind,
    RecordedDecision,
    SessionStatus,
    SessionView,
    manual_session_id,
)
from soporte.policy.names import CommitteeUpdate, Query
from soporte.schedules import start_session_now
from soporte.services.access import Action, check
from soporte.services.auth import Principal
from soporte.services.errors import (
    Conflict,
    InFlight,
    NotFound,
    Unavailable,
    refusal_error,
)
from soporte.services.schemas import Request
from soporte.services.tickets import QUERY_TIMEOUT, UPDATE_TIMEOUT
from soporte.settings import Settings

# How long POST /committee/sessions waits for the new session to have its agenda.
START_WAIT = timedelta(seconds=20)

SessionId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class DecisionRequest(Request):
    number: int
    decision: DecisionKind
    estimated_delivery: date | None = None
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


def require_reader(principal: Principal) -> None:
    check(principal, Action.READ_COMMITTEE)


def update_id(number: int) -> str:
    """One decision per requirement and session: a retried request answers the first result."""
    return f"decide-{number}"


# --- Reads ------------------------------------------------------------------------------


def _row_view(row: CommitteeSessionRow) -> SessionView:
    return SessionView.model_validate(row.view)


async def live_session(temporal: TemporalClient, session_id: str) -> SessionView | None:
    handle = temporal.get_workflow_handle(session_id)
    try:
        return await handle.query(Query.VIEW, result_type=SessionView, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None


async def list_sessions(
    session: AsyncSession, principal: Principal, limit: int = 50, offset: int = 0
) -> list[SessionView]:
    require_reader(principal)
    query = (
        select(CommitteeSessionRow)
        .order_by(CommitteeSessionRow.started_at.desc(), CommitteeSessionRow.session_id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.scalars(query)).all()
    return [_row_view(row) for row in rows]


async def _open_row(session: AsyncSession) -> CommitteeSessionRow | None:
    query = (
        select(CommitteeSessionRow)
        .where(CommitteeSessionRow.status == SessionStatus.OPEN.value)
        .order_by(CommitteeSessionRow.started_at.desc())
        .limit(1)
    )
    row: CommitteeSessionRow | None = await session.scalar(query)
    return row


async def current_session(
    session: AsyncSession, temporal: TemporalClient, principal: Principal
) -> SessionView:
    """The open session (live when its workflow answers, else as last projected)."""
    require_reader(principal)
    row = await _open_row(session)
    await session.commit()
    if row is None:
        raise NotFound("no committee session is open")
    live = await live_session(temporal, row.session_id)
    return live or _row_view(row)


async def read_session(
    session: AsyncSession, temporal: TemporalClient, principal: Principal, session_id: str
) -> SessionView:
    require_reader(principal)
    row = await session.get(CommitteeSessionRow, session_id)
    await session.commit()
    if row is None:
        return await _not_projected_yet(temporal, session_id)
    if row.status == SessionStatus.CLOSED.value:
        return _row_view(row)
    return await live_session(temporal, session_id) or _row_view(row)


async def _not_projected_yet(temporal: TemporalClient, session_id: str) -> SessionView:
    """A session with no row yet: one just started, whose workflow has not projected it
    (its start returns once the agenda is built, not once it is written), or none."""
    if session_id.startswith(COMMITTEE_SESSION_ID_PREFIXES):
        live = await live_session(temporal, session_id)
        if live is not None:
            return live
    raise NotFound(f"there is no committee session {session_id}")


# --- Commands ---------------------------------------------------------------------------


async def start_session(
    session: AsyncSession, temporal: TemporalClient, settings: Settings, principal: Principal
) -> SessionView:
    """A committee member or admin starts a session now; refused while another is open."""
    check(principal, Action.START_SESSION)
    open_row = await _open_row(session)
    await session.commit()
    now = datetime.now(UTC)
    if open_row is not None and open_row.ends_at > now:
        raise Conflict(
            f"committee session {open_row.session_id} is still open (until "
            f"{open_row.ends_at.isoformat()}): decide its agenda there"
        )
    if await session.get(CommitteeSessionRow, manual_session_id(now)) is not None:
        # Same id, and a lower version than the old row: its projection would be refused.
        raise Conflict("a committee session was started this very second; try again")
    await session.commit()
    try:
        handle = await start_session_now(temporal, settings, started_by=principal.email, now=now)
    except WorkflowAlreadyStartedError:
        raise Conflict("a committee session was started this very second; try again") from None
    assert handle.id is not None  # nosec B101  # invariant (never run -O)
    give_up = asyncio.get_running_loop().time() + START_WAIT.total_seconds()
    view = await _wait_for_agenda(temporal, handle.id, give_up)
    await _wait_for_row(session, handle.id, give_up)
    return view


async def _wait_for_agenda(
    temporal: TemporalClient, session_id: str, give_up: float
) -> SessionView:
    """The new session's view, once it has built its agenda (bounded wait)."""
    while True:
        view = await live_session(temporal, session_id)
        if view is not None:
            return view
        if asyncio.get_running_loop().time() > give_up:
            raise Unavailable(
                f"committee session {session_id} started but has not built its agenda yet; "
                "read it with GET /api/v1/committee/sessions/current"
            )
        await asyncio.sleep(0.1)


async def _wait_for_row(session: AsyncSession, session_id: str, give_up: float) -> None:
    """Until the new session is in the read model, so that reads right after the start
    (`/current`, the list) find it; the workflow projects it just after its agenda.
    Bounded: past `give_up` the start is answered anyway, and the row follows."""
    while asyncio.get_running_loop().time() <= give_up:
        found = await session.scalar(
            select(CommitteeSessionRow.session_id).where(
                CommitteeSessionRow.session_id == session_id
            )
        )
        await session.commit()
        if found is not None:
            return
        await asyncio.sleep(0.05)


async def decide(
    session: AsyncSession,
    temporal: TemporalClient,
    principal: Principal,
    session_id: str,
    data: DecisionRequest,
) -> RecordedDecision:
    check(principal, Action.DECIDE)
    row = await session.get(CommitteeSessionRow, session_id)
    await session.commit()
    if row is None:
        await _not_projected_yet(temporal, session_id)
    elif row.status == SessionStatus.CLOSED.value:
        raise Conflict(f"committee session {session_id} is closed")
    decision = Decision(**data.model_dump(), decided_by=principal.email)
    handle = temporal.get_workflow_handle(session_id)
    try:
        recorded = await handle.execute_update(
            CommitteeUpdate.DECIDE,
            decision,
            id=update_id(data.number),
            result_type=RecordedDecision,
            rpc_timeout=UPDATE_TIMEOUT,
        )
    except WorkflowUpdateFailedError as error:
        raise refusal_error(error) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        location = f"/api/v1/committee/sessions/{session_id}"
        raise InFlight(
            f"committee session {session_id} did not answer in time; see {location}", location
        ) from None
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Conflict(f"committee session {session_id} is closed") from None
        raise Unavailable(f"committee session {session_id} could not be reached") from None
    if recorded.decision is not data.decision:
        raise Conflict(
            f"requirement {data.number} was already decided in this session: "
            f"{recorded.decision.value}"
        )
    return recorded
