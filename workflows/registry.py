"""Every workflow the worker registers, in one list, and the sandbox they run in."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.committee import CommitteeSessionWorkflow
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow

ALL_WORKFLOWS: list[type] = [TicketWorkflow, CommitteeSessionWorkflow, IncidentWorkflow]

# The sandbox still guards what workflow code calls (no clock, randomness or I/O), but our
# own workflow modules, like the pure `soporte` modules they use, are imported once per
# process instead of once per workflow run: re-importing `workflows.ticket` (compiling and
# defining the class and its handlers) was about a fifth of the worker's CPU per ticket
# (bench/open_tickets.py). They keep no module-level state, so nothing leaks between runs.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
)
