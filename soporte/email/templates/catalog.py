"""Every template by name, and `render`: a notification to subject, text and HTML."""

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
from soporte.policy.tickets import Notification


def _generic(data: _Data) -> _Mail:
    about = f" {data.ticket}" if data.ticket else ""
    blocks: list[Block] = [data.greeting(), Para(f"Hay una novedad en su solicitud{about}.")]
    if data.text("body"):
        blocks.append(Quote(data.text("body")))
    return _Mail(data.with_subject("Novedad en su solicitud"), blocks + data.portal_link())


TEMPLATES: dict[str, Callable[[_Data], _Mail]] = {
    "acknowledgement": _acknowledgement,
    "engineer_reply": _engineer_reply,
    "request_info": _request_info,
    "reminder": _reminder,
    "resolved": _resolved,
    "resolved_no_reply": _resolved_no_reply,
    "reopened": _reopened,
    "closed": _closed,
    "rating_invitation": _rating_invitation,
    "sla_warning": lambda data: _sla_alert(data, breach=False),
    "sla_breach": lambda data: _sla_alert(data, breach=True),
    "refused_unknown_sender": _refused_unknown_sender,
    "refused_inactive_client": _refused_inactive_client,
    "reopen_refused": _reopen_refused,
    "priority_changed": _priority_changed,
    "assigned": _assigned,
    "client_message": _client_message,
    "attachments_refused": _attachments_refused,
    "booking_link": _booking_link,
    "booking_confirmed": _booking_confirmed,
    "advisory_reminder": _advisory_reminder,
    "advisory_done": _advisory_done,
    "committee_accepted": _committee_accepted,
    "committee_rejected": _committee_rejected,
    "requirement_delivered": _requirement_delivered,
    "incident_priority": _incident_priority,
    "incident_resolved": _incident_resolved,
    "committee_agenda": _committee_agenda,
    "sign_in_link": _sign_in_link,
    "unverified_message": _unverified_message,
    "confirm_ticket": _confirm_ticket,
    "committee_agenda_unrouted": _committee_agenda_unrouted,
    "refused_staff_sender": _refused_staff_sender,
    "foreign_thread": _foreign_thread,
}
# Ticket news a staff member receives, in staff wording (the client's copy: TEMPLATES).
STAFF_TEMPLATES: dict[str, Callable[[_Data], _Mail]] = {
    "reopened": _staff_reopened,
    "booking_confirmed": _staff_booking_confirmed,
    "advisory_reminder": _staff_advisory_reminder,
    "incident_priority": _staff_incident_priority,
}
# Templates only staff ever receive: already in staff wording.
STAFF_ONLY = frozenset(
    {
        "sla_warning",
        "sla_breach",
        "assigned",
        "client_message",
        "committee_agenda",
        "committee_agenda_unrouted",
        "refused_staff_sender",
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
        return TEMPLATES.get(name, _generic)
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
