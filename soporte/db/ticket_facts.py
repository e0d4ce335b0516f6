"""The read model's SLA columns of a ticket (soporte.policy.sla_report.SlaFacts), as the
projection writes them and migration 0008 fills them for the tickets already there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from soporte.holiday_dates import holidays_around
from soporte.policy.sla_report import search_text, sla_facts
from soporte.policy.tickets import LogEvent, TicketView


def facts_row(view: TicketView, events: Sequence[LogEvent]) -> dict[str, Any]:
    """The queue's and the SLA report's columns (soporte.policy.sla_report), from the view and the
    ticket's log. Holidays as the ticket got them at intake (soporte.services.intake)."""
    facts = sla_facts(view, events, holidays_around(view.created_at))
    row = asdict(facts)
    row["first_response_outcome"] = facts.first_response_outcome.value
    row["resolution_outcome"] = facts.resolution_outcome.value
    row["category"] = view.category[:100]
    row["search_text"] = search_text(view.subject, view.description)
    return row
