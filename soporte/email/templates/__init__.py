"""Outbound mail: Spanish (es-CO) templates, and the headers that keep threads and loops sane.

`render(notification)` turns a `Notification` into subject, plain text and HTML, and never
raises: an unknown template or odd data still gives a valid, generic message.
`build_email` wraps the result in an RFC 5322 message. Pure: no I/O.

Data keys a template reads from `Notification.data` (all optional unless said):
- every template: `subject` (the ticket's), `recipient_name`, `ticket_url`
- acknowledgement: `priority` (P1|P2|P3|requirement|advisory), `kind`, `first_response_due`,
  `resolution_due`, `committee_at`, `booking_url`, `missing_info` (list of field codes
  such as `business_impact` or free sentences), `refused_attachments` (list of strings)
- engineer_reply: `body` (required), `engineer_name`
- request_info: `body` (required), `abandon_at`
- reminder: `attempt` (required), `body` (the pending request), `abandon_at`
- resolved: `resolution_kind`, `body`, `reopen_until`, `rating_url`
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
- refused_unknown_sender: `from_address`, `support_phone`
- refused_inactive_client: `client_name`, `support_phone`
- reopen_refused: `reopen_until`, `reason`
- sign_in_link (the portal; number 0): `sign_in_url` (required), `minutes`
Instants are ISO 8601 strings (or aware datetimes) in UTC, shown in America/Bogota.

The package: message_ids, formatting (es-CO), document (the block model and footer), data,
the templates by audience (client, staff, refusals, portal), catalog (TEMPLATES, render), compose
(build_email).
"""

from soporte.email.templates.catalog import TEMPLATES, render
from soporte.email.templates.compose import build_email
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
from soporte.email.templates.refusals import foreign_thread_mail

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
    "TEMPLATES",
    "as_utc",
    "build_email",
    "foreign_thread_mail",
    "format_bogota",
    "is_our_message_id",
    "render",
    "ticket_number_from_message_id",
]
