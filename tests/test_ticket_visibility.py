"""Search attributes and memo on ticket workflows (patch `search-attributes`): the Temporal
UI's list can filter tickets by number, client NIT, priority and state, and shows the
subject; the attributes are registered idempotently at worker start."""

from __future__ import annotations

import asyncio
import uuid

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.common import TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from soporte.policy import Priority, ResolutionKind
from soporte.policy.tickets import EngineerMessage, PriorityCommand, ResolveCommand
from soporte.search_attributes import cli_flags, ensure_search_attributes, manual_commands
from tests.workflow_support import (
    ENGINEER,
    Recorder,
    keep_history,
    start_ticket,
    ticket_input,
)
from workflows.ticket import TicketWorkflow
from workflows.visibility import KEYS


def shown(attributes: TypedSearchAttributes) -> tuple[object, object]:
    return attributes.get(KEYS["TicketPriority"]), attributes.get(KEYS["TicketStatus"])


async def test_search_attributes_and_memo_follow_the_ticket(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """On the dev server (the test server keeps no search attributes to describe)."""
    recorder = Recorder()
    ticket = ticket_input(priority=Priority.P3, subject="Sin PDF en FE-12")
    async with recorder.worker(dev_env.client, task_queue):
        handle = await start_ticket(dev_env.client, task_queue, ticket)
        # The first workflow task (its upsert with it) completes after its local projection.
        for _ in range(100):
            first = await handle.describe()
            if first.typed_search_attributes.get(KEYS["TicketNumber"]) is not None:
                break
            await asyncio.sleep(0.05)
        await handle.execute_update(
            TicketWorkflow.reply, EngineerMessage(author_email=ENGINEER, body="Revisando")
        )
        raise_to_p2 = PriorityCommand(actor_email=ENGINEER, priority=Priority.P2, reason="DIAN")
        await handle.execute_update(TicketWorkflow.change_priority, raise_to_p2)
        working = await handle.describe()
        done = ResolveCommand(actor_email=ENGINEER, kind=ResolutionKind.SOLUTION, body="Listo")
        await handle.execute_update(TicketWorkflow.resolve, done)
        resolved = await handle.describe()
        await keep_history(handle, "reply_priority_resolved")

    attributes = first.typed_search_attributes
    assert attributes.get(KEYS["TicketNumber"]) == ticket.number
    assert attributes.get(KEYS["ClientNit"]) == ticket.nit
    assert (attributes.get(KEYS["TicketPriority"]), attributes.get(KEYS["TicketStatus"])) == (
        "P3",
        "open",
    )
    memo = await first.memo()
    assert memo["subject"] == "Sin PDF en FE-12" and memo["number"] == ticket.number
    assert memo["client_nit"] == ticket.nit
    changed = working.typed_search_attributes
    assert (changed.get(KEYS["TicketPriority"]), changed.get(KEYS["TicketStatus"])) == (
        "P2",
        "in_progress",
    )
    assert resolved.typed_search_attributes.get(KEYS["TicketStatus"]) == "resolved"
    # The memo holds what does not change; state and priority are the attributes only
    # (patch memo-once: one upsert a move, not two).
    assert await resolved.memo() == {
        "number": ticket.number,
        "client_nit": ticket.nit,
        "client": ticket.client_name,
        "subject": "Sin PDF en FE-12",
    }
    events = (await handle.fetch_history()).events
    memo_upserts = [
        e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED
    ]
    assert len(memo_upserts) == 1
    upserted = [
        sorted(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
        for e in events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    ours = [keys for keys in upserted if keys != ["TemporalChangeVersion"]]  # the SDK's, a patch
    moved = ["TicketPriority", "TicketStatus"]
    assert ours == [["ClientNit", "TicketNumber", *moved], moved, moved, moved]

    query = f"TicketNumber = {ticket.number} AND TicketStatus = 'resolved'"

    async def listed() -> list[str]:
        return [w.id async for w in dev_env.client.list_workflows(query)]

    found: list[str] = []
    for _ in range(100):  # visibility follows the upsert shortly after
        if (found := await listed()) == [handle.id]:
            break
        await asyncio.sleep(0.1)
    assert found == [handle.id]


async def test_registration_is_idempotent(dev_env: WorkflowEnvironment) -> None:
    # The session's dev server was started with the flags: nothing is missing.
    assert await ensure_search_attributes(dev_env.client, "default") == []
    assert await ensure_search_attributes(dev_env.client, "default") == []
    assert cli_flags() == [
        "TicketNumber=Int",
        "ClientNit=Keyword",
        "TicketPriority=Keyword",
        "TicketStatus=Keyword",
    ]
    assert "--name TicketStatus --type Keyword" in manual_commands("soporte")


async def test_two_workers_starting_at_once_both_register_them(
    dev_env: WorkflowEnvironment,
) -> None:
    """`soporte up` starts its workers together on a new server (its dev server has no
    `--search-attribute` flags): all of them add the attributes, and none fails (the dev
    server takes a second add of the same attribute with the same type)."""
    namespace = f"race-{uuid.uuid4().hex[:8]}"
    await dev_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace,
            workflow_execution_retention_period=Duration(seconds=86_400),
        )
    )
    added = await asyncio.gather(
        *(ensure_search_attributes(dev_env.client, namespace) for _ in range(3))
    )
    assert sorted(added[0]) == sorted(cli_name.split("=")[0] for cli_name in cli_flags())
    assert await ensure_search_attributes(dev_env.client, namespace) == []
