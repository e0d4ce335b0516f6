"""The sustained pipeline: tickets fully settled per second, against a bare lifecycle (issue 15).

    .venv/bin/python bench/pipeline.py [--seconds 600] [--bare-seconds 60] [--window 30]
        [--concurrency 50 | --rate R] [--rounds 1] [--cached-workflows K]

Each round starts the embedded stack as `soporte up` does (bench/open_tickets.py's Stack:
the file-backed dev server, `soporte worker` and `soporte api` as processes, a SQLite read
model, mail into the Maildir outbox) and, on that same server:

1. bare, for --bare-seconds: the minimal lifecycle (start a workflow, send it one signal,
   wait until it completes), run by an in-process worker, C lifecycles in flight;
2. tickets, for --seconds: tickets opened through the API (`POST /api/v1/tickets` with a
   contact's token), either C in flight (a client opens the next ticket once its last one
   is settled: the default) or at a steady offered rate (--rate R tickets/s, whatever the
   stack does with them). A ticket is settled when its row is projected with its
   assignee, its `acknowledged` line is in the log, and its acknowledgement mail is sent
   (its `outbound_mail` row stamped `sent_at`); a poller reads that from the read model;
3. bare again, for --bare-seconds (the server after the tickets' load: its file grew).

It prints, per --window seconds of each part, what was opened and settled, the settled
rate and the backlog (opened, not yet settled) at the window's end, and the settle
latency; the backlog's slope over the part (a backlog that grows is a fail even if the
mean rate looks fine); the drain after the part; the CPU per ticket of each process over
the part and its drain; and the ratio of the tickets' settled rate to the mean of the
two bare rates (goal: at least 0.60). After the tickets it checks with open_tickets'
`settled` (through the API's list) that every ticket is assigned and acknowledged.
With --rounds K, the medians of K rounds on fresh stacks. The load average is printed
before and after each part.

BENCH_PROFILE_WORKER=FILE runs the worker under cProfile (as bench/commands.py does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from commands import (  # noqa: E402
    PROFILE,
    SeasonStack,
    rss_mb,
    until_stack_idle,
    workers_cpu,
)
from open_tickets import (  # noqa: E402
    LeanHttp,
    Stack,
    cpu_seconds,
    percentile,
    register,
    settled,
)
from temporalio import workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from soporte.settings import Settings  # noqa: E402
from soporte.temporal_client import quiet_runtime  # noqa: E402

ACK_SUBJECT = "%Recibimos su solicitud%"  # the acknowledgement's subject (templates/client.py)
SETTLED_SQL = """
SELECT t.number FROM tickets t
WHERE t.number >= ? AND t.assignee IS NOT NULL
  AND EXISTS (SELECT 1 FROM ticket_events e
              WHERE e.number = t.number AND e.type = 'acknowledged')
  AND EXISTS (SELECT 1 FROM outbound_mail m
              WHERE m.number = t.number AND m.sent_at IS NOT NULL AND m.subject LIKE ?)
"""
POLL_SECONDS = 0.1


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class FreshConnections(asyncio.Queue[Connection]):
    """LeanHttp's idle connections, but one idle for more than 2 s is replaced before use:
    uvicorn closes a keep-alive connection idle for 5 s, and a client waiting for its
    ticket to settle can leave one idle that long (a request sent as it closes is lost)."""

    IDLE_LIMIT = 2.0

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.since: dict[asyncio.StreamWriter, float] = {}

    def put_nowait(self, item: Connection) -> None:
        self.since[item[1]] = time.monotonic()
        super().put_nowait(item)

    async def get(self) -> Connection:
        reader, writer = await super().get()
        idle = time.monotonic() - self.since.pop(writer, time.monotonic())
        if reader.at_eof() or idle > self.IDLE_LIMIT:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        return reader, writer


class FreshHttp(LeanHttp):
    def __init__(self, port: int, size: int) -> None:
        super().__init__(port, size)
        self.idle = FreshConnections(port)


@workflow.defn(sandboxed=False)
class BareLifecycle:
    """The floor of a ticket's life: started, one signal, completed."""

    def __init__(self) -> None:
        self.signalled = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.signalled)
        return 1

    @workflow.signal
    def go(self) -> None:
        self.signalled = True


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


@dataclass
class Part:
    """One timed part: when each item was offered and when it was done (bench clock)."""

    name: str
    seconds: float
    window: float
    opened: list[float] = field(default_factory=list)
    done: list[tuple[float, float]] = field(default_factory=list)  # (offered, done)
    drain: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)
    errors: int = 0

    @property
    def done_in_time(self) -> int:
        return sum(1 for _, at in self.done if at <= self.seconds)

    @property
    def rate(self) -> float:
        return self.done_in_time / self.seconds

    def windows(self) -> list[dict[str, float]]:
        rows = []
        start = 0.0
        while start + self.window <= self.seconds + 1e-9:
            end = start + self.window
            latencies = [at - off for off, at in self.done if start < at <= end]
            opened_by = sum(1 for at in self.opened if at <= end)
            done_by = sum(1 for _, at in self.done if at <= end)
            rows.append(
                {
                    "start": start,
                    "end": end,
                    "opened": sum(1 for at in self.opened if start < at <= end),
                    "settled": len(latencies),
                    "rate": len(latencies) / self.window,
                    "backlog": opened_by - done_by,
                    "p50": percentile(latencies, 0.5) if latencies else 0.0,
                    "p99": percentile(latencies, 0.99) if latencies else 0.0,
                }
            )
            start = end
        return rows

    def trend(self) -> tuple[float, float]:
        """The mean settled rate over the first and over the last third of the windows."""
        rates = [row["rate"] for row in self.windows()]
        third = max(1, len(rates) // 3)
        return statistics.fmean(rates[:third] or [0.0]), statistics.fmean(rates[-third:] or [0.0])

    def backlog_slope(self) -> float:
        """Least-squares slope of the backlog at the windows' ends, in items per second."""
        rows = self.windows()
        if len(rows) < 2:
            return 0.0
        xs = [row["end"] for row in rows]
        ys = [row["backlog"] for row in rows]
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def print_part(part: Part, concurrency: int) -> None:
    print(f"\n-- {part.name}: {part.seconds:.0f} s, windows of {part.window:.0f} s --")
    print(
        f"{'window':>11} {'opened':>7} {'settled':>8} {'/s':>7} {'backlog':>8}"
        f" {'p50 ms':>8} {'p99 ms':>8}"
    )
    for row in part.windows():
        print(
            f"{row['start']:5.0f}-{row['end']:<5.0f} {row['opened']:7.0f} {row['settled']:8.0f}"
            f" {row['rate']:7.1f} {row['backlog']:8.0f} {row['p50'] * 1000:8.0f}"
            f" {row['p99'] * 1000:8.0f}"
        )
    slope = part.backlog_slope()
    grows = slope * part.seconds > max(concurrency, 0.05 * part.done_in_time)
    first, last = part.trend()
    print(
        f"rate over the first third {first:.1f}/s, the last third {last:.1f}/s"
        f" ({'SLOWS' if last < 0.8 * first else 'holds'}: with C in flight the backlog"
        " cannot grow, a slowing rate is the same fail)"
    )
    cpu = "  ".join(f"{k} {v:.1f}" for k, v in part.cpu_ms.items())
    print(
        f"{part.name}: {part.rate:.1f}/s settled in time ({part.done_in_time} of "
        f"{len(part.opened)} opened), backlog slope {slope:+.2f}/s "
        f"({'GROWS' if grows else 'steady'}), drained {part.drain:.1f} s after, "
        f"errors {part.errors}"
    )
    print(f"  CPU ms per item (over the part and its drain): {cpu}")


async def closed_loop(
    part: Part, concurrency: int, one: Callable[[], Awaitable[None]], started: float
) -> None:
    """C clients, each doing `one` again until the part's time is up."""

    async def client() -> None:
        while time.perf_counter() - started < part.seconds:
            try:
                await one()
            except Exception as error:  # noqa: BLE001  # counted, and the load goes on
                part.errors += 1
                if part.errors <= 5:
                    print(f"  error: {error!r}"[:300])
                await asyncio.sleep(0.1)

    await asyncio.gather(*(client() for _ in range(concurrency)))


async def bare_part(
    stack: Stack, name: str, seconds: float, window: float, concurrency: int
) -> Part:
    client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", runtime=quiet_runtime())
    queue = f"bare-{uuid.uuid4().hex}"
    part = Part(name, seconds, window)
    async with Worker(client, task_queue=queue, workflows=[BareLifecycle]):

        async def lifecycle() -> None:
            offered = time.perf_counter() - started
            part.opened.append(offered)
            handle = await client.start_workflow(
                BareLifecycle.run, id=f"bare-{uuid.uuid4().hex}", task_queue=queue
            )
            await handle.signal(BareLifecycle.go)
            await handle.result()
            part.done.append((offered, time.perf_counter() - started))

        warm = Part("warm", 3, 3)
        started = time.perf_counter()
        await closed_loop(warm, concurrency, lifecycle, started)
        part.opened.clear()
        part.done.clear()
        await until_stack_idle(stack, limit=60)
        before = cpu_seconds(stack.pids)
        started = time.perf_counter()
        await closed_loop(part, concurrency, lifecycle, started)
        part.drain = time.perf_counter() - started - seconds
        after = cpu_seconds(stack.pids)
    part.cpu_ms = {k: (after[k] - before[k]) / max(1, len(part.done)) * 1000 for k in after}
    return part


class Settlement:
    """Polls the read model for settled tickets and wakes whoever waits on them."""

    def __init__(self, db: Path, part: Part) -> None:
        self.db = db
        self.part = part
        self.offered: dict[int, float] = {}
        self.waiters: dict[int, asyncio.Future[None]] = {}
        self.started = 0.0

    def open(self, number: int, offered: float) -> asyncio.Future[None]:
        self.offered[number] = offered
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[number] = future
        return future

    def poll_once(self) -> None:
        if not self.offered:
            return
        with sqlite3.connect(self.db, timeout=15) as connection:
            rows = connection.execute(SETTLED_SQL, (min(self.offered), ACK_SUBJECT)).fetchall()
        now = time.perf_counter() - self.started
        for (number,) in rows:
            offered = self.offered.pop(number, None)
            if offered is None:
                continue
            self.part.done.append((offered, now))
            waiter = self.waiters.pop(number)
            if not waiter.done():
                waiter.set_result(None)

    async def run(self) -> None:
        while True:
            self.poll_once()
            await asyncio.sleep(POLL_SECONDS)


async def offered_rate(
    part: Part, rate: float, one: Callable[[], Awaitable[None]], started: float
) -> None:
    """Start `one` every 1/rate seconds until the part's time is up, whatever is pending."""
    tasks: set[asyncio.Task[None]] = set()
    count = 0

    async def guarded() -> None:
        try:
            await one()
        except Exception as error:  # noqa: BLE001  # counted, and the load goes on
            part.errors += 1
            if part.errors <= 5:
                print(f"  error: {error!r}"[:300])

    while (now := time.perf_counter() - started) < part.seconds:
        due = count / rate
        if now < due:
            await asyncio.sleep(due - now)
            continue
        task = asyncio.create_task(guarded())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        count += 1
    await asyncio.gather(*tasks)


async def ticket_part(
    stack: Stack,
    http: httpx.AsyncClient,
    contact: dict[str, str],
    seconds: float,
    window: float,
    concurrency: int,
    rate: float | None,
) -> tuple[Part, set[int]]:
    part = Part("tickets", seconds, window)
    lean = FreshHttp(stack.api_port, concurrency)
    await lean.open()
    watch = Settlement(stack.root / "soporte.db", part)
    poller = asyncio.create_task(watch.run())
    numbers: set[int] = set()
    counter = iter(range(10**9))

    async def open_ticket(wait: bool) -> None:
        index = next(counter)
        offered = time.perf_counter() - watch.started
        body = {
            "kind": "support",
            "category": "facturacion",
            "subject": f"Flujo {index}",
            "description": "No puedo facturar",
            "expected_result": "facturar",
        }
        opened = await lean.post_json("/api/v1/tickets", body, contact)
        numbers.add(opened["number"])
        part.opened.append(offered)
        settled_one = watch.open(opened["number"], offered)
        if wait:
            await settled_one

    # Warm-up: connections, caches, compiled SQL; not counted.
    warm = Part("warm", 5, 5)
    watch.started = time.perf_counter()
    await closed_loop(warm, concurrency, lambda: open_ticket(True), watch.started)
    await until_stack_idle(stack, limit=120)
    part.opened.clear()
    part.done.clear()
    numbers.clear()
    before = cpu_seconds(stack.pids)
    watch.started = time.perf_counter()
    if rate is None:
        await closed_loop(part, concurrency, lambda: open_ticket(True), watch.started)
    else:
        await offered_rate(part, rate, lambda: open_ticket(False), watch.started)
    while watch.offered:
        if any(child.poll() is not None for child in stack.children):
            raise RuntimeError(f"a process of the stack ended; see the logs in {stack.root}")
        await asyncio.sleep(POLL_SECONDS)
    part.drain = time.perf_counter() - watch.started - seconds
    poller.cancel()
    await until_stack_idle(stack, limit=120)  # the assignees' notices and the like
    after = cpu_seconds(stack.pids)
    await lean.close()
    part.cpu_ms = {k: (after[k] - before[k]) / max(1, len(part.done)) * 1000 for k in after}
    return part, numbers


@dataclass
class Round:
    bare_before: Part
    tickets: Part
    bare_after: Part
    worker_rss_mb: float

    @property
    def bare_rate(self) -> float:
        return (self.bare_before.rate + self.bare_after.rate) / 2

    @property
    def ratio(self) -> float:
        return self.tickets.rate / self.bare_rate


async def one_round(args: argparse.Namespace) -> Round:
    with tempfile.TemporaryDirectory(prefix="soporte-pipeline-") as tmp:
        stack = SeasonStack(Path(tmp), args.cached_workflows, PROFILE, args.workers)
        try:
            await stack.start()
            return await measure(stack, args)
        finally:
            stack.stop()


async def measure(stack: Stack, args: argparse.Namespace) -> Round:
    c, window = args.concurrency, args.window
    print(f"\n== round: {load_average()} ==")
    bare_before = await bare_part(stack, "bare before", args.bare_seconds, window, c)
    print_part(bare_before, c)
    print(f"  {load_average()}")
    admin = {"Authorization": f"Bearer {stack.token}"}
    base_url = f"http://127.0.0.1:{stack.api_port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        http.headers.update(admin)
        contact = await register(http)
        tickets, numbers = await ticket_part(
            stack, http, contact, args.seconds, window, c, args.rate
        )
        print_part(tickets, c)
        listed = await settled(http, stack.root / "soporte.db", numbers)
        print(f"  every ticket assigned, acknowledged and listed by the API: {listed}")
        print(f"  worker RSS {rss_mb(stack.pids['worker']):.0f} MB; {load_average()}")
    rss = rss_mb(stack.pids["worker"])
    bare_after = await bare_part(stack, "bare after", args.bare_seconds, window, c)
    print_part(bare_after, c)
    print(f"  {load_average()}")
    result = Round(bare_before, tickets, bare_after, rss)
    mode = f"rate {args.rate}/s offered" if args.rate else f"C={c}"
    print(
        f"\n== round ({mode}): tickets {tickets.rate:.1f}/s settled, bare "
        f"{bare_before.rate:.1f} -> {bare_after.rate:.1f}/s, ratio {result.ratio:.2f} "
        f"(goal 0.60); workers' CPU {workers_cpu(tickets.cpu_ms):.1f} ms/ticket =="
    )
    return result


def summary(rounds: list[Round]) -> dict[str, Any]:
    def med(values: list[float]) -> float:
        return round(statistics.median(values), 2) if values else 0.0

    def settle(fraction: float) -> list[float]:
        return [
            percentile([b - a for a, b in r.tickets.done], fraction) * 1000
            for r in rounds
            if r.tickets.done
        ]

    return {
        "rounds": len(rounds),
        "tickets_per_s": med([r.tickets.rate for r in rounds]),
        "bare_per_s": med([r.bare_rate for r in rounds]),
        "ratio": med([r.ratio for r in rounds]),
        "backlog_slope_per_s": med([r.tickets.backlog_slope() for r in rounds]),
        "first_third_per_s": med([r.tickets.trend()[0] for r in rounds]),
        "last_third_per_s": med([r.tickets.trend()[1] for r in rounds]),
        "settle_p50_ms": med(settle(0.5)),
        "settle_p99_ms": med(settle(0.99)),
        "worker_cpu_ms": med([workers_cpu(r.tickets.cpu_ms) for r in rounds]),
        "server_cpu_ms": med([r.tickets.cpu_ms["temporal"] for r in rounds]),
        "api_cpu_ms": med([r.tickets.cpu_ms["api"] for r in rounds]),
        "bare_server_cpu_ms": med([r.bare_before.cpu_ms["temporal"] for r in rounds]),
        "worker_rss_mb": med([r.worker_rss_mb for r in rounds]),
        "errors": sum(r.tickets.errors for r in rounds),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600, help="the tickets' part")
    parser.add_argument("--bare-seconds", type=float, default=60, help="each bare part")
    parser.add_argument("--window", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=50, help="items in flight")
    parser.add_argument("--rate", type=float, default=None, help="tickets/s offered instead")
    parser.add_argument("--rounds", type=int, default=1, help="each on a fresh stack")
    parser.add_argument("--cached-workflows", type=int, default=None)
    parser.add_argument(
        "--workers",
        type=int,
        default=Settings.model_fields["workers"].default,
        help="`soporte worker` processes (default: as `soporte up`)",
    )
    args = parser.parse_args()
    rounds = [await one_round(args) for _ in range(args.rounds)]
    figures = summary(rounds)
    print(f"\n== medians of {len(rounds)} rounds; {load_average()} ==")
    print("  ".join(f"{k} {v}" for k, v in figures.items()))
    print("SUMMARY " + json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
