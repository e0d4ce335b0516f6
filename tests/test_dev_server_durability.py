"""The embedded server as `soporte up` runs it keeps every acknowledged start across kill -9."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from launcher.stack import dev_server_args, temporal_binary
from soporte.temporal_client import quiet_runtime
from tests.stack_support import free_port


async def connect(port: int) -> Client:
    for _ in range(600):
        try:
            return await Client.connect(
                f"127.0.0.1:{port}", data_converter=pydantic_data_converter, runtime=quiet_runtime()
            )
        except RuntimeError:
            await asyncio.sleep(0.1)
    raise AssertionError("the dev server did not answer")


def start_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    args = dev_server_args(temporal_binary(), db, port, None)
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_acknowledged_workflows_survive_a_killed_server(tmp_path: Path):
    db, port = tmp_path / "temporal.db", free_port()
    server = start_server(db, port)
    try:
        client = await connect(port)
        ids = [f"durable-{i}" for i in range(40)]
        await asyncio.gather(
            *(client.start_workflow("Nobody", id=wid, task_queue="nobody") for wid in ids)
        )
        await client.get_workflow_handle(ids[0]).signal("ping", "after start")
        server.send_signal(signal.SIGKILL)
        server.wait()

        server = start_server(db, port)
        client = await connect(port)
        for wid in ids:
            description = await client.get_workflow_handle(wid).describe()
            assert description.id == wid
        history = await client.get_workflow_handle(ids[0]).fetch_history()
        assert any(
            event.HasField("workflow_execution_signaled_event_attributes")
            for event in history.events
        )
    finally:
        server.terminate()
        server.wait()
