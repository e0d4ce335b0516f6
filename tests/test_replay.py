"""Recorded histories of every ticket path replay on today's workflow code.

A change that would make a running ticket take another path on replay (a nondeterministic
change) fails here before it reaches a worker. The histories live in one folder per patch:
`tests/histories/<folder>/<path>.json`, the folder naming the patch the history proves
(`before-<patch>`: recorded before it, so tickets started then keep their old path;
`<patch>`: recorded with it). A committed history is never regenerated nor overwritten
(the recording helper refuses); a new patch records its paths into a new folder:

    SOPORTE_WRITE_HISTORIES=<new-patch> .venv/bin/pytest tests/test_ticket_workflow.py

then list them below.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflow_support import HISTORIES, HistoryExists, history_path, write_history
from workflows.registry import ALL_WORKFLOWS, WORKFLOW_RUNNER

TICKET_PATHS_BEFORE_LOCAL_WRITES = (
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
    # Issue 6 (tests/test_ticket_requirements.py, _advisories.py, _incidents.py).
    "requirement_accepted_delivered",
    "advisory_booked_reminded_done",
    "incident_p1_then_resolved",
)
RECORDED_AGAIN_WITH_EACH_PATCH = (
    "p2_breached_then_resolved_closed",
    "reopened_rated_closed",
    "continued_as_new",
    "updates_and_refusals",
    "advisory_booked_reminded_done",
)
FOLDERS: dict[str, tuple[str, ...]] = {
    # Recorded before issue 6: an advisory registered without a booking link (the patch
    # issue6-advisory-booking-link keeps it that way on replay).
    "before-issue6-advisory-booking-link": ("advisory_registered",),
    # Recorded before the patch local-db-writes: tickets started then keep their remote
    # activities (the advisory here has the booking link).
    "before-local-db-writes": TICKET_PATHS_BEFORE_LOCAL_WRITES,
    # With local-db-writes (the pick and the projections as local activities), before
    # batched-mail (one delivery activity per notification).
    "local-db-writes": RECORDED_AGAIN_WITH_EACH_PATCH,
    # With batched-mail too (the notifications owed at one moment in one activity).
    "batched-mail": RECORDED_AGAIN_WITH_EACH_PATCH,
    # A client's email with an attachment not kept, and the notice to its sender.
    "refused-attachments-notice": ("client_reply_with_attachments_not_kept",),
    # The incident workflow (tests/test_incident_workflow.py, three tickets of two clients,
    # then resolved): before the patch incident-linked-signal, and with it (each linked
    # ticket is told its incident).
    "before-incident-linked-signal": ("incident_three_tickets",),
    "incident-linked-signal": ("incident_three_tickets",),
    # Issue 16: a message in the client's name that nothing proves (verified=False) is
    # logged for staff and ends no wait (the patch unverified-client-message).
    "unverified-client-message": ("unverified_message_then_verified_reply",),
    # Issue 14: an engineer's reply during the assignment pick, held until the
    # acknowledgement went out first (the patch ack-first); every history above was
    # recorded before it and keeps sending as it did.
    "ack-first": (
        "reply_during_registration_ack_first",
        "reply_with_the_start_ack_first",  # the reply right after the start
        "reply_in_the_first_task_ack_first",  # update-with-start: before `run` starts
    ),
    # The ticket upserts its search attributes and memo as its state and priority move
    # (tests/test_ticket_visibility.py, on the dev server); every history above was
    # recorded before the patch and replays without them.
    "search-attributes": ("reply_priority_resolved",),
    # Issue 15: the deadline loop keeps its timer while the next deadline stays the same
    # (the patch lean-steps); every history above restarts it on each event.
    "lean-steps": (
        *RECORDED_AGAIN_WITH_EACH_PATCH,
        "client_reply_on_day_four",
        "second_message_keeps_the_timer",
    ),
    # Issue 15: the API's and the portal's client message as the update post_message
    # (a new handler: the histories above never call it).
    "post-message": ("client_message_posted",),
    # Issue 15: mail as a local activity of the task that owes it, each notification named
    # from its step's cause (the patch local-mail); every history above queues an activity
    # per delivery and names mail by seq.
    "local-mail": (
        *RECORDED_AGAIN_WITH_EACH_PATCH,
        "client_reply_on_day_four",
        "second_message_keeps_the_timer",
        "client_message_posted",
        "client_message_mailed_in_its_task",
        "worker_killed_mid_ticket",
    ),
    # Issue 15: the memo upserted once, a move upserting state and priority only (the patch
    # memo-once, on the dev server); every history above upserts both on each move.
    "memo-once": ("reply_priority_resolved",),
    # Issue 15: a step's projection and its mail in one local activity, write_ticket (the
    # patch projection-with-mail); every history above runs two.
    "projection-with-mail": (
        "advisory_booked_reminded_done",
        "client_message_mailed_in_its_task",
        "client_message_posted",
        "client_reply_on_day_four",
        "client_reply_with_attachments_not_kept",
        "continued_as_new",
        "no_reply_resolved_then_closed",
        "p2_breached_then_resolved_closed",
        "p3_christmas_resolution_breach",
        "priority_raised_to_p1",
        "reopened_rated_closed",
        "reply_during_registration_ack_first",
        "reply_in_the_first_task_ack_first",
        "requirement_pending_committee",
        "second_message_keeps_the_timer",
        "unverified_message_then_verified_reply",
        "updates_and_refusals",
        "worker_killed_mid_ticket",
    ),
    # Issue 15: a mail write_ticket could not send goes out again in a queued activity (the
    # patch mail-retry-queued), not a local one that would hold the ticket's task.
    "mail-retry-queued": ("mail_failed_then_retried_queued",),
}


def history_files() -> list[Path]:
    return sorted(HISTORIES.glob("*/*.json"))


def test_every_path_has_a_recorded_history_in_its_patch_folder() -> None:
    recorded = sorted(str(path.relative_to(HISTORIES)) for path in history_files())
    expected = sorted(
        f"{folder}/{name}.json" for folder, names in FOLDERS.items() for name in names
    )
    assert recorded == expected
    assert list(HISTORIES.glob("*.json")) == [], "every history lives in its patch folder"


def test_the_recording_helper_refuses_to_overwrite_a_committed_history(tmp_path: Path) -> None:
    committed = history_files()[0]
    before = committed.read_bytes()
    with pytest.raises(HistoryExists):
        write_history(committed, "{}")
    assert committed.read_bytes() == before
    fresh = tmp_path / "new-patch" / "path.json"
    write_history(fresh, "{}")
    assert fresh.read_text() == "{}"
    with pytest.raises(ValueError, match="names the folder"):
        history_path("1", "p2_breached_then_resolved_closed")


@pytest.mark.parametrize("runner", ["default sandbox", "worker's runner"])
@pytest.mark.parametrize("path", history_files(), ids=lambda path: str(path.relative_to(HISTORIES)))
async def test_a_recorded_history_replays(path: Path, runner: str) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=pydantic_data_converter,
        **({"workflow_runner": WORKFLOW_RUNNER} if runner == "worker's runner" else {}),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
