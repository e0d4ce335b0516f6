"""Every workflow the worker registers, in one list, and the sandbox they run in."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.committee import CommitteeSessionWorkflow
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow

ALL_WORKFLOWS: list[type] = [TicketWorkflow, CommitteeSessionWorkflow, IncidentWorkflow]

# Our workflow modules pass through the sandbox, like the `soporte.policy` modules they use:
# imported once per worker process instead of once per workflow run (re-importing
# `workflows.ticket`, compiling it and defining the class and its handlers, was about a
# fifth of the worker's CPU per ticket, bench/open_tickets.py). They keep no module-level
# state, so nothing leaks between runs. The price: calls in passed-through code are not
# checked one by one, so their determinism rests on the rule that workflow modules import
# only stdlib, temporalio, pydantic and soporte.policy (enforced by import-linter, `make
# lint`), and on the tests: the workflow tests run under the full default sandbox, and
# every committed history replays under both runners.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
)
