"""Workflows of the committee and incidents; the lead merges them into ALL_WORKFLOWS."""

from workflows.committee import CommitteeSessionWorkflow
from workflows.incident import IncidentWorkflow

EXTRA_WORKFLOWS: list[type] = [CommitteeSessionWorkflow, IncidentWorkflow]

__all__ = ["EXTRA_WORKFLOWS", "CommitteeSessionWorkflow", "IncidentWorkflow"]
