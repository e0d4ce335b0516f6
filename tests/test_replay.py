"""Recorded histories of every ticket path replay on today's workflow code.

A change that would make a running ticket take another path on replay (a nondeterministic
change) fails here before it reaches a worker. Regenerate the histories, when a change is
meant to be incompatible and versioned, with:

    SOPORTE_WRITE_HISTORIES=1 .venv/bin/pytest tests/test_ticket_workflow.py
    SOPORTE_WRITE_HISTORIES=1 .venv/bin/pytest tests/test_ticket_issue6.py

advisory_registered_before_issue6 was recorded with the code before issue 6 and cannot be
regenerated: it proves the patch `issue6-advisory-booking-link` keeps old advisories as
they were. Likewise the histories without the suffix `_local_writes` were recorded before
the patch `local-db-writes`: do not regenerate them; they prove that tickets started then
keep their remote activities. Likewise the `_local_writes` ones were recorded before the
patch `batched-mail` (one delivery activity per notification). Record new-path histories
under a new suffix (now `_batched_mail`) and restore the others from git.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflow_support import HISTORIES
from workflows.registry import ALL_WORKFLOWS, WORKFLOW_RUNNER

PATHS = (
    "p2_breached_then_resolved_closed",
    "p3_christmas_resolution_breach",
    "no_reply_resolved_then_closed",
    "client_reply_on_day_four",
    "reopened_rated_closed",
    "priority_raised_to_p1",
    "requirement_pending_committee",
    "updates_and_refusals",
    "continued_as_new",
    "worker_killed_mid_ticket",
    # Recorded before issue 6: an advisory registered without a booking link (the patch
    # issue6-advisory-booking-link keeps it that way on replay).
    "advisory_registered_before_issue6",
    # Issue 6 (tests/test_ticket_issue6.py).
    "requirement_accepted_delivered",
    "advisory_booked_reminded_done",
    "incident_p1_then_resolved",
    # Recorded with the patch local-db-writes (the pick and the projections as local
    # activities); every history above was recorded before it and keeps replaying.
    "p2_breached_then_resolved_closed_local_writes",
    "reopened_rated_closed_local_writes",
    "continued_as_new_local_writes",
    "updates_and_refusals_local_writes",
    "advisory_booked_reminded_done_local_writes",
    # Recorded with the patch batched-mail too (the notifications owed at one moment in
    # one deliver_notifications activity); those above send them one activity each.
    "p2_breached_then_resolved_closed_batched_mail",
    "reopened_rated_closed_batched_mail",
    "continued_as_new_batched_mail",
    "updates_and_refusals_batched_mail",
    "advisory_booked_reminded_done_batched_mail",
    # A client's email with an attachment not kept: the patch refused-attachments-notice
    # and the notice to its sender.
    "client_reply_with_attachments_not_kept",
    # The incident workflow (tests/test_incident_workflow.py, three tickets of two clients,
    # then resolved): before the patch incident-linked-signal, and with it (each linked
    # ticket is told its incident).
    "incident_three_tickets_before_link_signal",
    "incident_three_tickets_each_told",
    # Issue 14: an engineer's reply during the assignment pick, held until the
    # acknowledgement went out first (the patch ack-first); every history above was
    # recorded before it and keeps sending as it did.
    "reply_during_registration_ack_first",
    "reply_with_the_start_ack_first",  # the reply right after the start
    "reply_in_the_first_task_ack_first",  # update-with-start: before `run` starts
)


def history_files() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def test_every_path_has_a_recorded_history() -> None:
    assert sorted(path.stem for path in history_files()) == sorted(PATHS)


@pytest.mark.parametrize("runner", ["default sandbox", "worker's runner"])
@pytest.mark.parametrize("path", history_files(), ids=lambda path: path.stem)
async def test_a_recorded_history_replays(path: Path, runner: str) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=pydantic_data_converter,
        **({"workflow_runner": WORKFLOW_RUNNER} if runner == "worker's runner" else {}),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
