"""Who may do what (POLICY.md "Who sees what"), one module for every door: the roles each
action allows, as data, and one check. Ownership: a contact reaches only its own client's
tickets (anything else is "not found", never "forbidden", so ticket numbers leak nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from soporte.policy import Role
from soporte.services.errors import Forbidden

if TYPE_CHECKING:
    from soporte.services.auth import Principal

# The staff roles, written once: every one reads every ticket, incident and session.
STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.ENGINEER, Role.COMMITTEE})
# Engineers and supervisors work tickets.
WORKING_ROLES = frozenset({Role.ENGINEER, Role.SUPERVISOR})
CONTACT = frozenset({Role.CONTACT})
ADMIN = frozenset({Role.ADMIN})


class Action(StrEnum):
    """What a caller asks to do; the value completes "only … may <value>"."""

    READ_TICKETS = "read and list tickets"
    OPEN_TICKET = "open tickets"
    WRITE_ON_TICKET = "write on a ticket"
    ASSIGN = "assign tickets"
    CHANGE_PRIORITY = "change a ticket's priority"
    REQUEST_INFO = "request information"
    RESOLVE = "resolve tickets"
    ABANDON = "close tickets as abandoned"
    REOPEN = "reopen tickets"
    RATE = "rate the service"
    ATTACH = "attach files"
    DELIVER = "mark requirements delivered"
    BOOK = "book advisory slots"
    ADVISORY_DONE = "mark advisories done"
    READ_COMMITTEE = "see the committee"
    START_SESSION = "start a committee session by hand"
    DECIDE = "decide requirements"
    READ_INCIDENTS = "see incidents"
    ACT_ON_INCIDENTS = "open, link and resolve incidents"
    MANAGE_REGISTRY = "manage the registry"
    POST_INBOUND_EMAIL = "post raw inbound email"
    CONFIRM_HELD_MAIL = "see and confirm held email requests"
    USE_SAVED_REPLIES = "use and edit saved replies"
    READ_REFUSED_MAIL = "read refused mail"
    READ_SLA_REPORT = "read the SLA report"


ALLOWED: Mapping[Action, frozenset[Role]] = {
    Action.READ_TICKETS: CONTACT | STAFF_ROLES,
    Action.OPEN_TICKET: CONTACT | WORKING_ROLES,
    Action.WRITE_ON_TICKET: CONTACT | WORKING_ROLES,
    Action.ASSIGN: WORKING_ROLES,
    Action.CHANGE_PRIORITY: WORKING_ROLES,
    Action.REQUEST_INFO: WORKING_ROLES,
    Action.RESOLVE: WORKING_ROLES,
    Action.ABANDON: WORKING_ROLES,
    Action.REOPEN: CONTACT | WORKING_ROLES,
    Action.RATE: CONTACT,
    Action.ATTACH: CONTACT | WORKING_ROLES,
    Action.DELIVER: WORKING_ROLES,
    # Staff may book on a client's behalf (e.g. on the phone).
    Action.BOOK: CONTACT | WORKING_ROLES | ADMIN,
    Action.ADVISORY_DONE: WORKING_ROLES,
    Action.READ_COMMITTEE: STAFF_ROLES,
    # Committee members and admin start an extraordinary session (issue 13).
    Action.START_SESSION: frozenset({Role.COMMITTEE}) | ADMIN,
    Action.DECIDE: frozenset({Role.COMMITTEE}) | ADMIN,
    Action.READ_INCIDENTS: STAFF_ROLES,
    Action.ACT_ON_INCIDENTS: WORKING_ROLES | ADMIN,
    Action.MANAGE_REGISTRY: ADMIN,
    Action.POST_INBOUND_EMAIL: ADMIN,
    # A new request whose sender was not verified (POLICY.md "Who sees what").
    Action.CONFIRM_HELD_MAIL: WORKING_ROLES | ADMIN,
    Action.USE_SAVED_REPLIES: WORKING_ROLES | ADMIN,
    Action.READ_REFUSED_MAIL: WORKING_ROLES | ADMIN,
    # The SLA report (GET /api/v1/reports/sla), and the console's dashboard that draws it.
    Action.READ_SLA_REPORT: frozenset({Role.SUPERVISOR}) | ADMIN,
}
_ROLE_ORDER = (Role.CONTACT, Role.ENGINEER, Role.SUPERVISOR, Role.COMMITTEE, Role.ADMIN)


def may(principal: Principal, action: Action) -> bool:
    return bool(principal.roles & ALLOWED[action])


def check(principal: Principal, action: Action) -> None:
    """The one check every route's service makes: a 403 naming who may."""
    if not may(principal, action):
        names = ", ".join(role.value for role in _ROLE_ORDER if role in ALLOWED[action])
        raise Forbidden(f"only {names} may {action.value}")


def owns(principal: Principal, nit: str) -> bool:
    """Whether `principal` may reach a ticket of the client `nit`: a contact its own
    client's, staff every one."""
    if Role.CONTACT in principal.roles:
        return principal.nit == nit
    return bool(principal.roles & STAFF_ROLES)
