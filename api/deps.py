"""FastAPI dependencies: settings, a DB session, the Temporal client, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient

from api.access_log import note_principal
from api.state import AppState
from soporte.services.access import Action, check
from soporte.services.auth import Principal, authenticate
from soporte.services.auth_limits import FailureLimiter
from soporte.services.email_intake import EmailIntake
from soporte.services.errors import Unauthorized
from soporte.settings import Settings


async def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.soporte
    return state


StateDep = Annotated[AppState, Depends(app_state)]


def email_intake(state: AppState, request: Request) -> EmailIntake:
    """One intake per app (the API's email routes and the portal's confirmation page), so
    concurrent duplicates of one message wait for each other."""
    intake: EmailIntake | None = getattr(request.app.state, "email_intake", None)
    if intake is None:
        intake = EmailIntake(state.settings, state.sessions, state.temporal)
        request.app.state.email_intake = intake
    return intake


async def get_settings(state: StateDep) -> Settings:
    return state.settings


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.sessions() as session:
        yield session


async def get_temporal(state: StateDep) -> TemporalClient:
    return await state.temporal()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[TemporalClient, Depends(get_temporal)]

bearer = HTTPBearer(auto_error=False, description="a token from POST /api/v1/tokens, or admin's")


async def current_principal(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    token = credentials.credentials if credentials is not None else None
    host = request.client.host if request.client else None
    return await authenticate_caller(state, client_ip(host), token)


def client_ip(host: str | None) -> str:
    return host or "unknown"


async def authenticate_caller(state: AppState, ip: str, token: str | None) -> Principal:
    """The caller, or 401; 429 while its IP or token prefix failed too often (logged)."""
    if not token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    limiter: FailureLimiter = state.auth_failures
    limiter.check(ip, token)
    try:
        principal = await authenticate(state.engine, token, state.settings.admin_token)
    except Unauthorized:
        limiter.failed(ip, token)
        raise
    note_principal(principal.email)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def admin_principal(principal: PrincipalDep) -> Principal:
    check(principal, Action.MANAGE_REGISTRY)
    return principal


AdminDep = Annotated[Principal, Depends(admin_principal)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="the same key from the same caller answers the same result, never twice",
    ),
]
