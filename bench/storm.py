"""The Monday storm: N tickets whose SLA warnings are due at the same second.

    .venv/bin/python bench/storm.py [--n 5000] [--settle-rate 0] [--lead 60] [--rounds 1]
        [--cached-workflows K] [--concurrency 50]

Tickets opened over a weekend share due instants counted from Monday 07:30; the bench
gives N tickets the same `registered_at`, so that their first-response warning is one
instant T a few minutes ahead. Each round, on the embedded stack as `soporte up` runs it
(bench/commands.py's SeasonStack), with a client, a contact, three engineers and a
supervisor (a warning mails the assignee and the supervisors, POLICY §VII):

1. bare: N bare workflows (bench/open_season.py's BareTimer, an in-process worker) with
   one timer each at one same instant, on the idle stack's server; from their histories,
   the lag from that instant to the timer firing and to the workflow task after it
   completing, and the drain (the last one's lag);
2. the storm: N real tickets through the intake service's own functions (open_season's
   SeasonIntake), T placed after the time the stack needs to settle them (a warm-up's
   rate, or --settle-rate); once T passed, until every warning is logged in the read
   model (`ticket_events`, polled every 0.2 s) and its mail sent (`outbound_mail.sent_at`,
   and its file in the Maildir outbox): the lag distribution from T to fired, to task
   completed, to logged and to mailed (p50, p99, max), the drain time (T to the last
   mail), and the counts (fired, logged, mailed, mailed twice, files in the Maildir).

T must fall in Bogota business hours (soporte.policy.calendar.OPENING_HOURS), where a P2
warning can fall due: the bench refuses (exit 2) otherwise, naming the next opening.

BENCH_PROFILE_WORKER=FILE runs the worker under cProfile (bench/commands.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from commands import PROFILE, SeasonStack, until_stack_idle  # noqa: E402
from open_season import (  # noqa: E402
    BareTimers,
    Lags,
    SeasonIntake,
    Watcher,
    first_sent,
    in_maildir,
    lags_of,
    load_average,
    mails_sent,
    print_medians,
    register_desk,
    registered_for_warning,
    require_counted,
    season_parser,
    settle_rate,
    ticket_body,
    timer_lags,
    until_settled,
)
from open_tickets import timed_all  # noqa: E402
from temporalio.client import Client  # noqa: E402

from soporte.temporal_client import quiet_runtime  # noqa: E402

BARE_WARMUP = 100
START_MARGIN = 0.6  # plan the bare starts at this share of the warm-up's rate
# And leave their first tasks this rate to run before T: a bare workflow whose first task
# runs after T has no timer to fire (BareTimer skips a passed instant), and a storm of
# such would flatter the server (2,409 of 5,000 on 2026-12-03, before this margin).
BARE_FIRST_TASKS_PER_S = 100
DRAIN_LIMIT = 1800.0


def line(lag: Lags) -> str:
    return lag.line().replace(" over 2 s", " >2 s")


async def bare_storm(stack: SeasonStack, n: int, concurrency: int, say: Any) -> dict[str, Lags]:
    client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", runtime=quiet_runtime())
    bare = BareTimers(client)
    async with bare.worker(n + BARE_WARMUP):
        started = time.perf_counter()
        await bare.start([datetime.now(UTC)] * BARE_WARMUP, concurrency)
        rate = BARE_WARMUP / (time.perf_counter() - started)
        bare.handles.clear()
        bare.due.clear()
        await until_stack_idle(stack, limit=120)
        lead = n / (rate * START_MARGIN) + n / BARE_FIRST_TASKS_PER_S + 10
        instant = datetime.now(UTC) + timedelta(seconds=lead)
        elapsed = await bare.start([instant] * n, concurrency)
        after_start = (instant - datetime.now(UTC)).total_seconds()
        await until_stack_idle(stack, limit=600)
        ahead = (instant - datetime.now(UTC)).total_seconds()
        say(
            f"bare: started {n} timer workflows in {elapsed:.1f} s, all due at T+0 "
            f"({after_start:.1f} s after the last start, idle {ahead:.1f} s before T); "
            f"{load_average()}"
        )
        if ahead < 0:
            say("bare: WARNING: first tasks ran past T; the late ones set no timer")
        while datetime.now(UTC) < instant + timedelta(seconds=2):
            await asyncio.sleep(0.5)
        await until_stack_idle(stack, limit=600)
        fired = await timer_lags(bare.handles, bare.due)
    return {
        "fired": lags_of("bare timer fired", bare.due, {k: f.fired for k, f in fired.items()}),
        "acted": lags_of("bare task completed", bare.due, {k: f.acted for k, f in fired.items()}),
    }


async def ticket_storm(
    stack: SeasonStack, season: SeasonIntake, args: argparse.Namespace, say: Any
) -> dict[str, Any]:
    n = args.n
    rate = await settle_rate(season, stack, args, say)
    instant = datetime.now(UTC) + timedelta(seconds=n / rate + args.lead)
    data = ticket_body(0)
    require_counted(data, instant)
    registered_at = registered_for_warning(data, instant, season.settings)
    due: dict[int, datetime] = {}

    async def open_one(index: int) -> None:
        ticket = await season.open(ticket_body(index), registered_at)
        due[ticket.number] = instant

    started = time.perf_counter()
    opened_in, _ = await timed_all(n, args.concurrency, open_one)
    await until_settled(stack, season.opened, limit=n / 2 + 600)
    await until_stack_idle(stack, limit=300)
    idle_before = (instant - datetime.now(UTC)).total_seconds()
    say(
        f"storm: opened {n} tickets in {opened_in:.1f} s, all registered at "
        f"{registered_at.isoformat()}, warnings due at T={instant.isoformat()}; stack idle "
        f"after {time.perf_counter() - started:.1f} s, {idle_before:.1f} s before T; "
        f"{load_average()}"
    )
    watcher = Watcher(stack.root / "soporte.db")
    watcher.start()
    while datetime.now(UTC) < instant:
        await asyncio.sleep(0.2)
    mails = await until_mailed(stack, due, watcher)
    drained = datetime.now(UTC)
    watcher.stop()
    assert season.temporal is not None  # nosec B101
    handles = {k: season.temporal.get_workflow_handle(f"ticket-{k}") for k in due}
    fired = await timer_lags(handles, due)
    ids = [mail_id for k in due for mail_id, _ in mails.get(k, [])]
    logged_at = {k: watcher.seen[k][0] for k in due if k in watcher.seen}
    return {
        "lags": {
            "fired": lags_of("ticket timer fired", due, {k: f.fired for k, f in fired.items()}),
            "acted": lags_of("ticket task completed", due, {k: f.acted for k, f in fired.items()}),
            "logged": lags_of(
                "ticket warning logged",
                due,
                {k: watcher.seen[k][1] if k in watcher.seen else None for k in due},
            ),
            "mailed": lags_of("ticket warning mailed", due, {k: first_sent(mails, k) for k in due}),
        },
        "idle_before_t": idle_before,
        "drain": (drained - instant).total_seconds(),
        "counts": {
            "tickets": n,
            "fired": sum(1 for f in fired.values() if f.fired is not None),
            "logged": len(logged_at),
            "logged_at_t": sum(
                1 for at in logged_at.values() if abs((at - instant).total_seconds()) < 0.01
            ),
            "mailed": sum(1 for k in due if first_sent(mails, k) is not None),
            "mailed_twice": sum(1 for k in due if len(mails.get(k, [])) > 1),
            "maildir_files": in_maildir(stack.root, ids),
        },
    }


async def until_mailed(
    stack: SeasonStack, due: dict[int, datetime], watcher: Watcher
) -> dict[int, list[tuple[str, datetime | None]]]:
    """Until every ticket's warning is logged and its mail sent (or DRAIN_LIMIT)."""
    started = time.perf_counter()
    while True:
        mails = mails_sent(stack.root / "soporte.db", "sla_warning")
        sent = sum(1 for k in due if first_sent(mails, k) is not None)
        logged = sum(1 for k in due if k in watcher.seen)
        if (sent == logged == len(due)) or time.perf_counter() - started > DRAIN_LIMIT:
            return mails
        if any(child.poll() is not None for child in stack.children):
            raise RuntimeError(f"a process of the stack ended; see the logs in {stack.root}")
        await asyncio.sleep(0.5)


async def one_round(args: argparse.Namespace) -> dict[str, float]:
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory(prefix="soporte-storm-") as tmp:
        stack = SeasonStack(Path(tmp), args.cached_workflows, PROFILE, args.workers)
        try:
            await stack.start()
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{stack.api_port}",
                headers={"Authorization": f"Bearer {stack.token}"},
                timeout=60,
            ) as http:
                token = await register_desk(http)
            season = SeasonIntake(stack)
            await season.connect(token)
            bare = await bare_storm(stack, args.n, args.concurrency, say)
            storm = await ticket_storm(stack, season, args, say)
            await season.close()
        finally:
            stack.stop()
    lags: dict[str, Lags] = storm["lags"]
    say(f"\n== the Monday storm: {args.n} warnings due at one instant T; {load_average()} ==")
    for lag in [*lags.values(), *bare.values()]:
        say(line(lag))
    bare_drain = max(bare["acted"].values, default=float("nan"))
    say(
        f"drain (T to the last warning mailed) {storm['drain']:.1f} s; bare drain (T to the "
        f"last bare task completed) {bare_drain:.1f} s; ratio {storm['drain'] / bare_drain:.1f}x"
    )
    say("counts: " + ", ".join(f"{k} {v}" for k, v in storm["counts"].items()))
    return {
        "logged_p50": lags["logged"].figure(0.5),
        "logged_p99": lags["logged"].figure(0.99),
        "logged_max": max(lags["logged"].values, default=float("nan")),
        "mailed_p50": lags["mailed"].figure(0.5),
        "mailed_p99": lags["mailed"].figure(0.99),
        "mailed_max": max(lags["mailed"].values, default=float("nan")),
        "fired_p99": lags["fired"].figure(0.99),
        "drain_s": storm["drain"],
        "bare_fired_p99": bare["fired"].figure(0.99),
        "bare_acted_p50": bare["acted"].figure(0.5),
        "bare_acted_p99": bare["acted"].figure(0.99),
        "bare_drain_s": bare_drain,
        "idle_before_t": storm["idle_before_t"],
        "unmailed": float(args.n - storm["counts"]["mailed"]),
        "mailed_twice": float(storm["counts"]["mailed_twice"]),
    }


async def main() -> None:
    args = season_parser(__doc__, 5000, "T").parse_args()
    print(f"storm: n {args.n}; {load_average()}", flush=True)
    require_counted(ticket_body(0), datetime.now(UTC) + timedelta(seconds=args.lead))
    rounds = [await one_round(args) for _ in range(args.rounds)]
    print_medians(args.n, rounds)


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
