"""Commands on open tickets through the API, against a bare signal-with-read (issue 15).

    .venv/bin/python bench/commands.py [--open 2000] [--commands N] [--concurrency 50]
        [--rounds 1] [--cached-workflows K] [--phases contact,reply,request_info]
        [--references update,held] [--hold 0.05] [--workers 1] [--peer DIR]

Each round starts the embedded stack as `soporte up` does (bench/open_tickets.py: the
file-backed dev server, `soporte worker` and `soporte api` as processes, a SQLite read
model), opens OPEN tickets through the API at concurrency C and waits until every one is
assigned and acknowledged and the stack is idle. Then, on the same server:

- bare: OPEN minimal workflows (an in-process worker, its cache sized to them), then N
  signal-with-read commands at C (a signal, then a query of the same workflow): the
  floor a ticket command is measured against;
- references (--references, both by default; not goals, explanations), on fresh minimal
  workflows each: `bare update`, the same command as one update (what a ticket command
  is: the update `post_message` and its kin); `bare update held`, that update held by a
  local activity of HOLD seconds (default 0.05, about what a ticket command's projection
  and mail take, temporal_local_activity_execution_latency), on a worker with the
  product's slots (SOPORTE_WORKER_CONCURRENCY workflow tasks, twice as many local
  activities: worker.worker_slots). Where `held` is as slow as the ticket commands, a
  command's rate is bounded by its task's slot times its hold, not by what it computes;
- contact: N client messages (`POST /tickets/{n}/messages` with a contact's token);
- reply: N engineer public replies (the same path with an engineer's token);
- request_info: N `POST /tickets/{n}/request-info` (an engineer's token).

Each command goes to another ticket, in a shuffled order (a busy desk touches its open
tickets at random, not in the order they came), with its own Idempotency-Key. Every phase
uses the same order: with a worker cache smaller than the open tickets that is LRU's worst
case (every command a cache miss, a replay of the ticket's whole history). The stack
is let idle between phases (the mail and projections of one phase are not charged to the
next) and the time it took is printed. Per phase: rate, p50, p99, the answers by class
(2xx, 202, 4xx, 5xx), the CPU per command of each process while sending and until idle,
the worker's RSS, and the ratios to bare (goals: rate >= 0.40 of bare, p99 <= 3x bare p99,
zero 5xx). With --rounds K, medians over K fresh stacks.

--peer DIR runs django-helpdesk's `bench.py DIR --auth session` (after `setup.sh DIR`,
from ../shared/peers/django_helpdesk) right after our rounds, and prints its follow-up
rate at C=50 beside our commands' (goal: ours >= the peer's).

--cached-workflows K passes SOPORTE_WORKER_CACHED_WORKFLOWS=K to the worker.

--workers W starts W `soporte worker` processes on the one task queue (their CPU is
summed; the RSS printed is the first's); default SOPORTE_WORKERS' default, what
`soporte up` runs (2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from open_tickets import (  # noqa: E402
    LeanHttp,
    Stack,
    cpu_seconds,
    percentile,
    register,
    settled,
    timed_all,
    until_idle,
)
from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client, WorkflowHandle  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from soporte.settings import Settings  # noqa: E402
from soporte.temporal_client import quiet_runtime  # noqa: E402
from worker import worker_slots  # noqa: E402

PEER_HARNESS = Path(__file__).resolve().parent.parent.parent / "shared/peers/django_helpdesk"
WARMUP = 20
PHASES = ("contact", "reply", "request_info")
# Diagnosis: BENCH_PROFILE_WORKER=FILE runs the worker under cProfile, written to FILE.
_PROFILE = os.environ.get("BENCH_PROFILE_WORKER")
PROFILE = Path(_PROFILE) if _PROFILE else None


@workflow.defn(sandboxed=False)
class BareSignalled:
    """The floor of a ticket command: it takes a signal, a query reads what it took."""

    def __init__(self) -> None:
        self.taken = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.taken

    @workflow.signal
    def take(self, number: int) -> None:
        self.taken += 1

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def taken_count(self) -> int:
        return self.taken

    @workflow.update
    async def take_and_answer(self, hold: float) -> int:
        """One command in one update; `hold` > 0 holds its task in a local activity."""
        self.taken += 1
        if hold > 0:
            await workflow.execute_local_activity(
                hold_for, hold, start_to_close_timeout=timedelta(seconds=30)
            )
        return self.taken


@activity.defn
async def hold_for(seconds: float) -> None:
    """A ticket command's local activities (projection, mail), as the time they take."""
    await asyncio.sleep(seconds)


class StatusHttp(LeanHttp):
    """LeanHttp that hands back the status instead of raising on it."""

    async def post_status(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> int:
        status, answer = await self.post(path, body, headers)
        if status >= 400 and len(self.samples) < 5:
            self.samples.append(f"{status} {path}: {answer[:200]!r}")
        return status

    samples: list[str] = []


def status_class(status: int) -> str:
    if status == 202:
        return "202"
    return f"{status // 100}xx"


@dataclass
class Phase:
    name: str
    n: int
    elapsed: float
    latencies: list[float]
    codes: Counter[str]
    cpu_sent: dict[str, float]
    cpu_idle: dict[str, float]
    drain: float
    rss_mb: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.n / self.elapsed

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 0.5)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)


def workers_cpu(cpu: dict[str, float]) -> float:
    """The worker processes' CPU, summed (--workers)."""
    return sum(value for name, value in cpu.items() if name.startswith("worker"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def until_stack_idle(stack: Stack, limit: float) -> float:
    started = time.perf_counter()
    for name in stack.pids:
        await until_idle(stack.pids[name], window=1.0, busy=0.05, limit=limit)
    return time.perf_counter() - started


async def run_phase(
    stack: Stack, name: str, n: int, concurrency: int, call: Callable[[int], Awaitable[int]]
) -> Phase:
    codes: Counter[str] = Counter()

    async def counted(index: int) -> None:
        codes[status_class(await call(index))] += 1

    before = cpu_seconds(stack.pids)
    elapsed, latencies = await timed_all(n, concurrency, counted)
    sent = cpu_seconds(stack.pids)
    drain = await until_stack_idle(stack, limit=600)
    idle = cpu_seconds(stack.pids)

    def per_command(after: dict[str, float]) -> dict[str, float]:
        return {key: (after[key] - before[key]) / n * 1000 for key in after}

    return Phase(
        name,
        n,
        elapsed,
        latencies,
        codes,
        per_command(sent),
        per_command(idle),
        drain,
        rss_mb(stack.pids["worker"]),
    )


class SeasonStack(Stack):
    def __init__(
        self, root: Path, cached_workflows: int | None, profile: Path | None, workers: int = 1
    ) -> None:
        super().__init__(root)
        self.cached_workflows = cached_workflows
        self.profile = profile
        self.workers = workers

    async def start(self, worker: bool = True) -> None:
        await super().start(worker)
        for k in range(2, self.workers + 1):
            self.spawn(f"worker{k}", [sys.executable, "-m", "launcher.cli", "worker"], self.env())

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        if name == "worker" and self.profile is not None:
            # launcher.cli's main ends in os._exit: profile run() itself.
            code = (
                "import cProfile; from launcher.cli import run; "
                f"cProfile.run({f'run({args[3:]!r})'!r}, {str(self.profile)!r})"
            )
            args = [args[0], "-c", code]
        super().spawn(name, args, env)

    def env(self) -> dict[str, str]:
        env = super().env()
        env["SOPORTE_WORKER_METRICS_PORT"] = "0"  # no clash with anyone's :9464
        if self.cached_workflows is not None:
            env["SOPORTE_WORKER_CACHED_WORKFLOWS"] = str(self.cached_workflows)
        return env


REFERENCES = ("update", "held")
BARE = "bare signal+query"
REFERENCE_NAMES = {"update": "bare update", "held": "bare update held"}


async def bare_phase(
    stack: Stack, n_workflows: int, n: int, concurrency: int, kind: str = "signal", hold: float = 0
) -> Phase:
    """N commands on `n_workflows` bare workflows (a shuffled order): a signal and a query
    (`signal`), one update (`update`), or one update held `hold` seconds by a local activity
    on a worker with the product's slots (`held`)."""
    client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", runtime=quiet_runtime())
    queue = f"bare-{uuid.uuid4().hex}"
    handles: list[WorkflowHandle[Any, Any]] = []
    held = kind == "held"
    slots: dict[str, Any] = dict(worker_slots(Settings().worker_concurrency)) if held else {}
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BareSignalled],
        activities=[hold_for],
        max_cached_workflows=n_workflows + WARMUP + 10,
        **slots,
    ):

        async def start(index: int) -> None:
            handles.append(
                await client.start_workflow(
                    BareSignalled.run, id=f"bare-{uuid.uuid4().hex}", task_queue=queue
                )
            )

        await timed_all(n_workflows, concurrency, start)
        await until_stack_idle(stack, limit=120)
        order = shuffled(n, len(handles))

        async def signal_with_read(index: int) -> int:
            handle = handles[order[index]]
            await handle.signal(BareSignalled.take, index)
            await handle.query(BareSignalled.taken_count)
            return 200

        async def update(index: int) -> int:
            await handles[order[index]].execute_update(
                BareSignalled.take_and_answer, hold if held else 0.0
            )
            return 200

        command = signal_with_read if kind == "signal" else update
        name = BARE if kind == "signal" else REFERENCE_NAMES[kind]
        await timed_all(WARMUP, concurrency, command)
        phase = await run_phase(stack, name, n, concurrency, command)

        async def finish(index: int) -> None:
            await handles[index].signal(BareSignalled.finish)

        # C at a time: 10,000 at once fill the dev server's history cache with pinned
        # entries ("cache capacity is fully occupied", RESOURCE_EXHAUSTED).
        await timed_all(len(handles), concurrency, finish)
    return phase


def shuffled(n: int, size: int, seed: int = 15) -> list[int]:
    """N indexes into `size` items, each item once per pass, passes shuffled."""
    rand = random.Random(seed)
    order: list[int] = []
    while len(order) < n:
        chunk = list(range(size))
        rand.shuffle(chunk)
        order.extend(chunk)
    return order[:n]


async def open_tickets(
    stack: Stack,
    http: httpx.AsyncClient,
    lean: StatusHttp,
    contact: dict[str, str],
    n: int,
    concurrency: int,
) -> list[int]:
    numbers: set[int] = set()

    async def open_one(index: int) -> None:
        body = {
            "kind": "support",
            "category": "facturacion",
            "subject": f"Temporada {index}",
            "description": "No puedo facturar",
            "expected_result": "facturar",
        }
        opened = await lean.post_json("/api/v1/tickets", body, contact)
        numbers.add(opened["number"])

    started = time.perf_counter()
    await timed_all(n, concurrency, open_one)
    opened_in = time.perf_counter() - started
    while not await settled(http, stack.root / "soporte.db", numbers):
        if any(child.poll() is not None for child in stack.children):
            raise RuntimeError(f"a process of the stack ended; see the logs in {stack.root}")
        await asyncio.sleep(0.5)
    settled_in = time.perf_counter() - started
    idle_in = await until_stack_idle(stack, limit=600)
    print(
        f"opened {n} tickets in {opened_in:.1f} s ({n / opened_in:.0f}/s), all assigned and "
        f"acknowledged after {settled_in:.1f} s, stack idle {idle_in:.1f} s later; "
        f"worker RSS {rss_mb(stack.pids['worker']):.0f} MB"
    )
    return sorted(numbers)


@dataclass(frozen=True)
class References:
    kinds: list[str]
    hold: float


async def one_round(
    n_open: int,
    n: int,
    concurrency: int,
    cached: int | None,
    phases: list[str],
    references: References,
    workers: int = 1,
) -> list[Phase]:
    with tempfile.TemporaryDirectory(prefix="soporte-season-") as tmp:
        stack = SeasonStack(Path(tmp), cached, PROFILE, workers)
        try:
            await stack.start()
            return await measure(stack, n_open, n, concurrency, phases, references)
        finally:
            stack.stop()


async def measure(
    stack: Stack,
    n_open: int,
    n: int,
    concurrency: int,
    phases: list[str],
    references: References,
) -> list[Phase]:
    admin = {"Authorization": f"Bearer {stack.token}"}
    base_url = f"http://127.0.0.1:{stack.api_port}"
    limits = httpx.Limits(max_connections=10)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        http.headers.update(admin)
        contact = await register(http)
        issued = await http.post("/api/v1/tokens", json={"email": "ing0@btw.com.co"})
        issued.raise_for_status()
        engineer = {"Authorization": f"Bearer {issued.json()['token']}"}
        lean = StatusHttp(stack.api_port, concurrency)
        await lean.open()
        numbers = await open_tickets(stack, http, lean, contact, n_open + WARMUP, concurrency)
        warm, numbers = numbers[:WARMUP], numbers[WARMUP:]
        results = [await bare_phase(stack, n_open, n, concurrency)]
        for kind in references.kinds:
            results.append(await bare_phase(stack, n_open, n, concurrency, kind, references.hold))
        order = shuffled(n, len(numbers))
        commands: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
            "contact": ("messages", {"body": "Sigue fallando la factura"}, contact),
            "reply": ("messages", {"body": "Revisamos su caso", "visibility": "public"}, engineer),
            "request_info": ("request-info", {"body": "Envíe el número de factura"}, engineer),
        }
        for name in phases:
            path, body, token = commands[name]
            # Fresh connections: the server's keep-alive closed the ones left idle.
            await lean.close()
            await lean.open()
            await timed_all(WARMUP, concurrency, sender(lean, path, body, token, warm))
            call = sender(lean, path, body, token, [numbers[i] for i in order])
            results.append(await run_phase(stack, name, n, concurrency, call))
        await lean.close()
    if StatusHttp.samples:
        print("errors seen:", *StatusHttp.samples, sep="\n  ")
    return results


def sender(
    lean: StatusHttp, path: str, body: dict[str, Any], token: dict[str, str], targets: list[int]
) -> Callable[[int], Awaitable[int]]:
    """The command to the index-th of `targets`, each with its own Idempotency-Key."""

    def send(index: int) -> Awaitable[int]:
        headers = {**token, "Idempotency-Key": uuid.uuid4().hex}
        return lean.post_status(f"/api/v1/tickets/{targets[index]}/{path}", body, headers)

    return send


def report(phases: list[Phase], n_open: int, concurrency: int) -> None:
    bare = phases[0]
    print(f"\n== {bare.n} commands each over {n_open} open tickets, concurrency {concurrency} ==")
    for phase in phases:
        codes = " ".join(f"{k} {phase.codes.get(k, 0)}" for k in ("2xx", "202", "4xx", "5xx"))
        print(
            f"{phase.name:<18} {phase.rate:7.1f}/s  p50 {phase.p50 * 1000:7.0f} ms  "
            f"p99 {phase.p99 * 1000:7.0f} ms  [{codes}]  rate/bare {phase.rate / bare.rate:.2f}"
            f"  p99/bare {phase.p99 / bare.p99:.1f}x"
        )
    for phase in phases:
        for label, cpu in (("sending", phase.cpu_sent), ("until idle", phase.cpu_idle)):
            parts = "  ".join(f"{k} {v:.1f}" for k, v in cpu.items())
            print(f"  {phase.name:<18} CPU ms/command {label:<10}: {parts}")
        print(
            f"  {phase.name:<18} idle {phase.drain:.1f} s after; worker RSS {phase.rss_mb:.0f} MB"
        )


def medians(rounds: list[list[Phase]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for index, first in enumerate(rounds[0]):
        same = [r[index] for r in rounds]
        bare = [r[0] for r in rounds]
        out[first.name] = {
            "rate": statistics.median(p.rate for p in same),
            "p50_ms": statistics.median(p.p50 * 1000 for p in same),
            "p99_ms": statistics.median(p.p99 * 1000 for p in same),
            "rate_ratio": statistics.median(
                p.rate / b.rate for p, b in zip(same, bare, strict=True)
            ),
            "p99_ratio": statistics.median(p.p99 / b.p99 for p, b in zip(same, bare, strict=True)),
            "5xx": sum(p.codes.get("5xx", 0) for p in same),
            "202": sum(p.codes.get("202", 0) for p in same),
            "worker_cpu_ms": statistics.median(workers_cpu(p.cpu_idle) for p in same),
            "server_cpu_ms": statistics.median(p.cpu_idle["temporal"] for p in same),
            "api_cpu_ms": statistics.median(p.cpu_idle["api"] for p in same),
        }
    return out


def peer_harness(peer_dir: Path, *options: str) -> dict[str, Any]:
    """Set up django-helpdesk in `peer_dir` and run its own harness (session auth, C=50)
    with `options`; the JSON summary it prints last."""
    subprocess.run([str(PEER_HARNESS / "setup.sh"), str(peer_dir)], check=True)
    done = subprocess.run(
        [
            str(peer_dir / "venv/bin/python"),
            str(PEER_HARNESS / "bench.py"),
            str(peer_dir),
            *("--auth", "session", "--conc", "50"),
            *options,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def run_peer(peer_dir: Path, followups: int) -> float:
    """The peer's follow-up rate at C=50 with session auth (its own harness)."""
    result = peer_harness(
        peer_dir, "--followup-rounds", "session:50", "--followups", str(followups)
    )
    rate = float(result["followups"]["session_c50"]["per_s"])
    print(
        f"peer django-helpdesk follow-ups, session, C=50, N={followups}: {rate:.1f}/s "
        f"(p50 {result['followups']['session_c50']['p50_ms']} ms, "
        f"p99 {result['followups']['session_c50']['p99_ms']} ms)"
    )
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=2000, help="open tickets")
    parser.add_argument("--commands", type=int, default=None, help="per phase (default: --open)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="each on a fresh stack")
    parser.add_argument("--cached-workflows", type=int, default=None)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument(
        "--workers",
        type=int,
        default=Settings.model_fields["workers"].default,
        help="`soporte worker` processes (default: as `soporte up`)",
    )
    parser.add_argument("--references", default=",".join(REFERENCES), help="or '' for none")
    parser.add_argument("--hold", type=float, default=0.05, help="seconds, for `held`")
    parser.add_argument("--peer", type=Path, default=None, help="a django-helpdesk peer dir")
    args = parser.parse_args()
    n = args.commands or args.open
    phases = [p for p in args.phases.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; choose from {PHASES}")
    kinds = [k for k in args.references.split(",") if k]
    if set(kinds) - set(REFERENCES):
        parser.error(f"unknown references {sorted(set(kinds) - set(REFERENCES))}: {REFERENCES}")
    references = References(kinds, args.hold)
    rounds = []
    for _ in range(args.rounds):
        rounds.append(
            await one_round(
                args.open,
                n,
                args.concurrency,
                args.cached_workflows,
                phases,
                references,
                args.workers,
            )
        )
        report(rounds[-1], args.open, args.concurrency)
    summary = medians(rounds)
    print(f"\n== medians of {len(rounds)} rounds ({n} commands, {args.open} open tickets) ==")
    for name, figures in summary.items():
        print(f"{name:<18} " + "  ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    if args.peer is not None:
        peer = run_peer(args.peer.resolve(), n)
        for name in phases:
            print(f"{name:<18} ours/peer {summary[name]['rate'] / peer:.2f}")
    print("SUMMARY " + json.dumps({"open": args.open, "n": n, "rounds": len(rounds), **summary}))


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
