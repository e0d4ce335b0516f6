"""How fast the embedded Temporal dev server starts and signals workflows, per SQLite pragma set.

    .venv/bin/python bench/dev_server_pragmas.py [--n 1000] [--concurrency 50]

For each pragma set it starts a fresh file-backed dev server, starts N workflows (no
worker is needed: a start is acknowledged when it is persisted), sends N signals, then
kills the server with SIGKILL, restarts it on the same file and counts how many of the
acknowledged workflows came back. Prints one line per set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import Client  # noqa: E402
from temporalio.service import RPCError  # noqa: E402

from launcher.stack import dev_server_args, temporal_binary  # noqa: E402
from soporte.temporal_client import quiet_runtime  # noqa: E402
from tests.stack_support import free_port  # noqa: E402

PRAGMA_SETS = {
    "default journal": (),
    "wal + synchronous=normal (soporte up)": ("journal_mode=wal", "synchronous=normal"),
    "wal + synchronous=full": ("journal_mode=wal", "synchronous=full"),
}


def start_server(db: Path, port: int, pragmas: tuple[str, ...]) -> subprocess.Popen[bytes]:
    args = dev_server_args(temporal_binary(), db, port, None)
    # Replace soporte's own pragmas with the set under test.
    cleaned: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--sqlite-pragma":
            skip = True
            continue
        cleaned.append(arg)
    for pragma in pragmas:
        cleaned += ["--sqlite-pragma", pragma]
    return subprocess.Popen(cleaned, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def connect(port: int) -> Client:
    for _ in range(300):
        try:
            return await Client.connect(f"127.0.0.1:{port}", runtime=quiet_runtime())
        except RuntimeError:
            await asyncio.sleep(0.1)
    raise RuntimeError("dev server did not answer")


async def timed_batch(n: int, concurrency: int, call) -> tuple[float, list[float]]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            began = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - began, latencies


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0


async def measure(name: str, pragmas: tuple[str, ...], n: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db, port = Path(tmp) / "temporal.db", free_port()
        server = start_server(db, port, pragmas)
        client = await connect(port)
        run = f"r{os.getpid()}"

        async def start(i: int) -> None:
            await client.start_workflow("Bare", id=f"{run}-{i}", task_queue="bench-none")

        async def signal_one(i: int) -> None:
            await client.get_workflow_handle(f"{run}-{i}").signal("ping", i)

        start_time, start_lat = await timed_batch(n, concurrency, start)
        signal_time, _ = await timed_batch(n, concurrency, signal_one)
        server.send_signal(signal.SIGKILL)
        server.wait()
        server = start_server(db, port, pragmas)
        client = await connect(port)
        kept = 0
        for i in range(n):
            try:
                await client.get_workflow_handle(f"{run}-{i}").describe()
                kept += 1
            except RPCError:
                pass
        server.terminate()
        server.wait()
        print(
            f"{name:40s} starts {n / start_time:7.1f}/s (p50 {p(start_lat, 50):5.0f} ms,"
            f" p99 {p(start_lat, 99):5.0f} ms)  signals {n / signal_time:7.1f}/s"
            f"  kept after kill -9: {kept}/{n}",
            flush=True,
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    print(f"N={args.n} C={args.concurrency}, {os.cpu_count()} cores")
    for name, pragmas in PRAGMA_SETS.items():
        await measure(name, pragmas, args.n, args.concurrency)


if __name__ == "__main__":
    asyncio.run(main())
    os._exit(0)
