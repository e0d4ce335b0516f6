"""GET /api/v1/reports/sla over the HTTP API: who may read it, its 422s, the CSV equal to
the JSON, and the SQL aggregation equal to the pure one (soporte.policy.sla_report.aggregate) for
random sets of tickets walked through the workflow rules and projected for real."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from soporte.db.models import Ticket
from soporte.db.session import create_engine, create_sessionmaker
from soporte.policy import SUPPORT_PRIORITIES, Priority, Role, Status
from soporte.policy.sla_report import GroupBy, ReportTicket, aggregate, sla_facts
from soporte.policy.ticket import CommandRefused
from soporte.services import dashboard
from soporte.services.auth import Principal
from soporte.services.errors import InvalidInput
from soporte.services.reports import CSV_COLUMNS, ReportQuery, dashboard_reports, row_json
from tests.api_support import ADMIN, Api, backends, make_nit, module_api
from tests.ticket_paths import Walk, store
from tests.workflow_support import HOLIDAYS, bogota

REPORT = "/api/v1/reports/sla"
NUMBERS = count(1000)
ENGINEERS = ["ana@btw.com.co", "luis@btw.com.co", None]
SUPERVISOR = Principal(
    email="sup.report@btw.com.co", roles=frozenset({Role.SUPERVISOR}), name="Supervisora"
)


@dataclass
class World:
    api: Api
    supervisor: dict[str, str]
    others: list[dict[str, str]]
    engine: Any


@pytest.fixture(scope="module", params=backends())
async def world(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    async with module_api(request, dev_env, tmp_path_factory, worker=False) as api:
        nit = await api.client("903333001", "Lácteos del Valle")
        others = [
            await api.contact(nit, "rosa@lacteos.co"),
            await api.staff("eng.report@btw.com.co", ["engineer"]),
            await api.staff("comite.report@btw.com.co", ["committee"]),
        ]
        supervisor = await api.staff("sup.report@btw.com.co", ["supervisor"])
        engine = create_engine(api.settings.effective_database_url)
        try:
            yield World(api, supervisor, others, engine)
        finally:
            await engine.dispose()


def random_walk(rng: random.Random, nit: str) -> Walk:
    """A support ticket opened in Oct-Nov 2026 and moved by random commands in time order."""
    at = bogota(2026, 10, 1, 6) + timedelta(minutes=rng.randrange(60 * 24 * 60))
    priority = rng.choice([Priority.P1, Priority.P2, Priority.P3])
    walk = Walk.open(next(NUMBERS), at, priority=priority, nit=nit, assignee=rng.choice(ENGINEERS))
    for _ in range(rng.randrange(7)):
        at += timedelta(minutes=rng.randrange(1, 3000))
        step = rng.choice(["reply", "request_info", "client_reply", "resolve", "reopen", "rate"])
        try:
            if step == "rate":
                walk.rate(at, rng.randint(1, 5))
            else:
                getattr(walk, step)(at)
        except CommandRefused:
            pass  # not possible in that state: the workflow would refuse it too
    return walk


def report_ticket(walk: Walk) -> ReportTicket:
    view = walk.view
    facts = sla_facts(view, walk.state.pending_events, HOLIDAYS)
    return ReportTicket(
        priority=view.priority,
        nit=view.nit,
        assignee=view.assignee,
        opened_on=facts.opened_on,
        first_response_outcome=facts.first_response_outcome,
        first_response_due=view.sla.first_response_due,
        resolution_outcome=facts.resolution_outcome,
        resolution_due=view.sla.resolution_due,
        first_response_seconds=facts.first_response_seconds,
        resolution_seconds=facts.resolution_seconds,
        paused_seconds=facts.paused_seconds,
        reopen_count=facts.reopen_count,
        rating=facts.rating,
    )


async def report(world: World, params: dict[str, str], **headers: str) -> Any:
    response = await world.api.http.get(
        REPORT, params=params, headers={**world.supervisor, **headers}
    )
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("seed", range(6))
async def test_sql_equals_the_pure_aggregation_for_random_sets(world: World, seed: int) -> None:
    rng = random.Random(seed)
    nit = make_nit(str(904000000 + seed))
    walks = [random_walk(rng, nit) for _ in range(rng.randrange(5, 40))]
    expected_input = [report_ticket(w) for w in walks]
    await store(create_sessionmaker(world.engine), *walks)
    now = datetime.now(UTC)
    for group_by in GroupBy:
        params = {"from": "2026-10-01", "to": "2026-11-30", "group_by": group_by, "nit": nit}
        got = (await report(world, params)).json()
        expected = [row_json(r) for r in aggregate(expected_input, group_by, now)]
        assert got == {
            "from": "2026-10-01",
            "to": "2026-11-30",
            "group_by": group_by.value,
            "rows": expected,
        }
        for row in got["rows"]:
            for target in ("first_response", "resolution"):
                assert sum(row[target].values()) == row["tickets"]


@pytest.mark.parametrize("seed", range(3))
async def test_the_dashboards_one_read_folds_into_the_three_reports(
    world: World, seed: int
) -> None:
    """The dashboard's tables (soporte.services.reports.dashboard_reports: one grouped read
    over both ranges) equal the pure aggregation of each: the period (not whole months) by
    priority with its medians, by engineer, and the twelve months up to its end by month."""
    rng = random.Random(100 + seed)
    nit = make_nit(str(904500000 + seed))
    walks = [random_walk(rng, nit) for _ in range(rng.randrange(10, 40))]
    tickets = [report_ticket(w) for w in walks]
    await store(create_sessionmaker(world.engine), *walks)
    now = datetime.now(UTC)
    period = ReportQuery(date(2026, 10, 20), date(2026, 11, 30), GroupBy.PRIORITY, nit=nit)
    months = ReportQuery(date(2025, 12, 1), date(2026, 11, 30), GroupBy.MONTH, nit=nit)
    async with create_sessionmaker(world.engine)() as session:
        found = await dashboard_reports(session, SUPERVISOR, period, months, now)
        with pytest.raises(InvalidInput):  # the months end with the period
            await dashboard_reports(
                session, SUPERVISOR, period, replace(months, last_day=date(2026, 10, 31)), now
            )
    in_period = [t for t in tickets if t.opened_on >= period.first_day]
    no_medians = {"median_first_response_seconds": None, "median_resolution_seconds": None}

    def expected(group_by: GroupBy, chosen: list[ReportTicket], medians: bool) -> list[Any]:
        rows = [row_json(r) for r in aggregate(chosen, group_by, now)]
        return rows if medians else [{**r, **no_medians} for r in rows]

    assert [row_json(r) for r in found.priority.rows] == expected(GroupBy.PRIORITY, in_period, True)
    assert [row_json(r) for r in found.engineer.rows] == expected(
        GroupBy.ENGINEER, in_period, False
    )
    assert [row_json(r) for r in found.months.rows] == expected(GroupBy.MONTH, tickets, False)
    assert sum(r.tickets for r in found.months.rows) == len(tickets)


async def test_the_open_tickets_tables_equal_a_count_of_the_rows(world: World) -> None:
    """The dashboard's open tickets by priority and age, and by assignee (one grouped read,
    soporte.services.dashboard.open_now), equal a plain count of the read model's rows."""
    rng = random.Random(7)
    nit = make_nit("904600000")
    await store(create_sessionmaker(world.engine), *(random_walk(rng, nit) for _ in range(30)))
    now = datetime.now(UTC)
    async with create_sessionmaker(world.engine)() as session:
        found = await dashboard.open_now(session, SUPERVISOR, now)
        rows = (
            await session.execute(
                select(
                    Ticket.status,
                    Ticket.priority,
                    Ticket.created_at,
                    Ticket.assignee,
                    Ticket.breached,
                )
            )
        ).all()
    ages = {p.value: [0] * len(dashboard.AGES) for p in SUPPORT_PRIORITIES}
    loads: dict[str | None, list[int]] = {}
    for status, priority, created_at, assignee, breached in rows:
        if status in (Status.RESOLVED, Status.CLOSED):
            continue
        age = now - created_at
        bucket = next(
            i for i, (_, upper) in enumerate(dashboard.AGES) if upper is None or age < upper
        )
        if priority in ages:
            ages[priority][bucket] += 1
        counts = loads.setdefault(assignee, [0, 0])
        counts[0] += 1
        counts[1] += 1 if breached else 0
    assert found.ages == ages and sum(map(sum, ages.values())) > 0
    assert {load.email: [load.open, load.breached] for load in found.loads} == loads
    assert [load.open for load in found.loads] == sorted(
        (n for n, _ in loads.values()), reverse=True
    )


async def test_csv_equals_json(world: World) -> None:
    rng = random.Random(99)
    nit = make_nit("904100000")
    await store(create_sessionmaker(world.engine), *(random_walk(rng, nit) for _ in range(25)))
    for group_by in GroupBy:
        params = {"from": "2026-10-01", "to": "2026-11-30", "group_by": group_by, "nit": nit}
        rows = (await report(world, params)).json()["rows"]
        response = await report(world, params, Accept="text/csv")
        assert response.headers["content-type"].startswith("text/csv")
        assert (
            f"sla-2026-10-01-2026-11-30-{group_by.value}.csv"
            in response.headers["content-disposition"]
        )
        parsed = list(csv.DictReader(io.StringIO(response.text)))
        assert list(parsed[0].keys()) == list(CSV_COLUMNS)
        assert [from_csv(r) for r in parsed] == rows
        assert len(rows) >= 1


def from_csv(record: dict[str, str]) -> dict[str, Any]:
    def number(text: str) -> float | None:
        return None if text == "" else float(text)

    def targets(name: str) -> dict[str, int]:
        return {o: int(record[f"{name}_{o}"]) for o in ("met", "breached", "pending")}

    return {
        "key": record["key"] or None,
        "tickets": int(record["tickets"]),
        "first_response": targets("first_response"),
        "resolution": targets("resolution"),
        "median_first_response_seconds": number(record["median_first_response_seconds"]),
        "median_resolution_seconds": number(record["median_resolution_seconds"]),
        "paused_seconds": int(record["paused_seconds"]),
        "reopened": int(record["reopened"]),
        "csat_average": number(record["csat_average"]),
    }


async def test_a_pending_target_past_its_due_instant_is_breached(world: World) -> None:
    nit = make_nit("904200000")
    # Opened long ago and never answered, and no timer fired (no worker): due has passed.
    walk = Walk.open(next(NUMBERS), bogota(2026, 10, 5, 9), priority=Priority.P1, nit=nit)
    await store(create_sessionmaker(world.engine), walk)
    params = {"from": "2026-10-05", "to": "2026-10-05", "nit": nit}
    [row] = (await report(world, params)).json()["rows"]
    assert row["first_response"] == {"met": 0, "breached": 1, "pending": 0}
    assert row["resolution"] == {"met": 0, "breached": 1, "pending": 0}
    assert row["median_first_response_seconds"] is None and row["csat_average"] is None


async def test_the_day_is_the_bogota_day(world: World) -> None:
    nit = make_nit("904300000")
    # 2026-10-06 21:00 Bogota is 2026-10-07 02:00 UTC: counted on the 6th.
    walk = Walk.open(next(NUMBERS), bogota(2026, 10, 6, 21), nit=nit)
    await store(create_sessionmaker(world.engine), walk)
    assert (
        len(
            (await report(world, {"from": "2026-10-06", "to": "2026-10-06", "nit": nit})).json()[
                "rows"
            ]
        )
        == 1
    )
    assert (await report(world, {"from": "2026-10-07", "to": "2026-10-07", "nit": nit})).json()[
        "rows"
    ] == []


async def test_only_supervisor_and_admin_read_it(world: World) -> None:
    params = {"from": "2026-10-01", "to": "2026-10-31"}
    for who in world.others:
        response = await world.api.http.get(REPORT, params=params, headers=who)
        assert response.status_code == 403, response.text
    assert (await world.api.http.get(REPORT, params=params, headers=ADMIN)).status_code == 200
    assert (await world.api.http.get(REPORT, params=params)).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "2026-10-31"}, "from"),
        ({"from": "2026-10-01"}, "to"),
        ({"from": "2026-13-01", "to": "2026-10-31"}, "from"),
        ({"from": "2026-10-31", "to": "2026-10-01"}, "to"),
        ({"from": "2000-01-01", "to": "2026-10-01"}, "to"),
        ({"from": "2026-10-01", "to": "2026-10-31", "group_by": "week"}, "group_by"),
        ({"from": "2026-10-01", "to": "2026-10-31", "priority": "P7"}, "priority"),
        ({"from": "2026-10-01", "to": "2026-10-31", "priority": "requirement"}, "priority"),
        ({"from": "2026-10-01", "to": "2026-10-31", "nit": "\x01"}, "nit"),
        ({"from": "2026-10-01", "to": "2026-10-31", "month": "10"}, "month"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    world: World, params: dict[str, str], field: str
) -> None:
    response = await world.api.http.get(REPORT, params=params, headers=world.supervisor)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field) or field in response.json()["detail"]
    errors = response.json().get("errors")
    if errors is not None:
        assert field in [e["field"] for e in errors]
