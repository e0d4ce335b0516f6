"""Several workers and API processes against one Temporal server and one database, as a
deployment beyond one machine runs them (tests/test_scale_out.py, bench/scale.py).

One file-backed dev server (launcher.stack.dev_server_args), then `soporte worker` and
`soporte api --port P` processes, each started alone with the same environment: the
Temporal address, the database URL, the admin token and one data dir (the mail secret,
the Maildir outbox and the attachments live there: README "Several workers and APIs").
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from launcher.stack import dev_server_args, temporal_binary
from soporte.settings import load_settings
from soporte.temporal_client import connect
from tests.stack_support import free_port

START_TIMEOUT = 90.0
STOP_GRACE = 20.0


@dataclass
class Cluster:
    root: Path
    database_url: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    temporal_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    api_ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def pids(self) -> dict[str, int]:
        """The live processes by name (what bench/open_tickets.cpu_seconds reads)."""
        return {name: p.pid for name, p in self.processes.items() if p.poll() is None}

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPORTE_")}
        env.update(
            SOPORTE_DATA_DIR=str(self.root),
            SOPORTE_DATABASE_URL=self.database_url,
            SOPORTE_TEMPORAL_ADDRESS=self.temporal_address,
            SOPORTE_ADMIN_TOKEN=self.token,
            # Several workers on one host: each would bind :9464 (README).
            SOPORTE_WORKER_METRICS_PORT="0",
            SOPORTE_LOG_LEVEL="INFO",
        )
        env.update(self.extra_env)
        return env

    def log_path(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as log:
            self.processes[name] = subprocess.Popen(  # noqa: S603  # our own argv
                args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    async def start_temporal(self) -> None:
        args = dev_server_args(
            temporal_binary(), self.root / "temporal.db", self.temporal_port, None
        )
        self.spawn("temporal", args)
        await wait_port(self.temporal_port, self.processes["temporal"])

    def start_worker(self, name: str) -> None:
        self.spawn(name, [sys.executable, "-m", "launcher.cli", "worker"], self.env())

    def start_api(self, name: str) -> str:
        port = free_port()
        self.api_ports[name] = port
        args = [sys.executable, "-m", "launcher.cli", "api", "--port", str(port)]
        self.spawn(name, args, self.env())
        return self.url(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.api_ports[name]}"

    async def client(self) -> Client:
        settings = load_settings(temporal_address=self.temporal_address)
        return await connect(settings)

    async def wait_apis(self) -> None:
        """Until every API answers /healthz with 200 (its database and Temporal answer)."""
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(timeout=5) as http:
            for name in self.api_ports:
                while True:
                    self.check_running(name)
                    try:
                        if (await http.get(f"{self.url(name)}/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{name} not healthy; see {self.log_path(name)}")
                    await asyncio.sleep(0.3)

    async def wait_pollers(self, client: Client, count: int) -> set[str]:
        """Until `count` workers poll the ticket task queue; their identities."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            found = await pollers(client)
            if len(found) >= count:
                return found
            for name in self.processes:
                self.check_running(name)
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(found)} of {count} workers poll: {found}")
            await asyncio.sleep(0.3)

    def check_running(self, name: str) -> None:
        status = self.processes[name].poll()
        if status is not None:
            tail = self.log_path(name).read_text(errors="replace")[-3000:]
            raise AssertionError(f"{name} exited with status {status}:\n{tail}")

    def kill(self, name: str) -> None:
        """SIGKILL: no drain, no goodbye (what a machine that dies does)."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def pollers(client: Client, queue: str = "soporte", within: float = 30.0) -> set[str]:
    """The identities that polled the workflow task queue in the last `within` seconds."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    recent = datetime.now(UTC) - timedelta(seconds=within)
    return {
        poller.identity
        for poller in described.pollers
        if poller.last_access_time.ToDatetime(tzinfo=UTC) >= recent
    }


async def wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the Temporal dev server exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answered on port {port}")
