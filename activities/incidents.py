"""The incidents' activity: project_incident, an idempotent upsert of the workflow's view
(an older version never overwrites a newer one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities._db import upsert_versioned
from soporte.db.incident_models import IncidentRow
from soporte.policy.incidents import IncidentView
from soporte.policy.names import Activity


def incident_row(view: IncidentView) -> dict[str, Any]:
    return {
        "incident_id": view.incident_id,
        "title": view.title[:300],
        "status": view.status.value,
        "priority": view.priority.value if view.priority else None,
        "opened_at": view.opened_at,
        "version": view.version,
        "view": view.model_dump(mode="json"),
    }


class IncidentActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=Activity.PROJECT_INCIDENT)
    async def project_incident(self, view: IncidentView) -> None:
        async with self.sessions() as session:
            await upsert_versioned(session, IncidentRow, "incident_id", incident_row(view))
            await session.commit()

    def all(self) -> list[Callable[..., Any]]:
        return [self.project_incident]
