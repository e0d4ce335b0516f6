"""What an operator sees of a ticket workflow in the Temporal UI: search attributes to
filter the list by, and a memo to read (number, client NIT, priority, state, subject).

Pure (temporalio.common only): the ticket workflow imports it. The attributes must be
registered on the namespace before a ticket upserts them (soporte.search_attributes does it
at worker start; README, "Pointing it at a real cluster").
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from soporte.tickets import TicketView

TICKET_NUMBER = SearchAttributeKey.for_int("TicketNumber")
CLIENT_NIT = SearchAttributeKey.for_keyword("ClientNit")
TICKET_PRIORITY = SearchAttributeKey.for_keyword("TicketPriority")
TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
SEARCH_ATTRIBUTES = (TICKET_NUMBER, CLIENT_NIT, TICKET_PRIORITY, TICKET_STATUS)
MEMO_SUBJECT_LIMIT = 200


def search_attribute_updates(view: TicketView) -> list[SearchAttributeUpdate[Any]]:
    return [
        TICKET_NUMBER.value_set(view.number),
        CLIENT_NIT.value_set(view.nit),
        TICKET_PRIORITY.value_set(view.priority.value),
        TICKET_STATUS.value_set(view.status.value),
    ]


def memo(view: TicketView) -> dict[str, object]:
    return {
        "number": view.number,
        "client_nit": view.nit,
        "client": view.client_name,
        "priority": view.priority.value,
        "status": view.status.value,
        "subject": view.subject[:MEMO_SUBJECT_LIMIT],
    }
