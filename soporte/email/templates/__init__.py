"""Outbound mail: Spanish (es-CO) templates, and the headers that keep threads and loops sane.

`render(notification)` turns a `Notification` into subject, plain text and HTML, and never
raises: an unknown template or odd data still gives a valid, generic message.
`wire_email` wraps the result in an RFC 5322 message (`build_email`: as an EmailMessage).
Pure: no I/O.

Data keys a template reads from `Notification.data` (all optional unless said):
- every template: `subject` (the ticket's), `recipient_name`, `ticket_url`
- acknowledgement: `priority` (P1|P2|P3|requirement|advisory), `kind`, `first_response_due`,
  `resolution_due`, `committee_at`, `booking_url`, `missing_info` (list of field codes
  such as `business_impact` or free sentences), `refused_attachments` (list of strings)
- engineer_reply: `body` (required), `engineer_name`
- request_info: `body` (required), `abandon_at`
- reminder: `attempt` (required), `body` (the pending request), `abandon_at`
- resolved: `resolution_kind`, `body`, `reopen_until`
- resolved_no_reply: `reopen_until`
- reopened: `reason`, `resolution_due`
- closed: `reason`
- rating_invitation: `rating_url`
- sla_warning / sla_breach (staff): `target` (first_response|resolution), `due`, `priority`,
  `client_name`, `assignee`, `percent`
- priority_changed: `from`, `to` (priorities), `reason`, `first_response_due`, `resolution_due`
- assigned (staff): `client_name`, `priority`, `first_response_due`, `resolution_due`
- client_message (staff): `author`, `body`
- attachments_refused: `refused_attachments` (list of strings, required)
- refused_unknown_sender / foreign_thread: `from_address`, and the channels
- refused_inactive_client: `client_name`, and the channels
- refused_staff_sender (staff): `from_address`
- reopen_refused: `reopen_until`, `reason`
- sign_in_link (the portal; number 0): `sign_in_url` (required), `minutes`
- committee_agenda / committee_agenda_unrouted (staff): `session_id`, `ends_at`, `items`
- the channels (Settings.channels(), every refusal and the acknowledgement): `support_phone`,
  `support_emails` (list), `contact_url`, `p1_phone`, `p1_phone_hours`
- acknowledgement of a P1: `outside_business_hours` (true: it names the P1 line)
A notification with `audience: staff` (or only role words in `to`) is rendered in staff
wording: STAFF_TEMPLATES, or a generic staff notice.
Instants are ISO 8601 strings (or aware datetimes) in UTC, shown in America/Bogota.

The package: message_ids, formatting (es-CO), document (the block model and footer), data,
the templates by audience (client, staff, refusals, portal), catalog (TEMPLATES, render), compose
(wire_email, the message's bytes; build_email, the same as an EmailMessage).
"""

from soporte.email.templates.catalog import STAFF_TEMPLATES, TEMPLATES, is_for_staff, render
from soporte.email.templates.compose import WireMail, build_email, wire_email
from soporte.email.templates.document import (
    SIGNATURE,
    Action,
    Block,
    Bullets,
    Facts,
    Para,
    Quote,
    RenderedMail,
)
from soporte.email.templates.formatting import (
    BOGOTA,
    MISSING_INFO_LABELS,
    PRIORITY_LABELS,
    RESOLUTION_LABELS,
    as_utc,
    format_bogota,
)
from soporte.email.templates.message_ids import (
    MESSAGE_ID_DOMAIN,
    MessageIds,
    is_our_message_id,
    ticket_number_from_message_id,
)

__all__ = [
    "Action",
    "BOGOTA",
    "Block",
    "Bullets",
    "Facts",
    "MESSAGE_ID_DOMAIN",
    "MessageIds",
    "MISSING_INFO_LABELS",
    "PRIORITY_LABELS",
    "Para",
    "Quote",
    "RESOLUTION_LABELS",
    "RenderedMail",
    "SIGNATURE",
    "STAFF_TEMPLATES",
    "TEMPLATES",
    "WireMail",
    "as_utc",
    "build_email",
    "format_bogota",
    "is_for_staff",
    "is_our_message_id",
    "render",
    "ticket_number_from_message_id",
    "wire_email",
]
