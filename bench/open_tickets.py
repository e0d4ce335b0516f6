"""Opening tickets through the API against starting bare workflows, and the list at 100k.

    .venv/bin/python bench/open_tickets.py [--n 300] [--concurrency 50] [--list-rows 100000]
        [--rounds 1] [--no-worker] [--skip-open] [--skip-list]

Part 1 starts the embedded stack as `soporte up` does (the file-backed dev server with
`dev_server_args`, then `soporte worker` and `soporte api` as processes on a SQLite read
model), registers a client, a contact and three engineers, opens N tickets with
concurrency C, and in the same run starts N bare workflows (a workflow that returns at
once, run by an in-process worker) straight on the same server, before the tickets, while
the stack is idle. The load is a minimal keep-alive HTTP client (LeanHttp). It prints
tickets/s, p50/p99 latency, the time until every ticket is assigned, acknowledged and
listed by `GET /api/v1/tickets`, the CPU each process spent per ticket, and the API/bare
ratios; with --rounds K, K such comparisons on fresh stacks and their medians.

Part 2 bulk-inserts 100,000 projection rows into a fresh SQLite read model and times
`GET /api/v1/tickets` (in-process, ASGI) with each filter: p50/p99 (goal: p99 < 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from temporalio import workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.main import create_app  # noqa: E402
from launcher.stack import dev_server_args, temporal_binary  # noqa: E402
from soporte.db.migrate import run_migrations  # noqa: E402
from soporte.policy.nit import check_digit  # noqa: E402
from soporte.settings import load_settings  # noqa: E402
from soporte.temporal_client import quiet_runtime  # noqa: E402
from tests.stack_support import free_port  # noqa: E402

WARMUP = 20


@workflow.defn(sandboxed=False)
class Bare:
    @workflow.run
    async def run(self, number: int) -> int:
        return number


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")


async def timed_all(
    n: int, concurrency: int, call: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(index: int) -> None:
        async with gate:
            started = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - started, latencies


class LeanHttp:
    """A minimal HTTP/1.1 keep-alive client for the load itself: it shares the 2 cores with
    the stack it measures, and httpx spent about 8 ms of CPU per request at C=50 (more than
    the API itself), so the figures measured the load generator as much as the API."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.size = size
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))

    async def close(self) -> None:
        while not self.idle.empty():
            _, writer = self.idle.get_nowait()
            writer.close()

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """POST `body` as JSON on an idle connection; the status and the answer's bytes."""
        payload = json.dumps(body).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\n{head}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        reader, writer = await self.idle.get()
        try:
            writer.write(request)
            status_line, *header_lines = (
                (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            )
            length = next(
                int(line.split(":", 1)[1])
                for line in header_lines
                if line.lower().startswith("content-length:")
            )
            answer = await reader.readexactly(length)
        finally:
            self.idle.put_nowait((reader, writer))
        return int(status_line.split()[1]), answer

    async def post_json(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        status, answer = await self.post(path, body, headers)
        if status >= 300:
            raise RuntimeError(f"POST {path}: {status} {answer[:300]!r}")
        return json.loads(answer)


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) used so far by each process, and by this one."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"bench": sum(os.times()[:2])}
    for name, pid in pids.items():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[name] = (int(fields[11]) + int(fields[12])) / tick
    return used


async def until_idle(pid: int, window: float = 0.5, busy: float = 0.05, limit: float = 30) -> None:
    """Until the process `pid` uses less than `busy` of a core over `window` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds({"process": pid})["process"]
        await asyncio.sleep(window)
        if cpu_seconds({"process": pid})["process"] - before < busy * window:
            return


def report_cpu(name: str, n: int, before: dict[str, float], after: dict[str, float]) -> None:
    per_ticket = {key: (after[key] - before[key]) / n * 1000 for key in after}
    parts = "  ".join(f"{key} {value:.1f}" for key, value in per_ticket.items())
    print(f"{name:<28} CPU ms per item: {parts}  (all {sum(per_ticket.values()):.1f})")


def report(name: str, n: int, elapsed: float, latencies: list[float]) -> None:
    print(
        f"{name:<28} {n / elapsed:8.1f} /s   p50 {ms(percentile(latencies, 0.5)):>10}"
        f"   p99 {ms(percentile(latencies, 0.99)):>10}   total {elapsed:.2f} s"
    )


class Stack:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.temporal_port = free_port()
        self.api_port = free_port()
        self.token = secrets.token_urlsafe(32)
        self.db_url = f"sqlite+aiosqlite:///{root / 'soporte.db'}"
        self.children: list[subprocess.Popen[bytes]] = []
        self.pids: dict[str, int] = {}

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SOPORTE_DATA_DIR=str(self.root),
            SOPORTE_DATABASE_URL=self.db_url,
            SOPORTE_TEMPORAL_ADDRESS=f"127.0.0.1:{self.temporal_port}",
            SOPORTE_ADMIN_TOKEN=self.token,
            SOPORTE_LOG_LEVEL="WARNING",
        )
        return env

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115
        child = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.children.append(child)
        self.pids[name] = child.pid

    async def start(self, worker: bool = True) -> None:
        args = dev_server_args(
            temporal_binary(), self.root / "temporal.db", self.temporal_port, None
        )
        self.spawn("temporal", args)
        await wait_port(self.temporal_port)
        run_migrations(self.db_url)
        me = [sys.executable, "-m", "launcher.cli"]
        if worker:
            self.spawn("worker", [*me, "worker"], self.env())
        self.spawn("api", [*me, "api", "--port", str(self.api_port)], self.env())
        await wait_port(self.api_port)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


async def register(http: httpx.AsyncClient) -> dict[str, str]:
    base = "900" + str(random.randint(100000, 999999))
    nit = f"{base}-{check_digit(base)}"
    for path, body in [
        ("/api/v1/clients", {"nit": nit, "name": "Bench S.A.S."}),
        (f"/api/v1/clients/{nit}/contacts", {"name": "Bench", "email": "bench@cliente.co"}),
    ] + [
        (
            "/api/v1/staff",
            {"name": f"Ing {i}", "email": f"ing{i}@btw.com.co", "roles": ["engineer"]},
        )
        for i in range(3)
    ]:
        (await http.post(path, json=body)).raise_for_status()
    issued = await http.post("/api/v1/tokens", json={"email": "bench@cliente.co"})
    issued.raise_for_status()
    return {"Authorization": f"Bearer {issued.json()['token']}"}


async def settled(http: httpx.AsyncClient, db: Path, numbers: set[int]) -> bool:
    with sqlite3.connect(db) as connection:
        acknowledged = connection.execute(
            "SELECT count(DISTINCT number) FROM ticket_events WHERE type = 'acknowledged'"
        ).fetchone()[0]
    if acknowledged < len(numbers):
        return False
    assigned = 0
    for i in range(3):
        page = await http.get("/api/v1/tickets", params={"assignee": f"ing{i}@btw.com.co"})
        assigned += page.json()["total"]
    return assigned >= len(numbers)


async def part_one(n: int, concurrency: int, worker: bool, rounds: int) -> None:
    """`rounds` comparisons, each on a fresh stack; with more than one, their medians (the
    bare rate alone moves by about 20 % between runs on this VM)."""
    ratios: list[tuple[float, float, float]] = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="soporte-bench-") as tmp:
            stack = Stack(Path(tmp))
            try:
                await stack.start(worker)
                ratios.append(await run_comparison(stack, n, concurrency, worker))
            finally:
                stack.stop()
    if rounds > 1:
        api, bare, p99 = (statistics.median(column) for column in zip(*ratios, strict=True))
        print(
            f"\n== medians of {rounds} rounds: API {api:.1f} /s, bare {bare:.1f} /s, "
            f"throughput ratio {statistics.median(a / b for a, b, _ in ratios):.2f}, "
            f"p99 ratio {p99:.1f}x =="
        )


async def run_comparison(
    stack: Stack, n: int, concurrency: int, worker: bool
) -> tuple[float, float, float]:
    """One comparison; returns (API tickets/s, bare starts/s, API p99 / bare p99)."""
    # The bare workflows first, on the idle stack: run after the tickets, they would
    # compete with the worker still sending the tickets' other notifications.
    client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", runtime=quiet_runtime())
    queue = f"bare-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[Bare]):
        handles = []

        async def start_bare(index: int) -> None:
            handles.append(  # noqa: B023
                await client.start_workflow(
                    Bare.run, index, id=f"bare-{uuid.uuid4().hex}", task_queue=queue
                )
            )

        await timed_all(WARMUP, concurrency, start_bare)
        await asyncio.gather(*(handle.result() for handle in handles))
        handles.clear()
        cpu_before = cpu_seconds(stack.pids)
        started = time.perf_counter()
        bare_elapsed, bare_latencies = await timed_all(n, concurrency, start_bare)
        bare_start_cpu = (cpu_before, cpu_seconds(stack.pids))
        await asyncio.gather(*(handle.result() for handle in handles))
        bare_done = time.perf_counter() - started
        bare_cpu = (cpu_before, cpu_seconds(stack.pids))

    # The server finishes the bare workflows' closing work (visibility and transfer tasks)
    # after their results are in: let it, so that the tickets too meet an idle server.
    await until_idle(stack.pids["temporal"])
    admin = {"Authorization": f"Bearer {stack.token}"}
    base_url = f"http://127.0.0.1:{stack.api_port}"
    limits = httpx.Limits(max_connections=concurrency + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        http.headers.update(admin)
        contact = await register(http)
        numbers: set[int] = set()

        lean = LeanHttp(stack.api_port, concurrency)
        await lean.open()

        async def open_one(index: int) -> None:
            body = {
                "kind": "support",
                "category": "facturacion",
                "subject": f"Bench {index}",
                "description": "No puedo facturar",
                "expected_result": "facturar",
            }
            opened = await lean.post_json("/api/v1/tickets", body, contact)
            numbers.add(opened["number"])

        await timed_all(WARMUP, concurrency, open_one)  # connections, caches, compiled SQL
        numbers.clear()
        cpu_before = cpu_seconds(stack.pids)
        started = time.perf_counter()
        api_elapsed, api_latencies = await timed_all(n, concurrency, open_one)
        api_cpu = (cpu_before, cpu_seconds(stack.pids))
        while worker and not await settled(http, stack.root / "soporte.db", numbers):
            await asyncio.sleep(0.05)
        settled_after = time.perf_counter() - started
        settle_cpu = (api_cpu[1], cpu_seconds(stack.pids))
        await lean.close()

    print(f"\n== {n} tickets, concurrency {concurrency} ==")
    report("API POST /tickets", n, api_elapsed, api_latencies)
    report("bare start_workflow", n, bare_elapsed, bare_latencies)
    print(f"{'assigned+acked+listed':<28} all {n} after {settled_after:.2f} s")
    print(f"{'bare workflows completed':<28} all {n} after {bare_done:.2f} s")
    report_cpu("bare, while starting", n, *bare_start_cpu)
    report_cpu("bare, until completed", n, *bare_cpu)
    report_cpu("API, while opening", n, *api_cpu)
    report_cpu("API, after opening", n, *settle_cpu)
    print(
        f"ratios API/bare: throughput {(n / api_elapsed) / (n / bare_elapsed):.2f}, "
        f"p50 {percentile(api_latencies, 0.5) / percentile(bare_latencies, 0.5):.1f}x, "
        f"p99 {percentile(api_latencies, 0.99) / percentile(bare_latencies, 0.99):.1f}x, "
        f"until settled {settled_after / bare_done:.1f}x"
    )
    p99_ratio = percentile(api_latencies, 0.99) / percentile(bare_latencies, 0.99)
    return n / api_elapsed, n / bare_elapsed, p99_ratio


# --- Part 2: the list at 100k rows ---------------------------------------------------------


def fill(db: Path, rows: int) -> None:
    statuses = ["open", "in_progress", "waiting_on_client", "resolved", "closed"]
    priorities = ["P1", "P2", "P3", "requirement", "advisory"]
    nits = [f"9001000{i:02d}-{check_digit(f'9001000{i:02d}')}" for i in range(50)]
    engineers = [f"ing{i}@btw.com.co" for i in range(20)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rand = random.Random(7)

    def row(number: int) -> tuple[Any, ...]:
        created = (start + timedelta(minutes=5 * number)).replace(tzinfo=None)
        due = created + timedelta(hours=8)
        return (
            number,
            "support",
            rand.choice(statuses),
            rand.choice(priorities),
            rand.choice(nits),
            rand.choice(engineers),
            f"Ticket {number}",
            created.isoformat(" "),
            created.isoformat(" "),
            rand.random() < 0.05,
            False,
            False,
            due.isoformat(" "),
            due.isoformat(" "),
            "{}",
        )

    with sqlite3.connect(db) as connection:
        connection.executemany(
            "INSERT INTO tickets (number, kind, status, priority, nit, assignee, subject, "
            "created_at, updated_at, breached, warned, paused, first_response_due, "
            "resolution_due, view) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (row(number) for number in range(1, rows + 1)),
        )
        connection.execute("ANALYZE")


async def part_two(rows: int, requests: int, temporal_address: str) -> None:
    with tempfile.TemporaryDirectory(prefix="soporte-list-") as tmp:
        db = Path(tmp) / "soporte.db"
        url = f"sqlite+aiosqlite:///{db}"
        run_migrations(url)
        started = time.perf_counter()
        fill(db, rows)
        print(
            f"\n== list endpoint, {rows} tickets in SQLite (filled in "
            f"{time.perf_counter() - started:.1f} s), {requests} requests each =="
        )
        settings = load_settings(
            data_dir=Path(tmp),
            database_url=url,
            temporal_address=temporal_address,
            admin_token="bench",
        )
        app = create_app(settings)
        cases = {
            "no filter": {},
            "status=open": {"status": "open"},
            "priority=P1": {"priority": "P1"},
            "nit": {"nit": "900100007-" + str(check_digit("900100007"))},
            "assignee": {"assignee": "ing3@btw.com.co"},
            "breached=true": {"breached": "true"},
            "status+priority": {"status": "in_progress", "priority": "P2"},
            "offset=5000": {"offset": "5000"},
        }
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers={"Authorization": "Bearer bench"},
            ) as http:
                for name, params in cases.items():
                    latencies = []
                    for _ in range(requests):
                        t0 = time.perf_counter()
                        response = await http.get("/api/v1/tickets", params=params)
                        latencies.append(time.perf_counter() - t0)
                        response.raise_for_status()
                    total = response.json()["total"]
                    print(
                        f"{name:<18} total {total:>6}   p50 {ms(statistics.median(latencies)):>9}"
                        f"   p99 {ms(percentile(latencies, 0.99)):>9}"
                    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--list-rows", type=int, default=100_000)
    parser.add_argument("--list-requests", type=int, default=200)
    parser.add_argument("--skip-open", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="comparisons, each on a fresh stack")
    parser.add_argument(
        "--no-worker", action="store_true", help="diagnosis: open tickets with no worker running"
    )
    args = parser.parse_args()
    if not args.skip_open:
        await part_one(args.n, args.concurrency, not args.no_worker, args.rounds)
    if args.skip_list:
        return
    # Part 2 needs no Temporal for the list itself: the lifespan just fails to connect.
    await part_two(args.list_rows, args.list_requests, "127.0.0.1:1")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
