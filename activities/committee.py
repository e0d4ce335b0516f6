"""Activities of the committee sessions and the incidents, bound to one session factory.

committee_agenda: every requirement still pending_committee, in order of filing.
committee_holidays: Colombian holiday dates around a session's start.
project_committee_session / project_incident: idempotent upserts of the workflows' views
(an older version never overwrites a newer one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities._db import upsert_insert
from soporte.db.committee_models import CommitteeSessionRow, IncidentRow
from soporte.db.models import Client, Ticket
from soporte.holiday_dates import holidays_around
from soporte.policy import Kind, Status
from soporte.policy.committee import AgendaItem, CommitteeActivity, SessionView
from soporte.policy.incidents import PROJECT_INCIDENT_ACTIVITY, IncidentView

HOLIDAY_YEARS_AHEAD = 1


def agenda_item(ticket: Ticket, client_name: str | None) -> AgendaItem:
    return AgendaItem(
        number=ticket.number,
        subject=ticket.subject,
        nit=ticket.nit,
        client_name=str(ticket.view.get("client_name") or client_name or ""),
        filed_at=ticket.created_at,
    )


def session_row(view: SessionView) -> dict[str, Any]:
    return {
        "session_id": view.session_id,
        "status": view.status.value,
        "started_at": view.started_at,
        "ends_at": view.ends_at,
        "started_by": view.started_by[:254],
        "version": view.version,
        "view": view.model_dump(mode="json"),
    }


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


async def upsert_versioned(
    session: AsyncSession, table: Any, key: str, row: dict[str, Any]
) -> None:
    statement = upsert_insert(session, table).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_={name: statement.excluded[name] for name in row if name != key},
        where=table.version <= statement.excluded.version,
    )
    await session.execute(statement)


class CommitteeActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=CommitteeActivity.AGENDA.value)
    async def committee_agenda(self) -> list[AgendaItem]:
        query = (
            select(Ticket, Client.name)
            .outerjoin(Client, Client.nit == Ticket.nit)
            .where(Ticket.kind == Kind.REQUIREMENT.value)
            .where(Ticket.status == Status.PENDING_COMMITTEE.value)
            .order_by(Ticket.created_at, Ticket.number)
        )
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        return [agenda_item(ticket, client_name) for ticket, client_name in rows]

    @activity.defn(name=CommitteeActivity.HOLIDAYS.value)
    async def committee_holidays(self, at: datetime) -> list[date]:
        return holidays_around(at, years_after=HOLIDAY_YEARS_AHEAD)

    @activity.defn(name=CommitteeActivity.PROJECT_SESSION.value)
    async def project_committee_session(self, view: SessionView) -> None:
        async with self.sessions() as session:
            await upsert_versioned(session, CommitteeSessionRow, "session_id", session_row(view))
            await session.commit()

    @activity.defn(name=PROJECT_INCIDENT_ACTIVITY)
    async def project_incident(self, view: IncidentView) -> None:
        async with self.sessions() as session:
            await upsert_versioned(session, IncidentRow, "incident_id", incident_row(view))
            await session.commit()

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.committee_agenda,
            self.committee_holidays,
            self.project_committee_session,
            self.project_incident,
        ]
