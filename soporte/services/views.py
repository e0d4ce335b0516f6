"""A ticket as each reader may see it, and its view before any worker has run."""

from __future__ import annotations

from typing import Any

from soporte.policy.ticket import TicketState, view
from soporte.policy.tickets import TicketInput, TicketView
from soporte.services.auth import Principal
from soporte.services.schemas import ContactTicket, LogEntry, StaffTicket


def initial_view(ticket: TicketInput) -> TicketView:
    """The view of a ticket just registered: pure, so a 201 never waits for the worker."""
    return view(TicketState.initial(ticket))


def render_ticket(view: TicketView, principal: Principal) -> ContactTicket | StaffTicket:
    data: dict[str, Any] = view.model_dump()
    if principal.is_contact:
        return _contact(data)
    data["sla_first_responded_at"] = view.sla.first_responded_at
    return StaffTicket.model_validate(data)


def _contact(data: dict[str, Any]) -> ContactTicket:
    allowed = ContactTicket.model_fields.keys()
    return ContactTicket.model_validate({k: v for k, v in data.items() if k in allowed})


def render_log(entries: list[LogEntry], principal: Principal) -> list[LogEntry]:
    """Contacts see public lines only, without the staff-side data."""
    if not principal.is_contact:
        return entries
    return [
        entry.model_copy(update={"data": _public_data(entry.data)})
        for entry in entries
        if entry.visibility == "public"
    ]


PUBLIC_DATA_KEYS = frozenset({"attachments", "priority", "status", "from", "to", "resolution"})


def _public_data(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key in PUBLIC_DATA_KEYS}
