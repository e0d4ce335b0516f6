"""One parser for inbound mail: raw RFC 5322 bytes in, a `ParsedMail` out, never an exception.

Fed by the SMTP listener and by `POST /api/v1/inbound-email` alike. Real mail is messy, so
every step degrades instead of failing: unknown or wrong charsets fall back to UTF-8, then
Windows-1252, then Latin-1; broken encodings keep what can be read; what was odd is noted
in `ParsedMail.defects`. Pure: no I/O.

The message structure is read with the `compat32` policy and headers are decoded here by
hand: the modern policy parses headers lazily and can raise on access for malformed ones.

The package, by step: limits, headers (charsets, addresses, Message-IDs, automatic-mail
headers), html_text, quoting (reply trimming), fields (labelled values, priority, ticket
number), attachments (evidence screening), mime (walking the tree), message (ParsedMail).
"""

from soporte.email.parse.attachments import (
    Attachment,
    RefusedAttachment,
    safe_filename,
    screen_attachments,
    sniff_content_type,
)
from soporte.email.parse.fields import fold, labelled_value, ticket_number_in
from soporte.email.parse.headers import (
    SYNTHETIC_ID_DOMAIN,
    decode_bytes,
    decode_header_text,
    message_ids_in,
    normalize_message_id,
    synthetic_message_id,
)
from soporte.email.parse.html_text import html_to_text
from soporte.email.parse.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_TEXT_CHARS
from soporte.email.parse.message import ParsedMail, parse_message
from soporte.email.parse.quoting import is_forward, trim_reply
from soporte.policy.triage import priority_from_text

__all__ = [
    "Attachment",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_TEXT_CHARS",
    "ParsedMail",
    "RefusedAttachment",
    "SYNTHETIC_ID_DOMAIN",
    "decode_bytes",
    "decode_header_text",
    "fold",
    "html_to_text",
    "is_forward",
    "labelled_value",
    "message_ids_in",
    "normalize_message_id",
    "parse_message",
    "priority_from_text",
    "safe_filename",
    "screen_attachments",
    "sniff_content_type",
    "synthetic_message_id",
    "ticket_number_in",
    "trim_reply",
]
