"""Temporal workflows of the product; the worker registers ALL_WORKFLOWS."""

from workflows.extra import EXTRA_WORKFLOWS, CommitteeSessionWorkflow, IncidentWorkflow
from workflows.ticket import TicketWorkflow

ALL_WORKFLOWS: list[type] = [TicketWorkflow, *EXTRA_WORKFLOWS]

__all__ = ["ALL_WORKFLOWS", "CommitteeSessionWorkflow", "IncidentWorkflow", "TicketWorkflow"]
