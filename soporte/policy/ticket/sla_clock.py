"""The SLA clock (POLICY §VII): its start, pauses, due instants and met/warned/breached flags."""

from __future__ import annotations

from datetime import datetime

from soporte.policy import Status, sla
from soporte.policy.calendar import Pause
from soporte.policy.ticket.state import (
    PauseSpan,
    SlaFlags,
    SlaInstants,
    Target,
    TicketState,
    has_sla_clock,
    utc,
)


def _start_clock(state: TicketState, now: datetime) -> None:
    state.sla_started_at = utc(now)
    state.resolution_counted_from = state.sla_started_at
    if state.status is Status.WAITING_ON_CLIENT:
        state.pauses.append(PauseSpan(paused_at=state.sla_started_at))


def _pauses_since(state: TicketState, start: datetime) -> list[Pause]:
    return [(p.paused_at, p.resumed_at) for p in state.pauses if p.paused_at >= start]


def sla_instants(state: TicketState) -> SlaInstants:
    """Warning and due instants of both targets; None where there is no clock or it is paused.

    Pauses that began once the first response was given (a request for information is
    one) do not move the first response's instants.
    """
    start = state.sla_started_at
    if not has_sla_clock(state) or start is None:
        return SlaInstants()
    resolution_start = state.resolution_counted_from or start
    responded = state.first_responded_at
    first_pauses = [
        pause for pause in _pauses_since(state, start) if responded is None or pause[0] < responded
    ]
    resolution_pauses = _pauses_since(state, resolution_start)
    first = _due_instants(state, start, first_pauses)
    if (resolution_start, resolution_pauses) == (start, first_pauses):
        second = first
    else:
        second = _due_instants(state, resolution_start, resolution_pauses)
    return SlaInstants(
        first_response_warning=first.first_response_warning,
        first_response_due=first.first_response_due,
        resolution_warning=second.resolution_warning,
        resolution_due=second.resolution_due,
    )


def _due_instants(state: TicketState, start: datetime, pauses: list[Pause]) -> sla.DueInstants:
    return sla.due_instants(
        state.priority,
        start,
        state.input.holidays,
        pauses,
        warning_ratio=state.input.policy.warning_ratio,
    )


def _flags(state: TicketState, target: Target) -> SlaFlags:
    if target is Target.FIRST_RESPONSE:
        return state.first_response_flags
    return state.resolution_flags


def _met_at(state: TicketState, target: Target) -> datetime | None:
    if target is Target.FIRST_RESPONSE:
        return state.first_responded_at
    return state.resolution.at if state.resolution is not None else None


def _reevaluate_flags(state: TicketState, now: datetime) -> None:
    """After the instants moved: a flag stays only if its new instant has passed.

    Instants that passed but are not flagged yet fire from the deadline loop at once.
    """
    instants = sla_instants(state)
    for target in Target:
        flags = _flags(state, target)
        warning, due = instants.warning(target), instants.due(target)
        flags.warned = flags.warned and warning is not None and warning <= now
        flags.breached = flags.breached and due is not None and due <= now


def _record_first_response(state: TicketState, now: datetime) -> None:
    if state.first_responded_at is None and has_sla_clock(state):
        state.first_responded_at = utc(now)
