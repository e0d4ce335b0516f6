"""The email channel: one parser for inbound mail, Spanish templates for outbound mail,
and the rules that keep automatic replies from looping.

Only pure modules are re-exported here, so workflows may import this package; the SMTP
listener (aiosmtpd, sockets) lives in `soporte.email.smtp_server` and is imported on its own.
"""

from soporte.email.loops import should_auto_reply
from soporte.email.parse import Attachment, ParsedMail, RefusedAttachment, parse_message
from soporte.email.templates import (
    RenderedMail,
    build_email,
    format_bogota,
    message_id_for,
    render,
    ticket_number_from_message_id,
)

__all__ = [
    "Attachment",
    "ParsedMail",
    "RefusedAttachment",
    "RenderedMail",
    "build_email",
    "format_bogota",
    "message_id_for",
    "parse_message",
    "render",
    "should_auto_reply",
    "ticket_number_from_message_id",
]
