"""The admin audit log: registry and token changes, newest first (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminDep, SessionDep
from api.errors import COMMON_RESPONSES
from soporte.audit import AuditAction
from soporte.services import audit
from soporte.services.schemas import AuditPage

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=COMMON_RESPONSES)


@router.get("/audit")
async def read_audit(
    session: SessionDep,
    _: AdminDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    action: AuditAction | None = None,
) -> AuditPage:
    """Who created, changed, deactivated, issued or revoked what, and when."""
    return await audit.read(session, limit, offset, action)
