"""Every workflow the worker registers, in one list."""

from workflows.committee import CommitteeSessionWorkflow
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow

ALL_WORKFLOWS: list[type] = [TicketWorkflow, CommitteeSessionWorkflow, IncidentWorkflow]
