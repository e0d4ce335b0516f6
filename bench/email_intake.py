"""Email intake over real SMTP: new tickets and replies per second, beside the peer's get_email.

    .venv/bin/python bench/email_intake.py [--messages 200] [--replies 200] [--concurrency 10]
        [--rounds 1] [--peer DIR]

Each round starts the embedded stack as `soporte up` does (bench/open_tickets.py's Stack:
the file-backed dev server, `soporte worker`, `soporte api` and `soporte smtp` as
processes, a SQLite read model) with SOPORTE_TRUSTED_AUTHSERV_ID set, registers a client
and its contact, and sends over SMTP to the product's listener, C connections at once:

- new: M messages from the contact to soporte@btw.com.co, each with our receiving
  server's `Authentication-Results: <authserv-id>; dmarc=pass header.from=<domain>`, so
  each opens a ticket (issue 16: unverified senders are held for confirmation); every
  10th is multipart (text, HTML, a .txt attachment), as the peer's are. Counted until
  every one is a ticket in the read model (its row projected);
- replies: R replies to those tickets, half with `[#n]` in the subject, half with
  In-Reply-To naming the Message-ID of the acknowledgement we sent (no tag in the
  subject). Counted until every one is a `client_message` line in the ticket's log.

Printed per part: messages/s until all are tickets / log lines (the figure), the SMTP
rate (until the last 250), p50/p99 of an SMTP transaction, the CPU per message of each
process, and the load average. With --rounds K, medians over K fresh stacks.

--peer DIR runs django-helpdesk's harness (../shared/peers/django_helpdesk: `setup.sh
DIR`, then `bench.py DIR`) right after our rounds with the same M and R: its get_email
over a local directory of M new messages, then R `[slug-id]` replies (in-process,
timed around the command), and prints ours beside it (goal: ours >= the peer's).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from commands import SeasonStack, peer_harness, workers_cpu  # noqa: E402
from open_tickets import cpu_seconds, percentile, register, until_idle  # noqa: E402

from soporte.settings import Settings  # noqa: E402
from tests.stack_support import free_port  # noqa: E402

AUTHSERV = "mx.bench.btw.com.co"
SENDER = "bench@cliente.co"  # open_tickets.register's contact
SUPPORT = "soporte@btw.com.co"
POLL_SECONDS = 0.1


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


class IntakeStack(SeasonStack):
    """The stack with the SMTP listener too, trusting our bench's receiving server."""

    def __init__(self, root: Path, workers: int = 1) -> None:
        super().__init__(root, None, None, workers)
        self.smtp_port = free_port()

    def env(self) -> dict[str, str]:
        env = super().env()
        env["SOPORTE_TRUSTED_AUTHSERV_ID"] = AUTHSERV
        return env

    async def start(self, worker: bool = True) -> None:
        await super().start(worker)
        me = [sys.executable, "-m", "launcher.cli"]
        args = ["smtp", "--host", "127.0.0.1", "--port", str(self.smtp_port)]
        self.spawn("smtp", [*me, *args], self.env())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.smtp_port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError("the SMTP listener did not start")


class LeanSmtp:
    """A minimal SMTP client for the load: one session per connection, messages one after
    another on it (MAIL, RCPT, DATA). smtplib in threads would spend the bench's share of
    the 2 cores on threads and its own parsing."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def reply(self) -> str:
        assert self.reader is not None
        lines = []
        while True:
            line = (await self.reader.readline()).decode("latin-1")
            if not line:
                raise ConnectionError("the SMTP server closed the connection")
            lines.append(line.rstrip())
            if line[3:4] != "-":
                return "\n".join(lines)

    async def command(self, text: str, expect: str) -> str:
        assert self.writer is not None
        self.writer.write(text.encode() + b"\r\n")
        answer = await self.reply()
        if not answer.startswith(expect):
            raise RuntimeError(f"SMTP {text.split()[0]}: {answer}")
        return answer

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        await self.reply()
        await self.command("EHLO bench.cliente.co", "250")

    async def send(self, sender: str, to: str, raw: bytes) -> None:
        assert self.writer is not None
        await self.command(f"MAIL FROM:<{sender}>", "250")
        await self.command(f"RCPT TO:<{to}>", "250")
        await self.command("DATA", "354")
        body = raw.replace(b"\r\n.", b"\r\n..")
        self.writer.write(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        answer = await self.reply()
        if not answer.startswith("250"):
            raise RuntimeError(f"SMTP DATA: {answer}")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.write(b"QUIT\r\n")
            self.writer.close()


def message(
    index: int,
    subject: str,
    *,
    in_reply_to: str | None = None,
    multipart: bool = False,
) -> tuple[str, bytes]:
    """One message from the contact; returns its Message-ID and its bytes."""
    mid = f"<bench-{index}-{uuid.uuid4().hex}@cliente.co>"
    head = [
        f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from=cliente.co",
        f"From: Bench <{SENDER}>",
        f"To: {SUPPORT}",
        f"Subject: {subject}",
        "Date: Tue, 01 Dec 2026 10:00:00 -0500",
        f"Message-ID: {mid}",
        "MIME-Version: 1.0",
    ]
    if in_reply_to:
        head += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    body = (
        f"Buenos días,\r\n\r\nla factura {index} no sale: el sistema muestra el error "
        f"E{index:04d} al generarla.\r\n\r\nGracias,\r\nBench\r\n"
    )
    if not multipart:
        head += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
        return mid, ("\r\n".join(head) + "\r\n\r\n" + body).encode()
    b = f"BOUNDARY{index}"
    parts = (
        f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n'
        f'--{b}\r\nContent-Type: multipart/alternative; boundary="ALT{b}"\r\n\r\n'
        f"--ALT{b}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
        f"--ALT{b}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n<html><body><p>{body}</p></body></html>\r\n"
        f"--ALT{b}--\r\n"
        f'--{b}\r\nContent-Type: text/plain; name="log{index}.txt"\r\n'
        f'Content-Disposition: attachment; filename="log{index}.txt"\r\n\r\n'
        f"linea del registro {index}\r\n--{b}--\r\n"
    )
    return mid, ("\r\n".join(head) + "\r\n" + parts).encode()


@dataclass
class Part:
    name: str
    n: int
    counted: float  # seconds until every message is a ticket / a log line
    smtp: float  # seconds until the last 250
    latencies: list[float]
    cpu_ms: dict[str, float]

    @property
    def rate(self) -> float:
        return self.n / self.counted


async def send_all(port: int, concurrency: int, messages: list[bytes]) -> tuple[float, list[float]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in messages:
        queue.put_nowait(raw)
    latencies: list[float] = []

    async def connection() -> None:
        smtp = LeanSmtp(port)
        await smtp.open()
        try:
            while not queue.empty():
                raw = queue.get_nowait()
                started = time.perf_counter()
                await smtp.send(SENDER, SUPPORT, raw)
                latencies.append(time.perf_counter() - started)
        finally:
            await smtp.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def count(db: Path, sql: str, *params: Any) -> int:
    with sqlite3.connect(db, timeout=15) as connection:
        return int(connection.execute(sql, params).fetchone()[0])


TICKETS = "SELECT count(*) FROM tickets WHERE subject LIKE ?"
REPLIES = "SELECT count(*) FROM ticket_events WHERE type = 'client_message' AND channel = 'email'"


async def timed_part(
    stack: IntakeStack,
    name: str,
    messages: list[bytes],
    concurrency: int,
    done: Any,
) -> Part:
    """Send `messages`, then wait until `done()` (the count reached) ; times both."""
    before = cpu_seconds(stack.pids)
    started = time.perf_counter()
    smtp_seconds, latencies = await send_all(stack.smtp_port, concurrency, messages)
    deadline = time.monotonic() + 600
    while not done():
        if time.monotonic() > deadline or any(c.poll() is not None for c in stack.children):
            raise RuntimeError(f"{name}: not all counted; see the logs in {stack.root}")
        await asyncio.sleep(POLL_SECONDS)
    counted = time.perf_counter() - started
    for process in stack.pids:
        await until_idle(stack.pids[process], window=1.0, limit=120)
    after = cpu_seconds(stack.pids)
    cpu = {k: (after[k] - before[k]) / len(messages) * 1000 for k in after}
    cpu["workers"] = workers_cpu(cpu)
    return Part(name, len(messages), counted, smtp_seconds, latencies, cpu)


def print_part(part: Part) -> None:
    cpu = "  ".join(f"{k} {v:.1f}" for k, v in part.cpu_ms.items())
    print(
        f"{part.name:<8} {part.rate:7.1f} msg/s counted ({part.n} in {part.counted:.2f} s); "
        f"SMTP {part.n / part.smtp:7.1f} msg/s, p50 {percentile(part.latencies, 0.5) * 1000:.0f}"
        f" ms, p99 {percentile(part.latencies, 0.99) * 1000:.0f} ms"
    )
    print(f"         CPU ms per message (until idle): {cpu}")


def ack_message_ids(db: Path, numbers: list[int]) -> dict[int, str]:
    """The Message-ID of the acknowledgement each ticket got (what a reply names)."""
    marks = ",".join("?" * len(numbers))
    with sqlite3.connect(db, timeout=15) as connection:
        rows = connection.execute(
            f"SELECT number, message_id FROM outbound_mail WHERE number IN ({marks}) "  # nosec B608
            "AND subject LIKE '%Recibimos su solicitud%'",
            numbers,
        ).fetchall()
    return {number: mid for number, mid in rows}


async def one_round(args: argparse.Namespace) -> tuple[Part, Part]:
    with tempfile.TemporaryDirectory(prefix="soporte-intake-") as tmp:
        stack = IntakeStack(Path(tmp), args.workers)
        try:
            await stack.start()
            return await measure(stack, args)
        finally:
            stack.stop()


async def measure(stack: IntakeStack, args: argparse.Namespace) -> tuple[Part, Part]:
    db = stack.root / "soporte.db"
    base_url = f"http://127.0.0.1:{stack.api_port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        http.headers["Authorization"] = f"Bearer {stack.token}"
        await register(http)
    print(f"\n== round: {load_average()} ==")
    tag = uuid.uuid4().hex[:8]
    # Warm-up: connections, caches, compiled SQL, the first workflows; not counted.
    warm = [message(i, f"Calentamiento {tag} {i}")[1] for i in range(10)]
    await send_all(stack.smtp_port, args.concurrency, warm)
    while count(db, TICKETS, f"Calentamiento {tag}%") < len(warm):
        await asyncio.sleep(POLL_SECONDS)
    for process in stack.pids:
        await until_idle(stack.pids[process], window=1.0, limit=120)

    subjects = f"Factura {tag}"
    new = [message(i, f"{subjects} {i}", multipart=i % 10 == 0)[1] for i in range(args.messages)]
    new_part = await timed_part(
        stack,
        "new",
        new,
        args.concurrency,
        lambda: count(db, TICKETS, f"{subjects}%") >= len(new),
    )
    print_part(new_part)
    print(f"         {load_average()}")

    with sqlite3.connect(db, timeout=15) as connection:
        numbers = [
            n
            for (n,) in connection.execute(
                "SELECT number FROM tickets WHERE subject LIKE ? ORDER BY number", (f"{subjects}%",)
            )
        ]
    acks = ack_message_ids(db, numbers)
    replies = []
    for j in range(args.replies):
        number = numbers[j % len(numbers)]
        if j % 2 == 0 or number not in acks:
            raw = message(100_000 + j, f"Re: [#{number}] {subjects}")[1]
        else:
            raw = message(100_000 + j, f"Re: {subjects}", in_reply_to=acks[number])[1]
        replies.append(raw)
    before = count(db, REPLIES)
    reply_part = await timed_part(
        stack,
        "replies",
        replies,
        args.concurrency,
        lambda: count(db, REPLIES) >= before + len(replies),
    )
    print_part(reply_part)
    print(f"         {load_average()}")
    return new_part, reply_part


def run_peer(peer_dir: Path, messages: int, replies: int) -> dict[str, float]:
    """The peer's get_email rates (new messages, then [slug-id] replies): its own harness,
    with its API rounds cut to the minimum (session auth, 20 tickets, no follow-ups)."""
    result = peer_harness(
        peer_dir,
        *("--n", "20", "--followups", "0"),
        *("--emails", str(messages), "--replies", str(replies)),
    )
    new, threaded = result["get_email_new"], result.get("get_email_replies", {})
    print(
        f"peer django-helpdesk get_email: new {new['msgs_per_s']} msg/s "
        f"(all tickets: {new['all_became_tickets']}), replies "
        f"{threaded.get('msgs_per_s')} msg/s (all threaded: {threaded.get('all_threaded')}); "
        f"{load_average()}"
    )
    return {"new": float(new["msgs_per_s"]), "replies": float(threaded.get("msgs_per_s") or 0)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200, help="new-ticket messages")
    parser.add_argument("--replies", type=int, default=200, help="replies to those tickets")
    parser.add_argument("--concurrency", type=int, default=10, help="SMTP connections")
    parser.add_argument("--rounds", type=int, default=1, help="each on a fresh stack")
    parser.add_argument("--peer", type=Path, default=None, help="a django-helpdesk peer dir")
    parser.add_argument(
        "--workers",
        type=int,
        default=Settings.model_fields["workers"].default,
        help="`soporte worker` processes (default: as `soporte up`)",
    )
    args = parser.parse_args()
    rounds = [await one_round(args) for _ in range(args.rounds)]
    figures: dict[str, Any] = {"rounds": len(rounds)}
    for index, name in enumerate(("new", "replies")):
        parts = [r[index] for r in rounds]
        figures[name] = {
            "msgs_per_s": round(statistics.median(p.rate for p in parts), 1),
            "smtp_per_s": round(statistics.median(p.n / p.smtp for p in parts), 1),
            "p99_ms": round(statistics.median(percentile(p.latencies, 0.99) * 1000 for p in parts)),
            **{
                f"{k}_cpu_ms": round(statistics.median(p.cpu_ms[k] for p in parts), 1)
                for k in ("smtp", "api", "workers", "temporal")
            },
        }
    print(f"\n== medians of {len(rounds)} rounds; {load_average()} ==")
    for name in ("new", "replies"):
        print(f"{name:<8} " + "  ".join(f"{k} {v}" for k, v in figures[name].items()))
    if args.peer is not None:
        peer = run_peer(args.peer.resolve(), args.messages, args.replies)
        figures["peer"] = peer
        for name in ("new", "replies"):
            ours = figures[name]["msgs_per_s"]
            print(
                f"{name:<8} ours {ours} msg/s, peer {peer[name]} msg/s: ours/peer "
                f"{ours / peer[name]:.2f}"
                if peer[name]
                else f"{name}: no peer figure"
            )
    print("SUMMARY " + json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
