"""Recording and reading the admin audit log (registry and token changes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.audit_models import AuditAction, AuditEntry
from soporte.services.schemas import AuditEntryOut, AuditPage


def record(
    session: AsyncSession,
    actor: str,
    action: AuditAction,
    subject: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Add the line to the session: it commits with the change it describes."""
    session.add(
        AuditEntry(actor=actor, action=action.value, subject=subject, details=details or {})
    )


async def read(
    session: AsyncSession, limit: int, offset: int, action: AuditAction | None = None
) -> AuditPage:
    """Newest first."""
    query = select(AuditEntry)
    count = select(func.count()).select_from(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action.value)
        count = count.where(AuditEntry.action == action.value)
    total = await session.scalar(count)
    rows = await session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    )
    items = [
        AuditEntryOut(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=AuditAction(row.action),
            subject=row.subject,
            details=row.details or {},
        )
        for row in rows
    ]
    return AuditPage(items=items, total=total or 0, limit=limit, offset=offset)
