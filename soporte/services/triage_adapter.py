"""The system's priority suggestion and the missing information of a request.

Delegates to `soporte.triage`; this module only shapes the request for it.
"""

from __future__ import annotations

from soporte.policy import Channel, Kind, Priority
from soporte.services.schemas import TicketCreate


def system_priority(data: TicketCreate) -> Priority:
    try:
        from soporte.triage import suggest_priority
    except ImportError:  # pragma: no cover - until triage lands
        return _by_kind(data.kind)
    text = f"{data.subject}\n{data.description}"
    return suggest_priority(data.kind, data.category, text)


def _by_kind(kind: Kind) -> Priority:
    return {Kind.REQUIREMENT: Priority.REQUIREMENT, Kind.ADVISORY: Priority.ADVISORY}.get(
        kind, Priority.P3
    )


def missing_info(data: TicketCreate, channel: Channel) -> list[str]:
    missing = []
    if not data.expected_result.strip():
        missing.append("expected_result")
    if channel == Channel.EMAIL and not (data.business_impact or "").strip():
        missing.append("business_impact")
    return missing
