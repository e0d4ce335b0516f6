"""Incidents: one failure, the tickets it caused (POLICY.md, "Kinds and priorities").

Pure (pydantic + stdlib). When the linked tickets belong to two or more distinct clients,
the incident and every linked ticket become P1; resolving the incident resolves them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from soporte.policy import Priority, ResolutionKind
from soporte.policy.refusals import Refusal, RefusalCode

# The ticket workflow's signals for incidents: soporte.policy.names.TicketSignal.
P1_THRESHOLD = 2
INCIDENT_RESOLUTION_KINDS = (
    ResolutionKind.SOLUTION,
    ResolutionKind.INSTRUCTIONS,
    ResolutionKind.ADVICE,
)


def incident_workflow_id(incident_id: str) -> str:
    return f"incident-{incident_id}"


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class IncidentInput(BaseModel):
    incident_id: str
    title: str
    opened_by: str
    opened_at: datetime | None = None


class LinkTicket(BaseModel):
    """Update `link`: add a ticket (its number and its client's NIT) to the incident."""

    number: int
    nit: str
    actor: str = ""


class ResolveIncident(BaseModel):
    """Update `resolve`: resolves the incident and every linked ticket."""

    kind: ResolutionKind
    body: str
    actor: str = ""


class LinkedTicket(BaseModel):
    number: int
    nit: str
    linked_at: datetime
    linked_by: str = ""
    # The ticket was told to become P1 (sent once).
    p1_signalled: bool = False


class IncidentResolution(BaseModel):
    kind: ResolutionKind
    body: str
    at: datetime
    by: str


class IncidentView(BaseModel):
    incident_id: str
    title: str
    status: IncidentStatus = IncidentStatus.OPEN
    # P1 once the tickets belong to two or more clients; None before that.
    priority: Priority | None = None
    opened_by: str
    opened_at: datetime
    tickets: list[LinkedTicket] = Field(default_factory=list)
    resolution: IncidentResolution | None = None
    # Grows with every change: a projection never overwrites a newer one.
    version: int = 0


class IncidentLinkedSignal(BaseModel):
    """Signal `incident_linked` to `ticket-<number>`: the ticket belongs to the incident
    (its view shows the id, its log an internal line), whatever the incident's priority."""

    incident_id: str
    title: str
    actor: str = ""  # who linked it, as in LinkTicket
    at: datetime


class IncidentPrioritySignal(BaseModel):
    """Signal `incident_priority` to `ticket-<number>`: the ticket becomes `priority` (P1),
    with `reason` in its log; due instants are recomputed from the SLA start."""

    incident_id: str
    priority: Priority = Priority.P1
    reason: str
    at: datetime


class IncidentResolvedSignal(BaseModel):
    """Signal `incident_resolved` to `ticket-<number>`: resolve the ticket with kind and body
    (the client is told as for any resolution)."""

    incident_id: str
    kind: ResolutionKind
    body: str
    actor: str
    at: datetime


def distinct_clients(tickets: Iterable[LinkedTicket | LinkTicket]) -> set[str]:
    return {ticket.nit.strip() for ticket in tickets}


def is_multi_client(tickets: Iterable[LinkedTicket | LinkTicket]) -> bool:
    return len(distinct_clients(tickets)) >= P1_THRESHOLD


def link_problem(view: IncidentView, link: LinkTicket) -> Refusal | None:
    if view.status is IncidentStatus.RESOLVED:
        message = f"incident {view.incident_id} is resolved: no ticket can be linked"
        return Refusal(RefusalCode.ALREADY_RESOLVED, message)
    if any(ticket.number == link.number for ticket in view.tickets):
        message = f"ticket {link.number} is already linked to incident {view.incident_id}"
        return Refusal(RefusalCode.ALREADY_LINKED, message)
    if not link.nit.strip():
        return Refusal(RefusalCode.REQUIRED, "required", "nit")
    return None


def resolve_problem(view: IncidentView, command: ResolveIncident) -> Refusal | None:
    if view.status is IncidentStatus.RESOLVED:
        return Refusal(
            RefusalCode.ALREADY_RESOLVED, f"incident {view.incident_id} is already resolved"
        )
    if command.kind not in INCIDENT_RESOLUTION_KINDS:
        kinds = ", ".join(kind.value for kind in INCIDENT_RESOLUTION_KINDS)
        return Refusal(RefusalCode.NOT_ALLOWED, f"use one of {kinds}", "kind")
    if not command.body.strip():
        return Refusal(RefusalCode.REQUIRED, "required", "body")
    return None


def p1_reason(view: IncidentView) -> str:
    count = len(distinct_clients(view.tickets))
    return f"incidente {view.incident_id} ({view.title}) afecta a {count} clientes"
