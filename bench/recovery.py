"""Recovery: kill -9 the whole stack with N open tickets, start it again, count what was lost.

    .venv/bin/python bench/recovery.py [--n 10000] [--down 30] [--settle-rate 0] [--lead 60]
        [--rounds 1] [--cached-workflows K] [--skip-bare]

Each round:

1. bare: a dev server alone (dev_server_args, its own data dir) with N bare workflows
   (bench/open_season.py's BareTimer, an in-process worker), their timers due inside the
   downtime; SIGKILL the server, DOWN seconds later start it again on the same file: the
   time until it answers (the health check), and until every bare workflow whose timer
   came due while it was down has completed (a new in-process worker).
2. the stack as `soporte up` runs it (bench/commands.py's SeasonStack): N real tickets
   through the intake service's own functions (open_season's SeasonIntake), each with its
   first-response warning due inside the downtime [K + 2 s, K + DOWN - 2 s], where K, the
   kill, comes once the stack has settled them (a warm-up's rate, or --settle-rate). For
   the last seconds before K a load keeps running, through the API: new tickets (`POST
   /tickets`, a contact's token) and client messages on open tickets (`POST
   /tickets/{n}/messages`, each its own Idempotency-Key and a unique body). At K every
   process of the stack gets SIGKILL (dev server, worker, api) at once; DOWN seconds later
   the same Stack starts on the same data dir. It prints the time until `/healthz` is 200,
   until every warning that came due while it was down is logged and mailed, and the
   counts: tickets answered 201 before the kill that do not exist after (`GET
   /tickets/{n}`), messages answered 200/202 that are not in their ticket's log, mail
   owed (each log event carrying a notification id) that was not sent, or was sent twice
   (`outbound_mail` rows, files in the Maildir outbox). Goal: zero lost, zero twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from commands import PROFILE, SeasonStack, StatusHttp, until_stack_idle  # noqa: E402
from open_season import (  # noqa: E402
    BareTimers,
    SeasonIntake,
    Watcher,
    first_sent,
    in_maildir,
    load_average,
    mails_sent,
    open_season,
    print_medians,
    register_desk,
    season_parser,
    settle_rate,
    spread,
    until_settled,
)
from open_tickets import wait_port  # noqa: E402
from temporalio.client import Client  # noqa: E402

from launcher.stack import dev_server_args, temporal_binary  # noqa: E402
from soporte.temporal_client import quiet_runtime  # noqa: E402

LOAD_BEFORE_KILL = 5.0  # seconds of API load before the kill
LOAD_CONCURRENCY = 8
DRAIN_LIMIT = 1800.0


class RecoveryStack(SeasonStack):
    def kill(self) -> None:
        """SIGKILL every process of the stack at once, as a power cut would."""
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
        for child in self.children:
            child.wait()
        self.children.clear()


# --- Bare: the dev server alone --------------------------------------------------------------


async def until_answers(client: Client, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if await client.service_client.check_health():
                return
        except Exception:  # nosec B110  # not up yet
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the dev server did not answer after its restart")


async def bare_recovery(n: int, down: float, concurrency: int, say: Any) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="soporte-recovery-bare-") as tmp:
        stack = RecoveryStack(Path(tmp), None, None)
        port = stack.temporal_port
        args = dev_server_args(temporal_binary(), stack.root / "temporal.db", port, None)
        try:
            stack.spawn("temporal", args)
            await wait_port(port)
            client = await Client.connect(f"127.0.0.1:{port}", runtime=quiet_runtime())
            bare = BareTimers(client)
            # The timers' window is placed after the starts: plan them at ~50/s.
            kill_at = datetime.now(UTC) + timedelta(seconds=n / 50 + 10)
            instants = spread(kill_at + timedelta(seconds=2), down - 4, n)
            async with bare.worker(n):
                started_in = await bare.start(instants, concurrency)
            say(
                f"bare: {n} timer workflows started in {started_in:.1f} s on a dev server "
                f"alone; kill at K{(datetime.now(UTC) - kill_at).total_seconds():+.1f} s"
            )
            while datetime.now(UTC) < kill_at:
                await asyncio.sleep(0.1)
            stack.kill()
            killed = time.perf_counter()
            await asyncio.sleep(down)
            restarted = time.perf_counter()
            stack.spawn("temporal", args)
            fresh = await Client.connect(f"127.0.0.1:{port}", runtime=quiet_runtime(), lazy=True)
            await until_answers(fresh)
            healthy = time.perf_counter() - restarted
            bare.client = fresh = await Client.connect(
                f"127.0.0.1:{port}", runtime=quiet_runtime()
            )  # a worker needs a connected client
            async with bare.worker(n):
                await until_bare_done(fresh)
            handled = time.perf_counter() - restarted
        finally:
            stack.stop()
    say(
        f"bare: down {restarted - killed:.1f} s; answering {healthy:.2f} s after the restart, "
        f"all {n} timers handled {handled:.2f} s after it; {load_average()}"
    )
    return {"bare_healthy_s": healthy, "bare_handled_s": handled}


async def until_bare_done(client: Client, limit: float = DRAIN_LIMIT) -> None:
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        running = await client.count_workflows("ExecutionStatus = 'Running'")
        if running.count == 0:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("bare timers still running")


# --- The stack ---------------------------------------------------------------------------


@dataclass
class Acknowledged:
    """What the API acknowledged before the kill."""

    opened: list[int] = field(default_factory=list)  # 201
    messages: dict[str, int] = field(default_factory=dict)  # body -> number, 200/202
    refused: int = 0  # answered with an error
    cut: int = 0  # no answer (the kill cut it)


async def load_until_killed(
    lean: StatusHttp, contact: dict[str, str], targets: list[int], stop: asyncio.Event
) -> Acknowledged:
    """Openings and client messages, alternating, until `stop` (the kill)."""
    done = Acknowledged()
    counter = iter(range(10**9))

    async def one() -> None:
        index = next(counter)
        try:
            if index % 2 == 0:
                body = {
                    "kind": "support",
                    "category": "facturacion",
                    "subject": f"Antes del corte {index}",
                    "description": "No puedo facturar",
                    "expected_result": "facturar",
                }
                opened = await lean.post_json("/api/v1/tickets", body, contact)
                done.opened.append(opened["number"])
            else:
                number = targets[index % len(targets)]
                text = f"recovery-{uuid.uuid4().hex}"
                headers = {**contact, "Idempotency-Key": uuid.uuid4().hex}
                status = await lean.post_status(
                    f"/api/v1/tickets/{number}/messages", {"body": text}, headers
                )
                if status in (200, 201, 202):
                    done.messages[text] = number
                else:
                    done.refused += 1
        except RuntimeError:
            done.refused += 1
        except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration):
            done.cut += 1

    async def loop() -> None:
        while not stop.is_set():
            await one()

    tasks = [asyncio.create_task(loop()) for _ in range(LOAD_CONCURRENCY)]
    await stop.wait()
    await asyncio.sleep(0.5)  # the answers the kill cut end in errors
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return done


async def until_healthy(port: int, limit: float = 300) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        while time.perf_counter() - started < limit:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return time.perf_counter() - started
            await asyncio.sleep(0.05)
    raise RuntimeError("/healthz not 200 after the restart")


def owed_mail(db: Path) -> list[str]:
    """Every notification id the tickets' logs owe (each event that carries one)."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT json_extract(data, '$.notification_id') FROM ticket_events"
            " WHERE json_extract(data, '$.notification_id') IS NOT NULL"
        ).fetchall()
    return [mail_id for (mail_id,) in rows]


def mail_rows(db: Path) -> dict[str, str | None]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT id, sent_at FROM outbound_mail").fetchall())


def logged_bodies(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT body, number FROM ticket_events WHERE body LIKE 'recovery-%'"
        ).fetchall()
    return dict(rows)


async def until_drained(
    stack: RecoveryStack,
    overdue: dict[int, datetime],
    watcher: Watcher,
    started: float,
    limit: float,
) -> tuple[float, float]:
    """Seconds from `started` until every overdue warning is logged, and until each is
    mailed too."""
    logged_in: float | None = None
    while time.perf_counter() - started < limit:
        if logged_in is None and all(k in watcher.seen for k in overdue):
            logged_in = time.perf_counter() - started
        if logged_in is not None:
            mails = mails_sent(stack.root / "soporte.db", "sla_warning")
            if all(first_sent(mails, k) is not None for k in overdue):
                return logged_in, time.perf_counter() - started
        await asyncio.sleep(0.25)
    raise RuntimeError(f"overdue warnings not all handled after {limit:.0f} s")


async def stack_recovery(args: argparse.Namespace, say: Any) -> dict[str, float]:
    n, down = args.n, args.down
    with tempfile.TemporaryDirectory(prefix="soporte-recovery-") as tmp:
        stack = RecoveryStack(Path(tmp), args.cached_workflows, PROFILE)
        try:
            await stack.start()
            return await kill_and_restart(stack, n, down, args, say)
        finally:
            stack.stop()


async def kill_and_restart(
    stack: RecoveryStack, n: int, down: float, args: argparse.Namespace, say: Any
) -> dict[str, float]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{stack.api_port}",
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=60,
    ) as http:
        token = await register_desk(http)
    contact = {"Authorization": f"Bearer {token}"}
    season = SeasonIntake(stack)
    await season.connect(token)
    rate = await settle_rate(season, stack, args, say)
    kill_at = datetime.now(UTC) + timedelta(seconds=n / rate + args.lead)
    instants = spread(kill_at + timedelta(seconds=2), down - 4, n)
    warnings, opened_in = await open_season(season, instants, args.concurrency)
    await until_settled(stack, season.opened, limit=n / 2 + 600)
    await until_stack_idle(stack, limit=300)
    await season.close()
    say(
        f"stack: opened {n} tickets in {opened_in:.1f} s, idle at "
        f"K{(datetime.now(UTC) - kill_at).total_seconds():+.1f} s; {load_average()}"
    )
    lean = StatusHttp(stack.api_port, LOAD_CONCURRENCY)
    await lean.open()
    while datetime.now(UTC) < kill_at - timedelta(seconds=LOAD_BEFORE_KILL):
        await asyncio.sleep(0.1)
    stop = asyncio.Event()
    load = asyncio.create_task(load_until_killed(lean, contact, sorted(warnings)[:500], stop))
    while datetime.now(UTC) < kill_at:
        await asyncio.sleep(0.05)
    stack.kill()
    killed_at = datetime.now(UTC)
    stop.set()
    acknowledged = await load
    await asyncio.sleep(max(0.0, down - (datetime.now(UTC) - killed_at).total_seconds()))
    restarted = time.perf_counter()
    restarted_at = datetime.now(UTC)
    start = asyncio.create_task(stack.start())
    healthy = await until_healthy(stack.api_port)
    await start
    overdue = {k: at for k, at in warnings.items() if killed_at < at <= restarted_at}
    watcher = Watcher(stack.root / "soporte.db")
    watcher.start()
    logged_in, mailed_in = await until_drained(stack, overdue, watcher, restarted, DRAIN_LIMIT)
    await until_stack_idle(stack, limit=600)
    handled = time.perf_counter() - restarted
    watcher.stop()
    say(
        f"stack: killed at K{(killed_at - kill_at).total_seconds():+.2f} s, down "
        f"{(restarted_at - killed_at).total_seconds():.1f} s, {len(overdue)} warnings came due "
        f"while down; /healthz 200 {healthy:.2f} s after the restart, every overdue warning "
        f"logged {logged_in:.1f} s and mailed {mailed_in:.1f} s after it, the stack idle "
        f"{handled:.1f} s after it; {load_average()}"
    )
    counts = await losses(stack, acknowledged)
    say("acknowledged before the kill: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return {
        "healthy_s": healthy,
        "handled_s": mailed_in,
        "logged_s": logged_in,
        "idle_s": handled,
        "overdue": float(len(overdue)),
        **{k: float(v) for k, v in counts.items()},
    }


async def losses(stack: RecoveryStack, acknowledged: Acknowledged) -> dict[str, int]:
    db = stack.root / "soporte.db"
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{stack.api_port}",
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=60,
    ) as http:
        missing = 0
        for number in acknowledged.opened:
            if (await http.get(f"/api/v1/tickets/{number}")).status_code != 200:
                missing += 1
    logged = logged_bodies(db)
    owed = owed_mail(db)
    rows = mail_rows(db)
    return {
        "opened_201": len(acknowledged.opened),
        "opened_lost": missing,
        "messages_2xx": len(acknowledged.messages),
        "messages_lost": sum(
            1 for body, number in acknowledged.messages.items() if logged.get(body) != number
        ),
        "answers_cut": acknowledged.cut,
        "answers_refused": acknowledged.refused,
        "mail_owed": len(owed),
        "mail_unsent": sum(1 for mail_id in owed if not rows.get(mail_id)),
        "maildir_files": in_maildir(stack.root, owed),
        "mail_rows_not_owed": len(set(rows) - set(owed)),
    }


async def one_round(args: argparse.Namespace) -> dict[str, float]:
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    figures: dict[str, float] = {}
    if not args.skip_bare:
        figures.update(await bare_recovery(args.n, args.down, args.concurrency, say))
    figures.update(await stack_recovery(args, say))
    if "bare_healthy_s" in figures:
        say(
            f"ratios stack/bare: healthy {figures['healthy_s'] / figures['bare_healthy_s']:.1f}x"
            f", all overdue handled {figures['handled_s'] / figures['bare_handled_s']:.1f}x"
        )
    return figures


async def main() -> None:
    parser = season_parser(__doc__, 10_000, "the kill")
    parser.add_argument("--down", type=float, default=30, help="seconds the stack stays down")
    parser.add_argument("--skip-bare", action="store_true")
    args = parser.parse_args()
    print(f"recovery: n {args.n}, down {args.down:g} s; {load_average()}", flush=True)
    rounds = [await one_round(args) for _ in range(args.rounds)]
    print_medians(args.n, rounds)


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
