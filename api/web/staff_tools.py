"""What the staff ticket page offers besides the log: who can be assigned, the saved
replies, the open incidents to link to, and which commands the ticket's state admits (the
workflow still decides: a refused command comes back with its reason)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.models import Staff
from soporte.policy import Kind, Role, Status
from soporte.policy.incidents import IncidentStatus, IncidentView
from soporte.policy.ticket import abandon_attempts_needed
from soporte.policy.tickets import TicketView
from soporte.services import incidents, saved_replies
from soporte.services.auth import Principal
from soporte.services.saved_replies import SavedReplyOut

WORKER_ROLES = {Role.ENGINEER.value, Role.SUPERVISOR.value}
FINISHED = (Status.RESOLVED, Status.CLOSED)


@dataclass
class StaffTools:
    works: bool
    engineers: list[tuple[str, str]] = field(default_factory=list)
    replies: list[SavedReplyOut] = field(default_factory=list)
    open_incidents: list[IncidentView] = field(default_factory=list)
    abandon_needed: int = 0
    can_assign: bool = False
    can_priority: bool = False
    can_request_info: bool = False
    can_resolve: bool = False
    can_abandon: bool = False
    can_deliver: bool = False
    can_done: bool = False
    can_link: bool = False


async def engineers(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Staff.email, Staff.name, Staff.roles).where(Staff.active.is_(True))
    )
    found = [(email, name) for email, name, roles in rows.all() if set(roles) & WORKER_ROLES]
    return sorted(found, key=lambda pair: pair[1].lower())


async def staff_tools(
    session: AsyncSession, principal: Principal, view: TicketView, policy: object | None
) -> StaffTools:
    works = principal.works_tickets
    tools = StaffTools(works=works)
    if not works:
        return tools
    tools.engineers = await engineers(session)
    tools.replies = await saved_replies.list_replies(session, principal)
    page = await incidents.list_incidents(session, principal, IncidentStatus.OPEN, 50, 0)
    tools.open_incidents = page.items
    tools.abandon_needed = abandon_attempts_needed(policy) if policy is not None else 0  # type: ignore[arg-type]
    live = view.status not in FINISHED
    tools.can_assign = live
    tools.can_priority = live and view.kind is Kind.SUPPORT
    tools.can_request_info = live and view.status is not Status.WAITING_ON_CLIENT
    tools.can_resolve = live
    tools.can_abandon = view.status is Status.WAITING_ON_CLIENT
    tools.can_deliver = view.kind is Kind.REQUIREMENT and view.status is Status.PLANNED
    tools.can_done = view.kind is Kind.ADVISORY and view.status is Status.SCHEDULED
    tools.can_link = live and not view.incident_id
    return tools
