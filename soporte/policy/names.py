"""Every name that crosses the workflow boundary, in one place: workflow types, updates,
signals, queries and activities. The workflows declare their handlers with these names
and every caller (services, activities, other workflows) uses the same members, so a name
is written once. The values are what running workflows' histories already carry: never
change one. Pure.
"""

from enum import StrEnum


class WorkflowType(StrEnum):
    TICKET = "TicketWorkflow"
    COMMITTEE_SESSION = "CommitteeSessionWorkflow"
    INCIDENT = "IncidentWorkflow"


class Query(StrEnum):
    """Every workflow answers `view` with its current view."""

    VIEW = "view"


class TicketUpdate(StrEnum):
    """Engineer and client commands on a ticket (refusable: validators)."""

    REPLY = "reply"
    ASSIGN = "assign"
    CHANGE_PRIORITY = "change_priority"
    REQUEST_INFO = "request_info"
    RESOLVE = "resolve"
    ABANDON = "abandon"
    REOPEN = "reopen"
    RATE = "rate"
    DELIVER = "deliver"
    BOOK = "book"
    ADVISORY_DONE = "advisory_done"


class TicketSignal(StrEnum):
    """Facts a ticket is told (never refused)."""

    CLIENT_MESSAGE = "client_message"
    COMMITTEE_DECISION = "committee_decision"
    INCIDENT_LINKED = "incident_linked"
    INCIDENT_PRIORITY = "incident_priority"
    INCIDENT_RESOLVED = "incident_resolved"


class CommitteeUpdate(StrEnum):
    DECIDE = "decide"


class IncidentUpdate(StrEnum):
    LINK = "link"
    RESOLVE = "resolve"


class Activity(StrEnum):
    """Activities the workflows call (their code lives in activities/)."""

    PROJECT_TICKET = "project_ticket"
    DELIVER_NOTIFICATION = "deliver_notification"
    DELIVER_NOTIFICATIONS = "deliver_notifications"
    PICK_ASSIGNEE = "pick_assignee"
    COMMITTEE_AGENDA = "committee_agenda"
    COMMITTEE_HOLIDAYS = "committee_holidays"
    PROJECT_COMMITTEE_SESSION = "project_committee_session"
    PROJECT_INCIDENT = "project_incident"
