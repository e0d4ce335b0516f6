"""The SLA report and the queue's list at 100,000 tickets in the read model.

    .venv/bin/python bench/reports_bench.py [--rows 100000] [--requests 100] [--postgres [URL]]

Fills a fresh read model (SQLite in a temp dir; with --postgres, a fresh schema on that
server, default $SOPORTE_TEST_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test)
with N tickets opened over one year (2026; so the year's report aggregates all of them),
with SLA facts in the proportions of a busy desk, then times through the API in-process
(ASGI, no network): the report for a month and for the year (each group_by, JSON and CSV)
and the list sorted by next due instant. Goals: report p99 < 300 ms, list p99 < 100 ms.
No Temporal is needed: the app starts without it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.main import create_app  # noqa: E402
from soporte.db.migrate import run_migrations, sync_url  # noqa: E402
from soporte.db.models import Ticket  # noqa: E402
from soporte.policy.nit import check_digit  # noqa: E402
from soporte.policy.sla_report import bogota_day, search_text  # noqa: E402
from soporte.settings import load_settings  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
YEAR_START = datetime(2026, 1, 1, 5, tzinfo=UTC)  # 2026-01-01 00:00 Bogota
WORDS = [
    "factura",
    "nómina",
    "inventario",
    "DIAN",
    "PDF",
    "resolución",
    "firma",
    "cartera",
    "bodega",
    "pedido",
]


def ticket_rows(rows: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rand = random.Random(seed)
    nits = [f"9001000{i:02d}-{check_digit(f'9001000{i:02d}')}" for i in range(200)]
    engineers = [f"ing{i}@btw.com.co" for i in range(25)]
    year = timedelta(days=365)
    for number in range(1, rows + 1):
        created = YEAR_START + year * (number - 1) / rows
        priority = rand.choices(["P1", "P2", "P3"], weights=[1, 4, 5])[0]
        first_due = created + timedelta(hours=1 if priority == "P1" else 14)
        resolution_due = created + timedelta(hours=8 if priority == "P1" else 60)
        answered = rand.random() < 0.97
        resolved = answered and rand.random() < 0.9
        status = (
            rand.choice(["resolved", "closed"])
            if resolved
            else rand.choice(["open", "in_progress", "waiting_on_client"])
        )
        late = rand.random() < 0.1
        subject = f"{rand.choice(WORDS)} {rand.choice(WORDS)} #{number}"
        description = " ".join(rand.choice(WORDS) for _ in range(30))
        paused = status == "waiting_on_client"
        next_due = None if resolved or paused else (resolution_due if answered else first_due)
        yield {
            "number": number,
            "kind": "support",
            "status": status,
            "priority": priority,
            "nit": rand.choice(nits),
            "assignee": rand.choice(engineers),
            "subject": subject,
            "created_at": created,
            "updated_at": created,
            "breached": late,
            "warned": late,
            "paused": paused,
            "first_response_due": first_due,
            "resolution_due": resolution_due,
            "view": {},
            "category": rand.choice(["facturación", "nómina", "inventario", "contabilidad"]),
            "search_text": search_text(subject, description),
            "next_due": next_due,
            "opened_on": bogota_day(created),
            "first_responded_at": created + timedelta(minutes=20) if answered else None,
            "resolved_at": created + timedelta(hours=6) if resolved else None,
            "first_response_outcome": ("breached" if late else "met") if answered else "pending",
            "resolution_outcome": ("breached" if late else "met") if resolved else "pending",
            "first_response_seconds": rand.randrange(60, 7200) if answered else None,
            "resolution_seconds": rand.randrange(600, 300_000) if resolved else None,
            "paused_seconds": rand.randrange(0, 40_000) if rand.random() < 0.2 else 0,
            "reopen_count": 1 if rand.random() < 0.04 else 0,
            "rating": rand.randint(1, 5) if resolved and rand.random() < 0.3 else None,
        }


def fill(url: str, rows: int) -> None:
    engine = create_engine(sync_url(url))
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for row in ticket_rows(rows):
            batch.append(row)
            if len(batch) == 5000:
                connection.execute(insert(Ticket), batch)
                batch = []
        if batch:
            connection.execute(insert(Ticket), batch)
        connection.execute(text("ANALYZE"))
    engine.dispose()


@contextmanager
def database(postgres: str | None) -> Iterator[tuple[str, Path]]:
    with tempfile.TemporaryDirectory(prefix="soporte-reports-") as tmp:
        if postgres is None:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'soporte.db'}"
            run_migrations(url)
            yield url, Path(tmp)
            return
        import psycopg

        plain = sync_url(postgres).replace("postgresql+psycopg://", "postgresql://", 1)
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        joiner = "&" if "?" in postgres else "?"
        url = f"{postgres}{joiner}options=-csearch_path%3D{schema}"
        try:
            run_migrations(url)
            yield url, Path(tmp)
        finally:
            with psycopg.connect(plain, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


CASES: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "report month, by priority": (
        "/api/v1/reports/sla",
        {"from": "2026-06-01", "to": "2026-06-30", "group_by": "priority"},
        {},
    ),
    "report month, by engineer": (
        "/api/v1/reports/sla",
        {"from": "2026-06-01", "to": "2026-06-30", "group_by": "engineer"},
        {},
    ),
    "report year, by priority": (
        "/api/v1/reports/sla",
        {"from": "2026-01-01", "to": "2026-12-31", "group_by": "priority"},
        {},
    ),
    "report year, by month": (
        "/api/v1/reports/sla",
        {"from": "2026-01-01", "to": "2026-12-31", "group_by": "month"},
        {},
    ),
    "report year, by client": (
        "/api/v1/reports/sla",
        {"from": "2026-01-01", "to": "2026-12-31", "group_by": "client"},
        {},
    ),
    "report year, by engineer, CSV": (
        "/api/v1/reports/sla",
        {"from": "2026-01-01", "to": "2026-12-31", "group_by": "engineer"},
        {"Accept": "text/csv"},
    ),
    "list sort=next_due": ("/api/v1/tickets", {"sort": "next_due"}, {}),
    "list open states, next_due": (
        "/api/v1/tickets",
        [("status", "open"), ("status", "in_progress"), ("sort", "next_due")],
        {},
    ),
    "list next_due, offset 5000": ("/api/v1/tickets", {"sort": "next_due", "offset": 5000}, {}),
    "list q=bodega pedido": ("/api/v1/tickets", {"q": "bodega pedido"}, {}),
}


async def measure(url: str, data_dir: Path, requests: int) -> None:
    settings = load_settings(
        data_dir=data_dir, database_url=url, temporal_address="127.0.0.1:1", admin_token="bench"
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers={"Authorization": "Bearer bench"}
        ) as http:
            for name, (path, params, headers) in CASES.items():
                latencies = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = await http.get(path, params=params, headers=headers)
                    latencies.append(time.perf_counter() - started)
                    response.raise_for_status()
                print(
                    f"{name:<32} p50 {1000 * statistics.median(latencies):7.1f} ms"
                    f"   p99 {1000 * percentile(latencies, 0.99):7.1f} ms"
                )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("SOPORTE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES,
    )
    args = parser.parse_args()
    with database(args.postgres) as (url, data_dir):
        started = time.perf_counter()
        fill(url, args.rows)
        backend = "PostgreSQL" if args.postgres else "SQLite"
        filled = time.perf_counter() - started
        print(
            f"== {args.rows} tickets in {backend} (filled in {filled:.1f} s),"
            f" {args.requests} requests each =="
        )
        await measure(url, data_dir, args.requests)


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
