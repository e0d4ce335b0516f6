"""What a second worker (and a second API process) adds, on one Temporal server and a
PostgreSQL read model (issue 15, "Beyond one machine").

    .venv/bin/python bench/scale.py [--open 300] [--commands 300] [--concurrency 40]
        [--rounds 1] [--configs 1w1a,2w1a,1w1a-c4,1w2a,2w2a] [--postgres URL]
        [--max-load 99 --wait 120]

Each configuration gets a fresh cluster (tests/cluster_support.Cluster: the file-backed
dev server of `soporte up`, W `soporte worker` and A `soporte api --port P` processes with
one environment, a fresh PostgreSQL schema), in the same run and, with --rounds K, in the
same order K times. In each: OPEN tickets through the APIs (round-robin, concurrency C)
and the time until every one is assigned and acknowledged (the workers' work), then N
client messages (`POST /tickets/{n}/messages`, a contact's token, as bench/commands.py
sends them, each to another ticket in a shuffled order) and the time until every one is
in the read model. Printed per configuration: rates, p50/p99, the drain times, the CPU
per command of each process, the load average; then each against 1 worker + 1 API
(`ratio`), and with K rounds the medians.

Configurations: `<W>w<A>a`, and `1w1a-c4` for one worker at twice the default
SOPORTE_WORKER_CONCURRENCY (is a second worker more than a wider one?).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from commands import StatusHttp, shuffled, status_class  # noqa: E402
from console_bench import quiet_enough  # noqa: E402
from open_tickets import (  # noqa: E402
    cpu_seconds,
    percentile,
    register,
    timed_all,
    until_idle,
)
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from soporte.db.models import Ticket, TicketEvent  # noqa: E402
from soporte.db.session import create_engine  # noqa: E402
from soporte.settings import Settings  # noqa: E402
from tests.api_support import database  # noqa: E402
from tests.cluster_support import Cluster  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_CONFIGS = "1w1a,2w1a,1w1a-c4,1w2a,2w2a"
WARMUP = 20
DRAIN_LIMIT = 600.0
MARK = "Escala"  # the client messages' bodies start with it


@dataclass(frozen=True)
class Config:
    name: str
    workers: int
    apis: int
    worker_concurrency: int | None = None


def parse_config(text: str) -> Config:
    match = re.fullmatch(r"(\d)w(\d)a(?:-c(\d+))?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: write <W>w<A>a, e.g. 2w1a or 1w1a-c4")
    concurrency = int(match.group(3)) if match.group(3) else None
    return Config(text, int(match.group(1)), int(match.group(2)), concurrency)


@dataclass
class Figures:
    config: Config
    open_rate: float
    open_p99: float
    settled_s: float  # opening's first request until all assigned and acknowledged
    command_rate: float
    command_p50: float
    command_p99: float
    drained_s: float  # the first command until all are in the read model
    codes: Counter[str]
    cpu_ms: dict[str, float]  # per command, until idle, by process kind
    load: tuple[float, float]  # the 1-minute load average before and after


class Pool:
    """One LeanHttp (StatusHttp) per API; the i-th request goes to API i mod A."""

    def __init__(self, ports: list[int], concurrency: int) -> None:
        share = max(1, concurrency // len(ports))
        self.lanes = [StatusHttp(port, share) for port in ports]

    async def open(self) -> None:
        for lane in self.lanes:
            await lane.open()

    async def close(self) -> None:
        for lane in self.lanes:
            await lane.close()

    def lane(self, index: int) -> StatusHttp:
        return self.lanes[index % len(self.lanes)]


async def count_settled(engine: AsyncEngine, numbers: set[int]) -> int:
    """How many of the tickets are assigned and acknowledged in the read model."""
    async with engine.connect() as db:
        acknowledged = set(
            (
                await db.scalars(
                    select(TicketEvent.number).where(TicketEvent.type == "acknowledged")
                )
            ).all()
        )
        assigned = set(
            (await db.scalars(select(Ticket.number).where(Ticket.assignee.is_not(None)))).all()
        )
    return len(numbers & acknowledged & assigned)


async def count_messages(engine: AsyncEngine) -> int:
    async with engine.connect() as db:
        found = await db.scalar(
            select(func.count())
            .select_from(TicketEvent)
            .where(TicketEvent.type == "client_message", TicketEvent.body.startswith(MARK))
        )
    return int(found or 0)


async def wait_for(cluster: Cluster, probe: Callable[[], Awaitable[int]], wanted: int) -> None:
    """Until `probe()` reaches `wanted`; a process that exits ends the run."""
    deadline = time.monotonic() + DRAIN_LIMIT
    while await probe() < wanted:
        for name in cluster.processes:
            cluster.check_running(name)
        if time.monotonic() > deadline:
            raise RuntimeError(f"not drained after {DRAIN_LIMIT:.0f} s")
        await asyncio.sleep(0.2)


async def until_cluster_idle(cluster: Cluster) -> None:
    for pid in cluster.pids.values():
        await until_idle(pid, window=1.0, busy=0.05, limit=120)


def cpu_by_kind(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """CPU ms per command, the workers' summed, the APIs' summed."""
    kinds: dict[str, float] = {}
    for name in after:
        kind = name.split("-")[0]
        kinds[kind] = kinds.get(kind, 0.0) + (after[name] - before[name]) / n * 1000
    return kinds


async def one_config(
    config: Config, n_open: int, n: int, concurrency: int, load_before: float
) -> Figures:
    with (
        tempfile.TemporaryDirectory(prefix="soporte-scale-") as tmp,
        database("postgresql", Path(tmp)) as url,
    ):
        cluster = Cluster(Path(tmp) / "var", url)
        if config.worker_concurrency is not None:
            cluster.extra_env["SOPORTE_WORKER_CONCURRENCY"] = str(config.worker_concurrency)
        cluster.extra_env["SOPORTE_LOG_LEVEL"] = "WARNING"
        engine = create_engine(url)
        try:
            await start(cluster, config)
            figures = await measure(cluster, engine, config, n_open, n, concurrency)
            figures.load = (load_before, os.getloadavg()[0])
            return figures
        finally:
            cluster.stop()
            await engine.dispose()


async def start(cluster: Cluster, config: Config) -> None:
    await cluster.start_temporal()
    for index in range(config.workers):
        cluster.start_worker(f"worker-{index + 1}")
    for index in range(config.apis):
        cluster.start_api(f"api-{index + 1}")
    await cluster.wait_apis()
    temporal = await cluster.client()
    await cluster.wait_pollers(temporal, config.workers)


async def measure(
    cluster: Cluster, engine: AsyncEngine, config: Config, n_open: int, n: int, concurrency: int
) -> Figures:
    admin = {"Authorization": f"Bearer {cluster.token}"}
    first = next(iter(cluster.api_ports))
    async with httpx.AsyncClient(base_url=cluster.url(first), headers=admin, timeout=60) as http:
        contact = await register(http)
    pool = Pool(list(cluster.api_ports.values()), concurrency)
    await pool.open()
    try:
        numbers, open_rate, open_p99, settled_s = await open_all(
            cluster, engine, pool, contact, n_open + WARMUP, concurrency
        )
        await until_cluster_idle(cluster)
        warm, numbers = numbers[:WARMUP], numbers[WARMUP:]
        await pool.close()  # fresh connections: the idle ones were closed by the servers
        await pool.open()
        await timed_all(WARMUP, concurrency, sender(pool, contact, warm, "calentamiento"))
        await until_cluster_idle(cluster)
        await pool.close()
        await pool.open()
        order = [numbers[i] for i in shuffled(n, len(numbers))]
        codes: Counter[str] = Counter()
        call = sender(pool, contact, order, MARK, codes)
        already = await count_messages(engine)
        before = cpu_seconds(cluster.pids)
        started = time.perf_counter()
        elapsed, latencies = await timed_all(n, concurrency, call)
        await wait_for(cluster, lambda: count_messages(engine), already + n)
        drained = time.perf_counter() - started
        await until_cluster_idle(cluster)
        cpu = cpu_by_kind(before, cpu_seconds(cluster.pids), n)
    finally:
        await pool.close()
    return Figures(
        config,
        open_rate,
        open_p99,
        settled_s,
        n / elapsed,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        drained,
        codes,
        cpu,
        (0.0, 0.0),
    )


async def open_all(
    cluster: Cluster,
    engine: AsyncEngine,
    pool: Pool,
    contact: dict[str, str],
    n: int,
    concurrency: int,
) -> tuple[list[int], float, float, float]:
    numbers: set[int] = set()

    async def open_one(index: int) -> None:
        body = {
            "kind": "support",
            "category": "facturacion",
            "subject": f"Escala {index}",
            "description": "No puedo facturar",
            "expected_result": "facturar",
        }
        opened = await pool.lane(index).post_json("/api/v1/tickets", body, contact)
        numbers.add(opened["number"])

    started = time.perf_counter()
    elapsed, latencies = await timed_all(n, concurrency, open_one)
    await wait_for(cluster, lambda: count_settled(engine, numbers), len(numbers))
    settled = time.perf_counter() - started
    return sorted(numbers), n / elapsed, percentile(latencies, 0.99), settled


def sender(
    pool: Pool,
    contact: dict[str, str],
    targets: list[int],
    mark: str,
    codes: Counter[str] | None = None,
) -> Callable[[int], Awaitable[None]]:
    async def send(index: int) -> None:
        headers = {**contact, "Idempotency-Key": uuid.uuid4().hex}
        body = {"body": f"{mark} {index}: sigue fallando la factura"}
        path = f"/api/v1/tickets/{targets[index]}/messages"
        status = await pool.lane(index).post_status(path, body, headers)
        if codes is not None:
            codes[status_class(status)] += 1

    return send


def report(figures: Figures, base: Figures) -> None:
    c = figures.config
    codes = " ".join(f"{k} {figures.codes.get(k, 0)}" for k in ("2xx", "202", "4xx", "5xx"))
    cpu = "  ".join(f"{k} {v:.1f}" for k, v in sorted(figures.cpu_ms.items()))
    print(
        f"{c.name:<9} open {figures.open_rate:6.1f}/s p99 {figures.open_p99 * 1000:6.0f} ms, "
        f"settled {figures.settled_s:5.1f} s | messages {figures.command_rate:6.1f}/s "
        f"p50 {figures.command_p50 * 1000:5.0f} ms p99 {figures.command_p99 * 1000:6.0f} ms, "
        f"drained {figures.drained_s:5.1f} s [{codes}]"
    )
    print(
        f"{'':<9} ratio to {base.config.name}: open rate {figures.open_rate / base.open_rate:.2f}"
        f", settled {figures.settled_s / base.settled_s:.2f}x, messages rate "
        f"{figures.command_rate / base.command_rate:.2f}, p99 "
        f"{figures.command_p99 / base.command_p99:.2f}x, drained "
        f"{figures.drained_s / base.drained_s:.2f}x | CPU ms/message {cpu} | load "
        f"{figures.load[0]:.2f} before, {figures.load[1]:.2f} after"
    )


def report_medians(rounds: list[list[Figures]]) -> None:
    print(f"\n== medians of {len(rounds)} rounds (ratios within each round) ==")
    for index, first in enumerate(rounds[0]):
        same = [r[index] for r in rounds]
        base = [r[0] for r in rounds]

        def med(values: list[float]) -> float:
            return statistics.median(values)

        pairs = list(zip(same, base, strict=True))
        print(
            f"{first.config.name:<9} messages {med([f.command_rate for f in same]):6.1f}/s "
            f"(ratio {med([f.command_rate / b.command_rate for f, b in pairs]):.2f}), p99 "
            f"{med([f.command_p99 * 1000 for f in same]):6.0f} ms "
            f"(ratio {med([f.command_p99 / b.command_p99 for f, b in pairs]):.2f}x), drained "
            f"{med([f.drained_s for f in same]):5.1f} s "
            f"(ratio {med([f.drained_s / b.drained_s for f, b in pairs]):.2f}x) | open "
            f"{med([f.open_rate for f in same]):6.1f}/s (ratio "
            f"{med([f.open_rate / b.open_rate for f, b in pairs]):.2f}), settled "
            f"{med([f.settled_s for f in same]):5.1f} s (ratio "
            f"{med([f.settled_s / b.settled_s for f, b in pairs]):.2f}x) | load "
            f"{med([f.load[0] for f in same]):.2f} before, "
            f"{med([f.load[1] for f in same]):.2f} after"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=300, help="open tickets per config")
    parser.add_argument("--commands", type=int, default=300, help="client messages per config")
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=1, help="every config, each round")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help="the first is the base")
    parser.add_argument(
        "--postgres",
        default=None,
        help=f"default: $SOPORTE_TEST_POSTGRES_URL or {DEFAULT_POSTGRES}",
    )
    parser.add_argument("--max-load", type=float, default=99.0, help="wait for a lower load")
    parser.add_argument("--wait", type=float, default=120.0, help="at most, per config")
    args = parser.parse_args()
    configs = [parse_config(part) for part in args.configs.split(",") if part]
    url = args.postgres or os.environ.get("SOPORTE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES
    os.environ["SOPORTE_TEST_POSTGRES_URL"] = url  # tests.api_support.database reads it
    cores = os.cpu_count()
    print(
        f"{cores} cores, load {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {args.open} "
        f"open tickets, {args.commands} client messages at concurrency {args.concurrency}; "
        f"default worker concurrency {Settings().worker_concurrency}"
    )
    rounds: list[list[Figures]] = []
    for number in range(args.rounds):
        print(f"\n== round {number + 1} of {args.rounds} ==")
        figures: list[Figures] = []
        for config in configs:
            load = await quiet_enough(args.max_load, args.wait)
            figures.append(
                await one_config(config, args.open, args.commands, args.concurrency, load)
            )
            report(figures[-1], figures[0])
        rounds.append(figures)
    if len(rounds) > 1:
        report_medians(rounds)


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
