"""What an operator sees of a ticket workflow in the Temporal UI: search attributes to
filter the list by, and a memo to read (number, client NIT, client, subject; before the
patch memo-once, priority and state too).

Pure data: workflows/visibility.py turns it into the SDK's typed keys; the attributes must
be registered on the namespace before a ticket upserts them (soporte.search_attributes does
it at worker start; README, "Pointing it at a real cluster").
"""

from __future__ import annotations

from enum import StrEnum

from soporte.policy.tickets import TicketView
from soporte.policy.words import Priority, Status


class AttributeType(StrEnum):
    """As `temporal operator search-attribute create --type` names them."""

    INT = "Int"
    KEYWORD = "Keyword"


SEARCH_ATTRIBUTES: dict[str, AttributeType] = {
    "TicketNumber": AttributeType.INT,
    "ClientNit": AttributeType.KEYWORD,
    "TicketPriority": AttributeType.KEYWORD,
    "TicketStatus": AttributeType.KEYWORD,
}
MEMO_SUBJECT_LIMIT = 200


def search_attribute_values(view: TicketView) -> dict[str, int | str]:
    return {
        "TicketNumber": view.number,
        "ClientNit": view.nit,
        **state_attribute_values(view.status, view.priority),
    }


def state_attribute_values(status: Status, priority: Priority) -> dict[str, int | str]:
    """The attributes a ticket's move changes."""
    return {"TicketPriority": priority.value, "TicketStatus": status.value}


def memo(view: TicketView) -> dict[str, object]:
    """What does not change in a ticket's life."""
    return {
        "number": view.number,
        "client_nit": view.nit,
        "client": view.client_name,
        "subject": view.subject[:MEMO_SUBJECT_LIMIT],
    }


def memo_with_state(view: TicketView) -> dict[str, object]:
    """The memo of tickets started before the patch memo-once."""
    return {**memo(view), "priority": view.priority.value, "status": view.status.value}
