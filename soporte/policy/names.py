"""Every name that crosses the workflow boundary, in one place: workflow types, updates,
signals, queries, activities and mail templates. The workflows declare their handlers
with these names and every caller (services, activities, other workflows) uses the same
members, so a name is written once. The values are what running workflows' histories
already carry: never change one. Pure.
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
    # The client's message through a door that waits for its answer (API, portal): never
    # refused, like the signal of the same name, which the email door sends.
    POST_MESSAGE = "post_message"


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
    WRITE_TICKET = "write_ticket"
    COMMITTEE_AGENDA = "committee_agenda"
    COMMITTEE_HOLIDAYS = "committee_holidays"
    PROJECT_COMMITTEE_SESSION = "project_committee_session"
    PROJECT_INCIDENT = "project_incident"


class MailTemplate(StrEnum):
    """Every mail we send, by the Spanish template that writes it
    (soporte/email/templates/catalog.py keys its templates by these). Notifications carry
    the value in ticket histories: never change one."""

    # To the client: a ticket's news.
    ACKNOWLEDGEMENT = "acknowledgement"
    ENGINEER_REPLY = "engineer_reply"
    REQUEST_INFO = "request_info"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    RESOLVED_NO_REPLY = "resolved_no_reply"
    REOPENED = "reopened"
    CLOSED = "closed"
    RATING_INVITATION = "rating_invitation"
    PRIORITY_CHANGED = "priority_changed"
    ATTACHMENTS_REFUSED = "attachments_refused"
    BOOKING_LINK = "booking_link"
    BOOKING_CONFIRMED = "booking_confirmed"
    ADVISORY_REMINDER = "advisory_reminder"
    ADVISORY_DONE = "advisory_done"
    COMMITTEE_ACCEPTED = "committee_accepted"
    COMMITTEE_REJECTED = "committee_rejected"
    REQUIREMENT_DELIVERED = "requirement_delivered"
    INCIDENT_PRIORITY = "incident_priority"
    INCIDENT_RESOLVED = "incident_resolved"
    # To staff only.
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    ASSIGNED = "assigned"
    CLIENT_MESSAGE = "client_message"
    COMMITTEE_AGENDA = "committee_agenda"
    COMMITTEE_AGENDA_UNROUTED = "committee_agenda_unrouted"
    # Automatic replies to mail we did not take, and sender trust.
    REFUSED_UNKNOWN_SENDER = "refused_unknown_sender"
    REFUSED_INACTIVE_CLIENT = "refused_inactive_client"
    REFUSED_STAFF_SENDER = "refused_staff_sender"
    REOPEN_REFUSED = "reopen_refused"
    FOREIGN_THREAD = "foreign_thread"
    UNVERIFIED_MESSAGE = "unverified_message"
    CONFIRM_TICKET = "confirm_ticket"
    # The portal's sign-in link.
    SIGN_IN_LINK = "sign_in_link"
