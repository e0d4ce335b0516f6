"""Incidents: a ticket linked to an incident, its priority and its resolution."""

from __future__ import annotations

from datetime import datetime

from soporte.policy import SUPPORT_PRIORITIES, Kind, Visibility
from soporte.policy.incidents import (
    IncidentLinkedSignal,
    IncidentPrioritySignal,
    IncidentResolvedSignal,
)
from soporte.policy.names import MailTemplate, TicketSignal
from soporte.policy.ticket.journal import _log, _notify
from soporte.policy.ticket.requirement import _ignore_signal
from soporte.policy.ticket.sla_clock import _record_first_response
from soporte.policy.ticket.state import (
    SYSTEM,
    FlowEvent,
    TicketState,
    client_recipients,
    is_open,
    iso,
)
from soporte.policy.ticket.support import _resolve, _set_priority


def incident_linked(state: TicketState, signal: IncidentLinkedSignal, now: datetime) -> int | None:
    """The ticket was linked to an incident: its view carries the id from now on, and an
    internal log line says so. Applied once per incident (None for a repeat)."""
    key = f"{TicketSignal.INCIDENT_LINKED}:{signal.incident_id}"
    if key in state.incident_signals_seen:
        return None
    state.incident_signals_seen.append(key)
    state.incident_id = signal.incident_id
    _log(
        state,
        now,
        FlowEvent.INCIDENT_LINKED,
        actor=signal.actor or SYSTEM,
        body=f"Vinculada al incidente {signal.incident_id}: {signal.title}",
        visibility=Visibility.INTERNAL,
        data={"incident_id": signal.incident_id},
    )
    return state.last_seq


def incident_priority(
    state: TicketState, signal: IncidentPrioritySignal, now: datetime
) -> int | None:
    """The incident spans several clients: this support ticket becomes P1, its due instants
    recomputed from the SLA start as for change_priority. Applied once per incident (None
    for a repeat); a ticket that is not an open support ticket only logs it."""
    key = f"{TicketSignal.INCIDENT_PRIORITY}:{signal.incident_id}"
    if key in state.incident_signals_seen:
        return None
    state.incident_signals_seen.append(key)
    state.incident_id = signal.incident_id
    data: dict[str, object] = {"incident_id": signal.incident_id}
    if state.input.kind is not Kind.SUPPORT or not is_open(state):
        why = f"la solicitud es {state.input.kind.value} en estado {state.status.value}"
        return _ignore_signal(state, now, TicketSignal.INCIDENT_PRIORITY.value, why, data)
    if signal.priority not in SUPPORT_PRIORITIES:
        why = f"la prioridad {signal.priority.value} no es de soporte"
        return _ignore_signal(state, now, TicketSignal.INCIDENT_PRIORITY.value, why, data)
    if signal.priority is state.priority:
        why = f"la solicitud ya es {state.priority.value}"
        return _ignore_signal(state, now, TicketSignal.INCIDENT_PRIORITY.value, why, data)
    changed = _set_priority(state, now, signal.priority, signal.reason, SYSTEM, data)
    _notify(
        state,
        now,
        MailTemplate.INCIDENT_PRIORITY,
        client_recipients(state),
        changed,
        to_client=True,
    )
    _notify(state, now, MailTemplate.INCIDENT_PRIORITY, ["@assignee"], changed, to_client=False)
    return state.last_seq


def incident_resolved(
    state: TicketState, signal: IncidentResolvedSignal, now: datetime
) -> int | None:
    """The incident was resolved: so is this ticket, with the incident's kind and body (the
    client is told as for any resolution). Applied once (None for a repeat); a ticket already
    resolved or closed only logs it."""
    key = f"{TicketSignal.INCIDENT_RESOLVED}:{signal.incident_id}"
    if key in state.incident_signals_seen:
        return None
    state.incident_signals_seen.append(key)
    state.incident_id = signal.incident_id
    data: dict[str, object] = {"incident_id": signal.incident_id}
    if not is_open(state):
        why = f"la solicitud ya está {state.status.value}"
        return _ignore_signal(state, now, TicketSignal.INCIDENT_RESOLVED.value, why, data)
    actor = signal.actor or SYSTEM
    _record_first_response(state, now)
    _resolve(state, now, signal.kind, signal.body, actor, data)
    _notify(
        state,
        now,
        MailTemplate.INCIDENT_RESOLVED,
        client_recipients(state),
        {
            "resolution_kind": signal.kind.value,
            "body": signal.body,
            "incident_id": signal.incident_id,
            "reopen_until": iso(state.reopen_until),
        },
        to_client=True,
    )
    _notify(state, now, MailTemplate.RATING_INVITATION, client_recipients(state), to_client=True)
    return state.last_seq
