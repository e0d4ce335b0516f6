"""Requirements: the weekly committee's decision and the delivery (POLICY §VI.d)."""

from __future__ import annotations

from datetime import date, datetime

from soporte.policy import Kind, ResolutionKind, Status, Visibility
from soporte.policy.committee import CommitteeDecisionSignal, DecisionKind
from soporte.policy.names import MailTemplate
from soporte.policy.ticket.journal import _log, _notify, _set_status
from soporte.policy.ticket.state import (
    SYSTEM,
    CommandRefused,
    FlowEvent,
    TicketState,
    client_recipients,
    iso,
)
from soporte.policy.ticket.support import _resolve
from soporte.policy.tickets import DeliverCommand, EventType

DELIVERED_TEXT = "Requerimiento entregado."
REJECTED_TEXT = "Rechazado por el Comité Operativo."
ADVISORY_DONE_TEXT = "Sesión de asesoría realizada."


def _ignore_signal(
    state: TicketState, now: datetime, signal: str, why: str, data: dict[str, object]
) -> int:
    """A signal that does not apply here cannot be refused: one internal log line says why."""
    _log(
        state,
        now,
        EventType.INTERNAL_NOTE,
        visibility=Visibility.INTERNAL,
        body=f"{signal} ignorado: {why}",
        data={"signal": signal, "ignored": why, **data},
    )
    return state.last_seq


def committee_decision(
    state: TicketState, decision: CommitteeDecisionSignal, now: datetime
) -> int | None:
    """The committee decided this requirement (a signal: never refused).

    accept: planned with its estimated delivery; reject: resolved (kind rejected) with the
    reason, and the usual reopen window then closing; defer: stays pending_committee. Each
    (session, decision) is applied once; returns None for a repeat. Only a requirement that
    is pending_committee is decided; anything else is logged, internally, and ignored.
    """
    key = f"{decision.session_id}:{decision.decision.value}"
    if key in state.committee_decisions_seen:
        return None
    state.committee_decisions_seen.append(key)
    actor = decision.decided_by or SYSTEM
    data: dict[str, object] = {
        "decision": decision.decision.value,
        "session_id": decision.session_id,
        "estimated_delivery": _date(decision.estimated_delivery),
        "reason": decision.reason,
        "decided_at": iso(decision.decided_at),
    }
    if state.input.kind is not Kind.REQUIREMENT or state.status is not Status.PENDING_COMMITTEE:
        why = f"la solicitud es {state.input.kind.value} en estado {state.status.value}"
        return _ignore_signal(state, now, "committee_decision", why, data)
    reason = (decision.reason or "").strip()
    if decision.decision is DecisionKind.DEFER:
        _log(
            state,
            now,
            FlowEvent.COMMITTEE_DECISION,
            actor=actor,
            visibility=Visibility.INTERNAL,
            body=reason,
            data=data,
        )
        return state.last_seq
    _log(state, now, FlowEvent.COMMITTEE_DECISION, actor=actor, body=reason, data=data)
    if decision.decision is DecisionKind.ACCEPT:
        state.estimated_delivery = decision.estimated_delivery
        _set_status(state, now, Status.PLANNED, actor)
        _notify(
            state,
            now,
            MailTemplate.COMMITTEE_ACCEPTED,
            client_recipients(state),
            {
                "estimated_delivery": _date(decision.estimated_delivery),
                "session_id": decision.session_id,
                "reason": decision.reason,
            },
            to_client=True,
        )
        return state.last_seq
    body = reason or REJECTED_TEXT
    _resolve(
        state,
        now,
        ResolutionKind.REJECTED,
        body,
        actor,
        {"session_id": decision.session_id},
    )
    _notify(
        state,
        now,
        MailTemplate.COMMITTEE_REJECTED,
        client_recipients(state),
        {
            "resolution_kind": ResolutionKind.REJECTED.value,
            "reason": body,
            "body": body,
            "session_id": decision.session_id,
            "reopen_until": iso(state.reopen_until),
        },
        to_client=True,
    )
    return state.last_seq


def _date(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def check_deliver(state: TicketState, command: DeliverCommand, now: datetime) -> None:
    if state.input.kind is not Kind.REQUIREMENT:
        raise CommandRefused(
            f"ticket #{state.input.number} is a {state.input.kind.value}: "
            "only a requirement is delivered"
        )
    if state.status is not Status.PLANNED:
        raise CommandRefused(
            f"ticket #{state.input.number} is {state.status.value}: only a requirement the "
            "committee accepted (planned) can be delivered"
        )


def deliver(state: TicketState, command: DeliverCommand, now: datetime) -> int:
    """An accepted requirement was delivered: resolved (kind delivered), the client told."""
    check_deliver(state, command, now)
    body = command.body.strip() or DELIVERED_TEXT
    _resolve(state, now, ResolutionKind.DELIVERED, body, command.actor_email, {})
    _notify(
        state,
        now,
        MailTemplate.REQUIREMENT_DELIVERED,
        client_recipients(state),
        {
            "resolution_kind": ResolutionKind.DELIVERED.value,
            "body": body,
            "estimated_delivery": _date(state.estimated_delivery),
            "reopen_until": iso(state.reopen_until),
        },
        to_client=True,
    )
    _notify(state, now, MailTemplate.RATING_INVITATION, client_recipients(state), to_client=True)
    return state.last_seq
