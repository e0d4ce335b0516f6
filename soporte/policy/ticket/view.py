"""The view: what a query (and GET /tickets/{number}) shows of the state."""

from __future__ import annotations

from soporte.policy.ticket.sla_clock import sla_instants
from soporte.policy.ticket.state import TicketState, is_paused, utc
from soporte.policy.tickets import SlaView, TicketView


def view(state: TicketState) -> TicketView:
    ticket = state.input
    instants = sla_instants(state)
    flags = (state.first_response_flags, state.resolution_flags)
    return TicketView(
        number=ticket.number,
        kind=ticket.kind,
        status=state.status,
        priority=state.priority,
        system_priority=ticket.system_priority,
        suggested_priority=ticket.suggested_priority,
        category=ticket.category,
        subject=ticket.subject,
        description=ticket.description,
        expected_result=ticket.expected_result,
        legal_number=ticket.legal_number,
        business_impact=ticket.business_impact,
        channel=ticket.channel,
        nit=ticket.nit,
        client_name=ticket.client_name,
        reporter_email=ticket.reporter_email,
        notify=list(ticket.notify),
        assignee=state.assignee,
        created_at=utc(ticket.registered_at),
        updated_at=state.updated_at,
        missing_info=list(ticket.missing_info),
        resolution=state.resolution,
        rating=state.rating,
        sla=SlaView(
            started_at=state.sla_started_at,
            first_response_due=instants.first_response_due,
            resolution_due=instants.resolution_due,
            first_responded_at=state.first_responded_at,
            paused=is_paused(state),
            warned=any(f.warned for f in flags),
            breached=any(f.breached for f in flags),
        ),
        waiting_attempts=state.waiting_attempts,
        reopen_until=state.reopen_until,
        incident_id=state.incident_id,
        estimated_delivery=state.estimated_delivery,
        booked_slot=state.booked_slot,
    )
