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
from soporte.policy import Role
from soporte.services.auth import Principal, authenticate
from soporte.services.auth_limits import FailureLimiter
from soporte.services.errors import Forbidden, Unauthorized
from soporte.settings import Settings


async def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.soporte
    return state


StateDep = Annotated[AppState, Depends(app_state)]


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
    if not principal.has(Role.ADMIN):
        raise Forbidden("only admin manages the registry")
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
