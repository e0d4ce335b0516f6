"""Activities of the committee sessions, bound to one session factory.

committee_agenda: every requirement still pending_committee, in order of filing.
committee_holidays: Colombian holiday dates around a session's start.
project_committee_session: an idempotent upsert of the workflow's view
(an older version never overwrites a newer one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities._db import upsert_versioned
from soporte.db.committee_models import CommitteeSessionRow
from soporte.db.models import Client, Ticket
from soporte.holiday_dates import holidays_around
from soporte.policy import Kind, Status
from soporte.policy.committee import AgendaItem, SessionView
from soporte.policy.names import Activity

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


class CommitteeActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=Activity.COMMITTEE_AGENDA.value)
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

    @activity.defn(name=Activity.COMMITTEE_HOLIDAYS.value)
    async def committee_holidays(self, at: datetime) -> list[date]:
        return holidays_around(at, years_after=HOLIDAY_YEARS_AHEAD)

    @activity.defn(name=Activity.PROJECT_COMMITTEE_SESSION.value)
    async def project_committee_session(self, view: SessionView) -> None:
        async with self.sessions() as session:
            await upsert_versioned(session, CommitteeSessionRow, "session_id", session_row(view))
            await session.commit()

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.committee_agenda,
            self.committee_holidays,
            self.project_committee_session,
        ]
