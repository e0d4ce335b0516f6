"""Every workflow the worker registers, in one list, and the runner they run in."""

from temporalio.worker import UnsandboxedWorkflowRunner

from workflows.committee import CommitteeSessionWorkflow
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow

ALL_WORKFLOWS: list[type] = [TicketWorkflow, CommitteeSessionWorkflow, IncidentWorkflow]

# The worker runs workflows outside the SDK's sandbox. The sandbox re-imports a workflow's
# module for every run unless it passes through, and code that passes through is not
# checked call by call, so with our modules passed through (as before, issue 15's first
# slice) it checked nothing of ours and still cost the worker about a fifth of its CPU per
# new ticket (bench/open_tickets.py, bench/commands.py) and 10-20 KB per cached run. What
# keeps the workflows deterministic instead: they import only stdlib (minus I/O, clocks and
# randomness), temporalio, pydantic and soporte.policy (import-linter, `make lint`); no
# clock call but workflow.now() (tests/test_architecture.py); the workflow tests run under
# the SDK's full default sandbox, which does check every call; and every committed history
# replays under both the default sandbox and this runner (tests/test_replay.py).
WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()
