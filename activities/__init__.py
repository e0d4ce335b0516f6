"""The activities of every workflow, bound to one database engine.

`build_activities(settings)` is what the worker registers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities import assignment, notifications, projection, ticket_writes
from activities.committee import CommitteeActivities
from activities.incidents import IncidentActivities
from soporte.db.session import create_engine, create_sessionmaker
from soporte.email.transport import SMTP_TIMEOUT
from soporte.policy.names import Activity
from soporte.policy.tickets import (
    Notification,
    NotificationBatch,
    PickAssigneeInput,
    ProjectionBatch,
    TicketWrite,
)
from soporte.settings import Settings


class TicketActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings.effective_database_url)
        self.sessions = create_sessionmaker(self.engine)

    @activity.defn(name=Activity.PROJECT_TICKET)
    async def project_ticket(self, batch: ProjectionBatch) -> None:
        await projection.project(self.sessions, batch)

    @activity.defn(name=Activity.DELIVER_NOTIFICATION)
    async def deliver_notification(self, notification: Notification) -> None:
        await notifications.deliver(self.sessions, self.settings, notification, smtp_timeout())

    @activity.defn(name=Activity.DELIVER_NOTIFICATIONS)
    async def deliver_notifications(self, batch: NotificationBatch) -> None:
        await notifications.deliver_all(
            self.sessions, self.settings, batch.notifications, smtp_timeout()
        )

    @activity.defn(name=Activity.WRITE_TICKET)
    async def write_ticket(self, write: TicketWrite) -> list[str]:
        return await ticket_writes.write_ticket(self.sessions, self.settings, write)

    @activity.defn(name=Activity.PICK_ASSIGNEE)
    async def pick_assignee(self, data: PickAssigneeInput) -> str | None:
        return await assignment.pick(self.sessions, data)


def smtp_timeout() -> float:
    """A mail activity run locally runs inside its ticket's task, and every command answered
    in that task waits for it (tickets started before `projection-with-mail` send their
    mail so, and those from before `mail-retry-queued` their retries): there each SMTP
    reply is waited for as briefly as in `write_ticket`. Queued, the usual timeout."""
    if activity.info().is_local:
        return ticket_writes.INLINE_SMTP_TIMEOUT
    return SMTP_TIMEOUT


def build_activities(settings: Settings) -> list[Callable[..., Any]]:
    bound = TicketActivities(settings)
    committee = CommitteeActivities(bound.sessions)
    incidents = IncidentActivities(bound.sessions)
    return [
        bound.project_ticket,
        bound.deliver_notification,
        bound.deliver_notifications,
        bound.pick_assignee,
        bound.write_ticket,
        *committee.all(),
        *incidents.all(),
    ]
