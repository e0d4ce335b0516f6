"""Helpers of the ticket-flow tests (requirements, advisories, incidents): states built as
the workflow builds them, commands and signals, and the refusal of an update."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from soporte.policy import Kind, Priority, ResolutionKind
from soporte.policy.calendar import BusinessCalendar
from soporte.policy.committee import (
    CommitteeDecisionSignal,
    DecisionKind,
)
from soporte.policy.incidents import (
    IncidentPrioritySignal,
    IncidentResolvedSignal,
)
from soporte.policy.ticket import (
    CommandRefused,
    DeadlineAction,
    TicketState,
    acknowledge,
    apply_deadline,
    auto_assign,
    next_deadline,
    send_booking_link,
)
from soporte.policy.tickets import (
    BookingCommand,
    LogEvent,
    TicketView,
)
from tests.workflow_support import (
    ENGINEER,
    HOLIDAYS,
    REPORTER,
    bogota,
    ticket_input,
)
from workflows.ticket import TicketWorkflow

Handle = WorkflowHandle[TicketWorkflow, TicketView]


CALENDAR = BusinessCalendar(HOLIDAYS)


# Wednesday 2026-12-02 09:00 Bogota: an ordinary business day.
WEDNESDAY = bogota(2026, 12, 2, 9, 0)


def registered(kind: Kind, start: datetime = WEDNESDAY, **fields: Any) -> TicketState:
    """What the workflow does at registration (the booking link is the patched step)."""
    priority = {
        Kind.SUPPORT: Priority.P3,
        Kind.REQUIREMENT: Priority.REQUIREMENT,
        Kind.ADVISORY: Priority.ADVISORY,
    }[kind]
    fields.setdefault("priority", priority)
    state = TicketState.initial(ticket_input(registered_at=start, kind=kind, **fields))
    auto_assign(state, ENGINEER, start)
    acknowledge(state, start)
    send_booking_link(state, start)
    return state


def decision(
    kind: DecisionKind,
    session: str = "committee-session-1",
    estimated: date | None = date(2027, 1, 15),
    reason: str | None = None,
) -> CommitteeDecisionSignal:
    return CommitteeDecisionSignal(
        number=0,
        decision=kind,
        estimated_delivery=estimated if kind is DecisionKind.ACCEPT else None,
        reason=reason,
        session_id=session,
        decided_by="comite@btw.com.co",
        decided_at=WEDNESDAY,
    )


def p1_signal(incident: str = "inc-1") -> IncidentPrioritySignal:
    return IncidentPrioritySignal(
        incident_id=incident, reason=f"incidente {incident} afecta a 2 clientes", at=WEDNESDAY
    )


def resolved_signal(incident: str = "inc-1") -> IncidentResolvedSignal:
    return IncidentResolvedSignal(
        incident_id=incident,
        kind=ResolutionKind.SOLUTION,
        body="Se restableció el servicio de la DIAN",
        actor=ENGINEER,
        at=WEDNESDAY,
    )


def booking(start: datetime, taken: list[datetime] | None = None) -> BookingCommand:
    return BookingCommand(actor_email=REPORTER, start=start, taken=taken or [])


def utc_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def in_log_order(notifications: list[Any], log: list[LogEvent]) -> list[Any]:
    """Sends run concurrently: the notifications in the order of their log lines (each
    names its notification_id)."""
    seq = {event.data.get("notification_id"): event.seq for event in log}
    return sorted(notifications, key=lambda n: seq[n.id])


def pending_types(state: TicketState) -> list[str]:
    return [event.type for event in state.pending_events]


def outbox(state: TicketState, template: str) -> list[Any]:
    return [n for n in state.outbox if n.template == template]


def run_deadlines_until(
    state: TicketState, until: datetime
) -> list[tuple[DeadlineAction, datetime]]:
    done = []
    now = state.updated_at
    while (deadline := next_deadline(state, now)) is not None and deadline.at <= until:
        now = max(now, deadline.at)
        apply_deadline(state, deadline)
        done.append((deadline.action, deadline.at))
    return done


def refused(check: Any, state: TicketState, command: Any, now: datetime) -> CommandRefused:
    before = state.model_copy(deep=True)
    with pytest.raises(CommandRefused) as caught:
        check(state, command, now)
    assert state == before
    return caught.value


async def refusal(update: object) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await update  # type: ignore[misc]
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


def advisory(registered_at: datetime) -> Any:
    return ticket_input(
        registered_at=registered_at,
        kind=Kind.ADVISORY,
        priority=Priority.ADVISORY,
        subject="Capacitación en nómina electrónica",
    )


def requirement(registered_at: datetime | None = None) -> Any:
    return ticket_input(
        registered_at=registered_at or datetime.now(UTC),
        kind=Kind.REQUIREMENT,
        priority=Priority.REQUIREMENT,
        subject="Nuevo reporte de cartera",
    )
