"""N open tickets with their SLA timers live: worker RSS, database per ticket, timer lag.

    .venv/bin/python bench/open_season.py [--n 10000] [--window 300] [--timed M]
        [--settle-rate 0] [--lead 60] [--rounds 1] [--cached-workflows K] [--concurrency 50]

Each round starts the embedded stack as `soporte up` does (bench/open_tickets.py's Stack
through bench/commands.py's SeasonStack: the file-backed dev server, `soporte worker` and
`soporte api` processes, a SQLite read model) and registers a client, a contact and
three engineers (and a supervisor, so a warning mails the assignee and a supervisor).

It opens N real support tickets through the intake service's own functions
(soporte.services.intake: resolve_reporter, allocate with its `amend`, start_workflow:
the `ticket_intake` row, then the product's workflow start), with `registered_at` chosen
per ticket so that its first-response warning falls in a window [T0, T0 + WINDOW]
(spread evenly): T0 is now + N / SETTLE_RATE + LEAD, the time the stack needs to register,
assign and acknowledge them all and go idle (SETTLE_RATE 0, the default: 0.7 of the rate a
warm-up of 100 tickets settled at, this machine's pace right now). When it is idle it
prints the worker's RSS and the databases' size per ticket (temporal.db + its WAL,
soporte.db + its WAL), then starts N bare workflows on the same server (an in-process
worker) with one timer each at the same instants as the tickets' warnings.

Once the window has passed and the stack is idle, it reads for each ticket its sla_warning
row in the projected `ticket_events` (its `at` is the instant it was due), when that row
appeared (polled every 0.2 s), when the warning mail was sent (`outbound_mail.sent_at`),
and from the workflow history when the server fired the timer and when the worker's next
workflow task completed; for each bare workflow the same two from its history. It prints
lag percentiles from the due instant, the count over 2 s (goal: none at steady state),
and product/bare ratios. Timers due before the stack was idle (SETTLE_RATE too high for
this machine) are counted apart: they did not fire at steady state.

The window must fall in Bogota business hours (soporte.policy.calendar.OPENING_HOURS), where
a P2 warning can fall due: the bench refuses (exit 2) otherwise, naming the next opening.

--timed M puts only M of the N warnings in the window (spread among the N tickets), the
others' a day after it (a registration instant ahead: their timers live all the same), so
that N open tickets see warnings at a steady rate, M / WINDOW a second, not a storm.

BENCH_PROFILE_WORKER=FILE runs the worker under cProfile (bench/commands.py).

Helpers here (SeasonIntake, registered_for_warning, BareTimer, timer_lags, Watcher) are
shared by bench/storm.py and bench/recovery.py.
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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from commands import PROFILE, SeasonStack, rss_mb, until_stack_idle  # noqa: E402
from open_tickets import percentile, register, timed_all  # noqa: E402
from temporalio import workflow  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHandle  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from soporte.db.session import create_engine, create_sessionmaker, engine_of  # noqa: E402
from soporte.email.transport import maildir_name  # noqa: E402
from soporte.policy import Kind, sla  # noqa: E402
from soporte.policy.tickets import TicketInput  # noqa: E402
from soporte.policy.triage import starting_priority, suggest_priority  # noqa: E402
from soporte.services import intake  # noqa: E402
from soporte.services.auth import authenticate  # noqa: E402
from soporte.services.schemas import TicketCreate  # noqa: E402
from soporte.settings import Settings, load_settings  # noqa: E402
from soporte.temporal_client import connect, quiet_runtime  # noqa: E402

GOAL_LAG = 2.0
GOAL_RSS_MB = 500
SUPERVISOR = "supervisora@btw.com.co"
WARMUP_TICKETS = 100
PROGRESS_EVERY = 120.0
LATER = timedelta(days=1)  # --timed: when the other tickets' warnings start falling due
SETTLE_MARGIN = 0.7  # a large batch settles slower than the warm-up (more history, cache)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


# --- Opening real tickets with a chosen registration instant ------------------------------


def ticket_body(index: int) -> TicketCreate:
    return TicketCreate(
        kind=Kind.SUPPORT,
        category="facturacion",
        subject=f"Temporada {index}",
        description="No puedo facturar",
        expected_result="facturar",
    )


def priority_of(data: TicketCreate) -> sla.Priority:
    system = suggest_priority(data.kind, data.category, f"{data.subject}\n{data.description}")
    return starting_priority(data.kind, data.suggested_priority, system).priority


def registered_for_warning(
    data: TicketCreate, warning_at: datetime, settings: Settings
) -> datetime:
    """The registration instant whose first-response warning is `warning_at` (or the first
    instant after it the calendar allows), found by bisection on the policy's own
    sla.due_instants (counted time only grows with the start)."""
    priority = priority_of(data)
    holidays = intake.holidays_for(warning_at)
    ratio = settings.policy().warning_ratio

    def warning(start: datetime) -> datetime:
        due = sla.due_instants(priority, start, holidays, warning_ratio=ratio)
        assert due.first_response_warning is not None  # nosec B101  # no pause at start
        return due.first_response_warning

    low, high = warning_at - timedelta(days=14), warning_at
    while high - low > timedelta(milliseconds=1):
        middle = low + (high - low) / 2
        if warning(middle) < warning_at:
            low = middle
        else:
            high = middle
    return high


def require_counted(data: TicketCreate, *instants: datetime) -> None:
    """Exit (2) unless the ticket's SLA clock counts every one of `instants`: a P2 warning
    can only fall due in business hours (soporte.policy.calendar.OPENING_HOURS), so a T
    outside them would move to the next opening, hours after the bench stops waiting."""
    for instant in instants:
        clock = sla.clock_for(priority_of(data), intake.holidays_for(instant))
        if not clock.is_open(instant):
            # Counting the smallest duration from a closed instant starts at the next opening.
            opens = clock.add(instant, timedelta(microseconds=1)) - timedelta(microseconds=1)
            print(
                f"refused: T={instant.isoformat()} is outside the business hours a "
                f"{priority_of(data).value} warning counts (POLICY.md, 'Service levels'); the "
                f"next opening is {opens.isoformat()}: run this benchmark then",
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(2)


class SeasonIntake:
    """Opens tickets as the API's POST /tickets does (soporte.services.intake's functions,
    in this process), except that `registered_at` is given."""

    def __init__(self, stack: SeasonStack) -> None:
        self.stack = stack
        self.settings = load_settings(
            data_dir=stack.root,
            database_url=stack.db_url,
            temporal_address=f"127.0.0.1:{stack.temporal_port}",
            admin_token=stack.token,
        )
        self.engine = create_engine(stack.db_url)
        self.sessions = create_sessionmaker(self.engine)
        self.temporal: Client | None = None
        self.principal: Any = None
        self.opened = 0  # tickets this process opened

    async def connect(self, contact_token: str) -> None:
        self.temporal = await connect(self.settings, runtime=quiet_runtime())
        self.principal = await authenticate(self.engine, contact_token, self.stack.token)

    async def open(self, data: TicketCreate, registered_at: datetime) -> TicketInput:
        assert self.temporal is not None  # nosec B101  # connect() first
        amend = {"registered_at": registered_at, "holidays": intake.holidays_for(registered_at)}
        async with self.sessions() as session:
            reporter, channel = await intake.resolve_reporter(
                session, self.principal, data, self.settings
            )
            if session.in_transaction():
                await session.commit()
            ticket, replayed = await intake.allocate(
                session, self.principal, data, None, reporter, channel, self.settings, amend
            )
            started = await intake.start_workflow(
                self.temporal,
                self.settings,
                ticket,
                replay=replayed,
                engine=engine_of(session.bind),
            )
        self.opened += 1
        return started

    async def close(self) -> None:
        await self.engine.dispose()


async def register_desk(http: httpx.AsyncClient) -> str:
    """open_tickets.register (client, contact, three engineers) and a supervisor; the
    contact's token (the Authorization header's value without `Bearer `)."""
    headers = await register(http)
    staff = {"name": "Supervisora", "email": SUPERVISOR, "roles": ["supervisor"]}
    (await http.post("/api/v1/staff", json=staff)).raise_for_status()
    return headers["Authorization"].removeprefix("Bearer ")


def spread(start: datetime, window: float, n: int) -> list[datetime]:
    """N instants evenly over [start, start + window]."""
    step = window / max(1, n - 1)
    return [start + timedelta(seconds=i * step) for i in range(n)]


def spread_among(timed: list[datetime], later: list[datetime]) -> list[datetime]:
    """The timed instants spread evenly among the later ones, in the order of each."""
    slots: list[datetime | None] = [None] * (len(timed) + len(later))
    for j, at in enumerate(timed):
        slots[j * len(slots) // len(timed)] = at
    rest = iter(later)
    return [at if at is not None else next(rest) for at in slots]


async def open_season(
    season: SeasonIntake, instants: list[datetime], concurrency: int
) -> tuple[dict[int, datetime], float]:
    """Open one ticket per instant, its warning due then; {number: warning instant}."""
    warnings: dict[int, datetime] = {}

    async def open_one(index: int) -> None:
        data = ticket_body(index)
        at = instants[index]
        ticket = await season.open(data, registered_for_warning(data, at, season.settings))
        warnings[ticket.number] = at

    elapsed, _ = await timed_all(len(instants), concurrency, open_one)
    return warnings, elapsed


async def until_settled(stack: SeasonStack, total: int, limit: float) -> float:
    """Until `total` tickets (all opened so far) are acknowledged in the read model; seconds
    taken. Every PROGRESS_EVERY seconds a line: how many, the worker's RSS, the load (a
    long run on a busy machine still tells where it got)."""
    started = reported = time.perf_counter()
    while time.perf_counter() - started < limit:
        with sqlite3.connect(stack.root / "soporte.db") as db:
            done = db.execute(
                "SELECT count(DISTINCT number) FROM ticket_events WHERE type = 'acknowledged'"
            ).fetchone()[0]
        if done >= total:
            return time.perf_counter() - started
        if time.perf_counter() - reported > PROGRESS_EVERY:
            reported = time.perf_counter()
            print(
                f"  settling: {done}/{total} acknowledged after {reported - started:.0f} s, "
                f"worker RSS {rss_mb(stack.pids['worker']):.0f} MB; {load_average()}",
                flush=True,
            )
        if any(child.poll() is not None for child in stack.children):
            raise RuntimeError(f"a process of the stack ended; see the logs in {stack.root}")
        await asyncio.sleep(1.0)
    raise RuntimeError(f"tickets not all acknowledged after {limit:.0f} s")


def sizes_per_ticket(stack: SeasonStack, n: int) -> dict[str, float]:
    """KB per ticket of each database file set (main file + WAL)."""

    def size(name: str) -> int:
        return sum(
            path.stat().st_size
            for path in (stack.root / name, stack.root / f"{name}-wal")
            if path.exists()
        )

    return {
        "temporal_kb": size("temporal.db") / n / 1024,
        "read_model_kb": size("soporte.db") / n / 1024,
    }


# --- Bare timers ---------------------------------------------------------------------------


@workflow.defn(sandboxed=False)
class BareTimer:
    """The floor of a ticket's deadline: one timer, at the given instant."""

    @workflow.run
    async def run(self, due: str) -> None:
        wait = datetime.fromisoformat(due) - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait)


@dataclass
class BareTimers:
    """N bare workflows, each with one timer, run by a worker in this process."""

    client: Client
    queue: str = field(default_factory=lambda: f"bare-{uuid.uuid4().hex}")
    handles: dict[str, WorkflowHandle[Any, Any]] = field(default_factory=dict)
    due: dict[str, datetime] = field(default_factory=dict)

    def worker(self, size: int) -> Worker:
        return Worker(
            self.client,
            task_queue=self.queue,
            workflows=[BareTimer],
            max_cached_workflows=size + 10,
        )

    async def start(self, instants: list[datetime], concurrency: int) -> float:
        async def start_one(index: int) -> None:
            workflow_id = f"bare-timer-{uuid.uuid4().hex}"
            self.due[workflow_id] = instants[index]
            self.handles[workflow_id] = await self.client.start_workflow(
                BareTimer.run, instants[index].isoformat(), id=workflow_id, task_queue=self.queue
            )

        elapsed, _ = await timed_all(len(instants), concurrency, start_one)
        return elapsed


# --- Reading when timers fired -------------------------------------------------------------


@dataclass
class Fired:
    """From a workflow's history: when its first timer at or after `due` fired, and when
    the next workflow task (the worker acting on it) completed. None: no such timer."""

    fired: datetime | None
    acted: datetime | None


async def fired_after(handle: WorkflowHandle[Any, Any], due: datetime) -> Fired:
    history = await handle.fetch_history()
    fired: datetime | None = None
    for event in history.events:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        if fired is None:
            if event.event_type == EventType.EVENT_TYPE_TIMER_FIRED and at >= due - timedelta(
                seconds=1
            ):
                fired = at
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return Fired(fired, at)
    return Fired(fired, None)


async def timer_lags(
    handles: dict[Any, WorkflowHandle[Any, Any]], due: dict[Any, datetime], concurrency: int = 20
) -> dict[Any, Fired]:
    keys = list(handles)
    out: dict[Any, Fired] = {}

    async def read(index: int) -> None:
        key = keys[index]
        out[key] = await fired_after(handles[key], due[key])

    await timed_all(len(keys), concurrency, read)
    return out


def parse_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Watcher:
    """Polls the read model for new SLA rows (`ticket_events`, by id): when each appeared."""

    def __init__(self, db: Path, types: tuple[str, ...] = ("sla_warning",)) -> None:
        self.db = db
        self.types = types
        self.last_id = 0
        self.seen: dict[int, tuple[datetime, datetime]] = {}  # number -> (at, seen)
        self._task: asyncio.Task[None] | None = None

    def poll(self) -> None:
        marks = ",".join("?" * len(self.types))
        try:
            with sqlite3.connect(self.db, timeout=5) as db:
                rows = db.execute(
                    f"SELECT id, number, at FROM ticket_events WHERE id > ? AND type IN ({marks})"  # nosec B608  # placeholders only
                    " ORDER BY id",
                    (self.last_id, *self.types),
                ).fetchall()
        except sqlite3.OperationalError:
            return  # locked or gone (a killed stack): the next poll sees it
        now = datetime.now(UTC)
        for row_id, number, at in rows:
            self.last_id = max(self.last_id, row_id)
            self.seen.setdefault(number, (parse_utc(at), now))

    async def _run(self, every: float) -> None:
        while True:
            self.poll()
            await asyncio.sleep(every)

    def start(self, every: float = 0.2) -> None:
        self._task = asyncio.create_task(self._run(every))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.poll()


def mails_sent(db: Path, template: str) -> dict[int, list[tuple[str, datetime | None]]]:
    """Per ticket, each outbound mail row of `template`: (notification id, sent_at or None)."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT id, number, sent_at FROM outbound_mail WHERE id LIKE ?", (f"%-{template}",)
        ).fetchall()
    out: dict[int, list[tuple[str, datetime | None]]] = {}
    for mail_id, number, sent_at in rows:
        out.setdefault(number, []).append((mail_id, parse_utc(sent_at) if sent_at else None))
    return out


def first_sent(mails: dict[int, list[tuple[str, datetime | None]]], number: int) -> datetime | None:
    sent = [at for _, at in mails.get(number, []) if at is not None]
    return min(sent) if sent else None


def in_maildir(root: Path, ids: Iterable[str]) -> int:
    """How many of the notification ids have their file in the Maildir outbox (the file
    is named from the id: soporte.email.transport.maildir_name)."""
    outbox = root / "mail" / "outbox"
    names = {path.name.split(":")[0] for box in ("new", "cur") for path in (outbox / box).glob("*")}
    return sum(1 for mail_id in ids if maildir_name(mail_id) in names)


async def calibrate(season: SeasonIntake, stack: SeasonStack, k: int, concurrency: int) -> float:
    """Tickets/s the stack settles (opened, assigned, acknowledged, idle) on this machine
    now: K tickets registered now (their own deadlines far ahead)."""
    started = time.perf_counter()

    async def open_one(index: int) -> None:
        await season.open(ticket_body(index), datetime.now(UTC))

    await timed_all(k, concurrency, open_one)
    await until_settled(stack, season.opened, limit=600)
    await until_stack_idle(stack, limit=300)
    return k / (time.perf_counter() - started)


# --- Figures -------------------------------------------------------------------------------


@dataclass
class Lags:
    name: str
    values: list[float]
    missing: int = 0

    def over(self, limit: float) -> int:
        return sum(1 for v in self.values if v > limit)

    def line(self) -> str:
        if not self.values:
            return f"{self.name:<26} none measured (missing {self.missing})"
        v = self.values
        return (
            f"{self.name:<26} n {len(v):>6}  p50 {percentile(v, 0.5):7.3f} s  p99 "
            f"{percentile(v, 0.99):7.3f} s  max {max(v):7.3f} s  over {GOAL_LAG:g} s "
            f"{self.over(GOAL_LAG):>5}  missing {self.missing}"
        )

    def figure(self, fraction: float) -> float:
        return percentile(self.values, fraction) if self.values else float("nan")


def lags_of(name: str, due: dict[Any, datetime], at: dict[Any, datetime | None]) -> Lags:
    values = [(seen - due[key]).total_seconds() for key in due if (seen := at.get(key))]
    return Lags(name, values, missing=len(due) - len(values))


def ratio(product: Lags, bare: Lags, fraction: float) -> str:
    below = bare.figure(fraction)
    if not below or below != below:
        return "n/a"
    return f"{product.figure(fraction) / below:.1f}x"


# --- One round -----------------------------------------------------------------------------


@dataclass
class Round:
    figures: dict[str, float]
    lines: list[str]


async def settle_rate(
    season: SeasonIntake, stack: SeasonStack, args: argparse.Namespace, say: Any
) -> float:
    """--settle-rate, or (0) a warm-up's rate with a margin: the stack's pace right now."""
    if args.settle_rate > 0:
        return float(args.settle_rate)
    measured = await calibrate(season, stack, WARMUP_TICKETS, args.concurrency)
    say(
        f"warm-up: {WARMUP_TICKETS} tickets settled at {measured:.1f}/s; planning at "
        f"{measured * SETTLE_MARGIN:.1f}/s; {load_average()}"
    )
    return measured * SETTLE_MARGIN


async def one_round(args: argparse.Namespace) -> Round:
    with tempfile.TemporaryDirectory(prefix="soporte-open-season-") as tmp:
        stack = SeasonStack(Path(tmp), args.cached_workflows, PROFILE, args.workers)
        try:
            await stack.start()
            return await measure(stack, args)
        finally:
            stack.stop()


async def measure(stack: SeasonStack, args: argparse.Namespace) -> Round:
    n = args.n
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{stack.api_port}",
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=60,
    ) as http:
        token = await register_desk(http)
    season = SeasonIntake(stack)
    await season.connect(token)
    rate = await settle_rate(season, stack, args, say)
    watcher = Watcher(stack.root / "soporte.db")
    watcher.start()
    t0 = datetime.now(UTC) + timedelta(seconds=n / rate + args.lead)
    timed = args.timed or n
    instants = spread(t0, args.window, timed)
    window_end = instants[-1]
    require_counted(ticket_body(0), t0, window_end)
    later = spread(window_end + LATER, LATER.total_seconds(), n - timed)
    started = time.perf_counter()
    warnings, opened_in = await open_season(season, spread_among(instants, later), args.concurrency)
    if later:
        say(
            f"{timed} of {n} tickets have their first-response warning in the window "
            f"({args.window:g} s from T0); the other {len(later)} have theirs live, due "
            f"{LATER.total_seconds() / 3600:g} to {2 * LATER.total_seconds() / 3600:g} hours "
            "after the window"
        )
    settled_in = await until_settled(stack, season.opened, limit=n / 2 + 600)
    await until_stack_idle(stack, limit=300)
    idle_at = datetime.now(UTC)
    say(
        f"opened {n} tickets in {opened_in:.1f} s ({n / opened_in:.0f}/s, intake service), "
        f"acknowledged after {time.perf_counter() - started:.1f} s "
        f"(settled {settled_in:.1f} s after the last start), idle at T0"
        f"{(idle_at - t0).total_seconds():+.1f} s; {load_average()}"
    )
    rss = rss_mb(stack.pids["worker"])
    size = sizes_per_ticket(stack, n)
    say(
        f"idle with {n} open tickets: worker RSS {rss:.0f} MB (goal < {GOAL_RSS_MB}), "
        f"server RSS {rss_mb(stack.pids['temporal']):.0f} MB, api RSS "
        f"{rss_mb(stack.pids['api']):.0f} MB; temporal.db+wal {size['temporal_kb']:.1f} KB "
        f"per ticket, soporte.db+wal {size['read_model_kb']:.1f} KB per ticket"
    )
    # The bare timers at the same instants, on the same server.
    bare_client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", runtime=quiet_runtime())
    bare = BareTimers(bare_client)
    async with bare.worker(timed):
        bare_in = await bare.start(instants, args.concurrency)
        say(f"started {timed} bare timer workflows in {bare_in:.1f} s; {load_average()}")
        end = window_end + timedelta(seconds=5)
        while datetime.now(UTC) < end:
            await asyncio.sleep(1)
        say(f"window over; {load_average()}")
        await until_stack_idle(stack, limit=300)
        rss_after = rss_mb(stack.pids["worker"])
    watcher.stop()
    assert season.temporal is not None  # nosec B101
    warnings = {k: at for k, at in warnings.items() if at <= window_end}
    handles = {k: season.temporal.get_workflow_handle(f"ticket-{k}") for k in warnings}
    product_fired = await timer_lags(handles, warnings)
    bare_fired = await timer_lags(bare.handles, bare.due)
    mails = mails_sent(stack.root / "soporte.db", "sla_warning")
    await season.close()
    return summarize(
        n,
        warnings,
        idle_at,
        watcher,
        product_fired,
        bare,
        bare_fired,
        mails,
        rss,
        rss_after,
        size,
        say,
        lines,
    )


def summarize(
    n: int,
    warnings: dict[int, datetime],
    idle_at: datetime,
    watcher: Watcher,
    product_fired: dict[int, Fired],
    bare: BareTimers,
    bare_fired: dict[str, Fired],
    mails: dict[int, list[tuple[str, datetime | None]]],
    rss: float,
    rss_after: float,
    size: dict[str, float],
    say: Any,
    lines: list[str],
) -> Round:
    steady = {k: at for k, at in warnings.items() if at > idle_at}
    early = len(warnings) - len(steady)
    logged_due = {k: watcher.seen[k][0] for k in steady if k in watcher.seen}
    drift = [abs((logged_due[k] - steady[k]).total_seconds()) for k in logged_due]
    steady_bare = {k: at for k, at in bare.due.items() if at > idle_at}
    product = {
        "fired": lags_of("ticket timer fired", steady, {k: product_fired[k].fired for k in steady}),
        "acted": lags_of(
            "ticket task completed", steady, {k: product_fired[k].acted for k in steady}
        ),
        "logged": lags_of(
            "ticket warning logged",
            steady,
            {k: watcher.seen[k][1] if k in watcher.seen else None for k in steady},
        ),
        "mailed": lags_of(
            "ticket warning mailed", steady, {k: first_sent(mails, k) for k in steady}
        ),
    }
    bare_lags = {
        "fired": lags_of(
            "bare timer fired", steady_bare, {k: bare_fired[k].fired for k in steady_bare}
        ),
        "acted": lags_of(
            "bare task completed", steady_bare, {k: bare_fired[k].acted for k in steady_bare}
        ),
    }
    doubled = sum(1 for sent in mails.values() if len(sent) > 1)
    say(
        f"\n== {n} open tickets; {len(steady)} warnings due after the stack was idle "
        f"(steady state), {early} before (not counted); {load_average()} =="
    )
    for lag in [*product.values(), *bare_lags.values()]:
        say(lag.line())
    say(
        f"ratios ticket/bare: fired p99 {ratio(product['fired'], bare_lags['fired'], 0.99)}, "
        f"acted p50 {ratio(product['acted'], bare_lags['acted'], 0.5)} p99 "
        f"{ratio(product['acted'], bare_lags['acted'], 0.99)}; logged row's instant vs the "
        f"chosen one: max {max(drift, default=0):.3f} s; warning mails sent twice: {doubled}"
    )
    say(f"worker RSS after the window {rss_after:.0f} MB")
    figures = {
        "worker_rss_mb": rss,
        "worker_rss_after_mb": rss_after,
        **size,
        "steady": float(len(steady)),
        "logged_p50": product["logged"].figure(0.5),
        "logged_p99": product["logged"].figure(0.99),
        "logged_max": max(product["logged"].values, default=float("nan")),
        "logged_over_2s": float(product["logged"].over(GOAL_LAG) + product["logged"].missing),
        "mailed_p99": product["mailed"].figure(0.99),
        "acted_p99": product["acted"].figure(0.99),
        "bare_acted_p99": bare_lags["acted"].figure(0.99),
        "bare_fired_p99": bare_lags["fired"].figure(0.99),
    }
    return Round(figures, lines)


def season_parser(doc: str, n: int, instant: str) -> argparse.ArgumentParser:
    """The options every season bench takes; `instant` names what the warm-up places."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--n", type=int, default=n)
    parser.add_argument(
        "--settle-rate",
        type=float,
        default=0,
        help=f"tickets/s the stack settles, to place {instant} (0: measure it with a warm-up)",
    )
    parser.add_argument("--lead", type=float, default=60, help=f"seconds more before {instant}")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="each on a fresh stack")
    parser.add_argument("--cached-workflows", type=int, default=None)
    parser.add_argument(
        "--workers",
        type=int,
        default=Settings.model_fields["workers"].default,
        help="`soporte worker` processes (default: as `soporte up`)",
    )
    return parser


def print_medians(n: int, rounds: list[dict[str, float]]) -> None:
    """The medians of the rounds' figures, and the SUMMARY line a script parses."""
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"\n== medians of {len(rounds)} rounds, n {n}; {load_average()} ==")
    print("  ".join(f"{k} {v:.3f}" for k, v in medians.items()))
    print("SUMMARY " + json.dumps({"n": n, "rounds": len(rounds), **medians}))


async def main() -> None:
    parser = season_parser(__doc__, 10_000, "T0")
    parser.add_argument("--window", type=float, default=300, help="seconds the warnings span")
    parser.add_argument(
        "--timed",
        type=int,
        default=0,
        help="how many of the N have their warning in the window (0: all); the others' "
        "fall due a day after it",
    )
    args = parser.parse_args()
    print(
        f"open_season: n {args.n}, timed {args.timed or args.n}, window {args.window:g} s; "
        f"{load_average()}",
        flush=True,
    )
    soonest = datetime.now(UTC) + timedelta(seconds=args.lead)
    require_counted(ticket_body(0), soonest, soonest + timedelta(seconds=args.window))
    rounds = [await one_round(args) for _ in range(args.rounds)]
    print_medians(args.n, [r.figures for r in rounds])


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
