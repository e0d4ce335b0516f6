"""Message-IDs we can thread on: ours carry the ticket number, so a reply finds its ticket."""

from __future__ import annotations

import re

from soporte.settings import DEFAULT_MAIL_DOMAIN

MESSAGE_ID_DOMAIN = DEFAULT_MAIL_DOMAIN


# --- Message-IDs we can thread on -------------------------------------------------------

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_OUR_ID = re.compile(r"^<ticket-(\d{1,9})(?:\.[^@<>]*)?@([^<>@]+)>$")


def message_id_for(number: int, key: str, domain: str = MESSAGE_ID_DOMAIN) -> str:
    """`<ticket-1234.<key>@soporte.btw.com.co>`: stable for a stable key (the notification id),
    so a retried send carries the same id and a reply names its ticket."""
    safe_key = ".".join(part for part in _ID_UNSAFE.sub("-", key).split(".") if part) or "0"
    return f"<ticket-{int(number)}.{safe_key}@{domain}>"


def ticket_thread_id(number: int, domain: str = MESSAGE_ID_DOMAIN) -> str:
    """The virtual root every message of a ticket refers to, so mail clients group them."""
    return f"<ticket-{int(number)}@{domain}>"


def ticket_number_from_message_id(message_id: str, domain: str = MESSAGE_ID_DOMAIN) -> int | None:
    """The ticket number inside one of our Message-IDs; None for anyone else's."""
    match = _OUR_ID.match(message_id.strip())
    if not match or match.group(2).lower() != domain.lower() or int(match.group(1)) <= 0:
        return None
    return int(match.group(1))


def is_our_message_id(message_id: str, domain: str = MESSAGE_ID_DOMAIN) -> bool:
    match = _OUR_ID.match(message_id.strip())
    return bool(match and match.group(2).lower() == domain.lower())
