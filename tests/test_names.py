"""The names crossing the workflow boundary are written once (soporte.policy.names)."""

from __future__ import annotations

import re
from pathlib import Path

from temporalio.workflow import _Definition

from soporte.policy.names import (
    Activity,
    CommitteeUpdate,
    IncidentUpdate,
    Query,
    TicketSignal,
    TicketUpdate,
    WorkflowType,
)
from workflows.committee import CommitteeSessionWorkflow
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow

ROOT = Path(__file__).resolve().parents[1]


def test_the_workflows_declare_exactly_the_named_handlers() -> None:
    ticket = _Definition.from_class(TicketWorkflow)
    assert ticket is not None and ticket.name == WorkflowType.TICKET
    assert set(ticket.signals) == set(TicketSignal)
    assert set(ticket.updates) == set(TicketUpdate)
    assert set(ticket.queries) == set(Query)
    committee = _Definition.from_class(CommitteeSessionWorkflow)
    assert committee is not None and committee.name == WorkflowType.COMMITTEE_SESSION
    assert set(committee.updates) == set(CommitteeUpdate) and set(committee.queries) == set(Query)
    incident = _Definition.from_class(IncidentWorkflow)
    assert incident is not None and incident.name == WorkflowType.INCIDENT
    assert set(incident.updates) == set(IncidentUpdate) and set(incident.queries) == set(Query)


def test_the_worker_registers_every_named_activity() -> None:
    from temporalio.activity import _Definition as ActivityDefinition

    from activities import TicketActivities
    from activities.committee import CommitteeActivities
    from activities.incidents import IncidentActivities

    names = set()
    for kind in (TicketActivities, CommitteeActivities, IncidentActivities):
        for attribute in vars(kind).values():
            found = ActivityDefinition.from_callable(attribute) if callable(attribute) else None
            if found is not None:
                names.add(found.name)
    assert names == set(Activity)


LITERAL_NAME = re.compile(
    r"\.(query|signal|execute_update|start_update)\(\s*[\"']|run_update\([^)]*?, [\"']"
)


def test_no_door_names_a_workflow_message_by_a_string_literal() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("soporte", "api", "activities", "workflows")
        for path in (ROOT / folder).rglob("*.py")
        if LITERAL_NAME.search(path.read_text())
    ]
    assert offenders == []
