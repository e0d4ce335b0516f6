"""Every template by its name (`MailTemplate`), and `render`: a notification to mail."""

from __future__ import annotations

from collections.abc import Callable

from soporte.email.templates.client import (
    _acknowledgement,
    _advisory_done,
    _advisory_reminder,
    _attachments_refused,
    _booking_confirmed,
    _booking_link,
    _closed,
    _committee_accepted,
    _committee_rejected,
    _engineer_reply,
    _incident_priority,
    _incident_resolved,
    _priority_changed,
    _rating_invitation,
    _reminder,
    _reopened,
    _request_info,
    _requirement_delivered,
    _resolved,
    _resolved_no_reply,
)
from soporte.email.templates.data import _Data
from soporte.email.templates.document import Block, Para, Quote, RenderedMail, _assemble, _Mail
from soporte.email.templates.portal import _sign_in_link
from soporte.email.templates.refusals import (
    _foreign_thread,
    _refused_inactive_client,
    _refused_staff_sender,
    _refused_unknown_sender,
    _reopen_refused,
)
from soporte.email.templates.staff import (
    _assigned,
    _client_message,
    _committee_agenda,
    _committee_agenda_unrouted,
    _sla_alert,
    _staff_advisory_reminder,
    _staff_booking_confirmed,
    _staff_generic,
    _staff_incident_priority,
    _staff_reopened,
)
from soporte.email.templates.trust import _confirm_ticket, _unverified_message
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification


def _generic(data: _Data) -> _Mail:
    about = f" {data.ticket}" if data.ticket else ""
    blocks: list[Block] = [data.greeting(), Para(f"Hay una novedad en su solicitud{about}.")]
    if data.text("body"):
        blocks.append(Quote(data.text("body")))
    return _Mail(data.with_subject("Novedad en su solicitud"), blocks + data.portal_link())


TEMPLATES: dict[MailTemplate, Callable[[_Data], _Mail]] = {
    MailTemplate.ACKNOWLEDGEMENT: _acknowledgement,
    MailTemplate.ENGINEER_REPLY: _engineer_reply,
    MailTemplate.REQUEST_INFO: _request_info,
    MailTemplate.REMINDER: _reminder,
    MailTemplate.RESOLVED: _resolved,
    MailTemplate.RESOLVED_NO_REPLY: _resolved_no_reply,
    MailTemplate.REOPENED: _reopened,
    MailTemplate.CLOSED: _closed,
    MailTemplate.RATING_INVITATION: _rating_invitation,
    MailTemplate.SLA_WARNING: lambda data: _sla_alert(data, breach=False),
    MailTemplate.SLA_BREACH: lambda data: _sla_alert(data, breach=True),
    MailTemplate.REFUSED_UNKNOWN_SENDER: _refused_unknown_sender,
    MailTemplate.REFUSED_INACTIVE_CLIENT: _refused_inactive_client,
    MailTemplate.REOPEN_REFUSED: _reopen_refused,
    MailTemplate.PRIORITY_CHANGED: _priority_changed,
    MailTemplate.ASSIGNED: _assigned,
    MailTemplate.CLIENT_MESSAGE: _client_message,
    MailTemplate.ATTACHMENTS_REFUSED: _attachments_refused,
    MailTemplate.BOOKING_LINK: _booking_link,
    MailTemplate.BOOKING_CONFIRMED: _booking_confirmed,
    MailTemplate.ADVISORY_REMINDER: _advisory_reminder,
    MailTemplate.ADVISORY_DONE: _advisory_done,
    MailTemplate.COMMITTEE_ACCEPTED: _committee_accepted,
    MailTemplate.COMMITTEE_REJECTED: _committee_rejected,
    MailTemplate.REQUIREMENT_DELIVERED: _requirement_delivered,
    MailTemplate.INCIDENT_PRIORITY: _incident_priority,
    MailTemplate.INCIDENT_RESOLVED: _incident_resolved,
    MailTemplate.COMMITTEE_AGENDA: _committee_agenda,
    MailTemplate.SIGN_IN_LINK: _sign_in_link,
    MailTemplate.UNVERIFIED_MESSAGE: _unverified_message,
    MailTemplate.CONFIRM_TICKET: _confirm_ticket,
    MailTemplate.COMMITTEE_AGENDA_UNROUTED: _committee_agenda_unrouted,
    MailTemplate.REFUSED_STAFF_SENDER: _refused_staff_sender,
    MailTemplate.FOREIGN_THREAD: _foreign_thread,
}
# Ticket news a staff member receives, in staff wording (the client's copy: TEMPLATES).
STAFF_TEMPLATES: dict[MailTemplate, Callable[[_Data], _Mail]] = {
    MailTemplate.REOPENED: _staff_reopened,
    MailTemplate.BOOKING_CONFIRMED: _staff_booking_confirmed,
    MailTemplate.ADVISORY_REMINDER: _staff_advisory_reminder,
    MailTemplate.INCIDENT_PRIORITY: _staff_incident_priority,
}
# Templates only staff ever receive: already in staff wording.
STAFF_ONLY = frozenset(
    {
        MailTemplate.SLA_WARNING,
        MailTemplate.SLA_BREACH,
        MailTemplate.ASSIGNED,
        MailTemplate.CLIENT_MESSAGE,
        MailTemplate.COMMITTEE_AGENDA,
        MailTemplate.COMMITTEE_AGENDA_UNROUTED,
        MailTemplate.REFUSED_STAFF_SENDER,
    }
)


def is_for_staff(notification: Notification) -> bool:
    """Staff audience: marked by the ticket (`audience: staff`), or every recipient a role
    word (notifications queued before the mark)."""
    if notification.data.get("audience") == "staff":
        return True
    return bool(notification.to) and all(word.startswith("@") for word in notification.to)


def _template(notification: Notification) -> Callable[[_Data], _Mail]:
    name = notification.template
    if name in STAFF_ONLY or not is_for_staff(notification):
        return TEMPLATES[name]
    return STAFF_TEMPLATES.get(name, _staff_generic)


def render(notification: Notification) -> RenderedMail:
    """Subject, text and HTML for a notification. Never raises."""
    data = _Data(notification)
    template = _template(notification)
    fallback = _staff_generic if is_for_staff(notification) else _generic
    try:
        mail = template(data)
    except Exception:  # a template bug must not stop the mail: send the generic one
        mail = fallback(data)
    return _assemble(mail, data.number)
