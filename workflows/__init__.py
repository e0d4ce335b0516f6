"""Temporal workflows of the product; the worker registers ALL_WORKFLOWS."""

from workflows.ticket import TicketWorkflow

ALL_WORKFLOWS: list[type] = [TicketWorkflow]

__all__ = ["ALL_WORKFLOWS", "TicketWorkflow"]
