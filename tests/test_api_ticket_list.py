"""GET /api/v1/tickets: every filter, every sort, pagination and each parameter's 422, over
tickets projected by the real projection code from states the workflow rules produced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from soporte.db.session import create_engine, create_sessionmaker
from soporte.policy import Kind, Priority
from tests.api_support import ADMIN, Api, backends, make_nit, module_api
from tests.ticket_paths import Walk, store
from tests.workflow_support import bogota

TICKETS = "/api/v1/tickets"
NIT_A = make_nit("901111001")
NIT_B = make_nit("901111002")
OTHER_ENGINEER = "pedro@btw.com.co"


@dataclass
class World:
    api: Api
    contact_a: dict[str, str]
    engineer: dict[str, str]
    walks: dict[str, Walk]


def seed() -> dict[str, Walk]:
    """Tickets of two clients in distinct states, all opened on Monday 2026-11-23."""
    monday = bogota(2026, 11, 23, 9)
    return {
        # P2 opened 09:00, never answered: first response due 10:00, breached at 10:00.
        "late": Walk.open(101, monday, subject="Factura rechazada", nit=NIT_A).until(
            bogota(2026, 11, 23, 12)
        ),
        # P2 opened 09:30 and answered: next due is its resolution (24 business hours).
        "answered": Walk.open(
            102,
            bogota(2026, 11, 23, 9, 30),
            category="nómina",
            nit=NIT_A,
            description="El 50% de los empleados sin desprendible",
        ).reply(bogota(2026, 11, 23, 9, 40)),
        # P1 opened 10:00: first response due 11:00, the earliest due instant but "late".
        "p1": Walk.open(
            103,
            bogota(2026, 11, 23, 10),
            priority=Priority.P1,
            nit=NIT_B,
            subject="Caída de facturación electrónica",
            assignee=OTHER_ENGINEER,
        ),
        # Waiting on the client: paused, no next due.
        "waiting": Walk.open(104, bogota(2026, 11, 23, 11), nit=NIT_B).request_info(
            bogota(2026, 11, 23, 11, 5)
        ),
        # Resolved: no next due.
        "resolved": Walk.open(105, bogota(2026, 11, 23, 12), priority=Priority.P3, nit=NIT_A)
        .reply(bogota(2026, 11, 23, 12, 10))
        .resolve(bogota(2026, 11, 23, 13)),
        # A requirement: no SLA clock.
        "requirement": Walk.open(
            106,
            bogota(2026, 11, 23, 13),
            kind=Kind.REQUIREMENT,
            priority=Priority.REQUIREMENT,
            nit=NIT_B,
            category="mejoras",
        ),
    }


@pytest.fixture(scope="module", params=backends())
async def world(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    async with module_api(request, dev_env, tmp_path_factory, worker=False) as api:
        await api.client(NIT_A.split("-")[0], "Ferretería A")
        await api.client(NIT_B.split("-")[0], "Droguería B")
        contact_a = await api.contact(NIT_A, "ana@ferreteria-a.co")
        engineer = await api.staff("luis.lista@btw.com.co", ["engineer"])
        engine = create_engine(api.settings.effective_database_url)
        walks = seed()
        try:
            await store(create_sessionmaker(engine), *walks.values())
        finally:
            await engine.dispose()
        yield World(api, contact_a, engineer, walks)


async def numbers(world: World, params: Any, headers: dict[str, str] = ADMIN) -> list[int]:
    page = await world.api.ok("GET", TICKETS, params=params, headers=headers)
    assert page["total"] >= len(page["items"])
    return [item["number"] for item in page["items"]]


async def test_default_order_is_newest_first(world: World) -> None:
    assert await numbers(world, {}) == [106, 105, 104, 103, 102, 101]
    assert await numbers(world, {"sort": "created_at"}) == [101, 102, 103, 104, 105, 106]
    assert await numbers(world, {"sort": "-created_at"}) == [106, 105, 104, 103, 102, 101]


async def test_next_due_sort_puts_what_is_due_next_first(world: World) -> None:
    # 101: first response due 10:00; 103 (P1): 11:00; 102: resolution due Wed 11-25 09:30
    # ... 24 business hours from Mon 09:30; then the tickets without a due instant.
    assert await numbers(world, {"sort": "next_due"}) == [101, 103, 102, 104, 105, 106]
    assert await numbers(world, {"sort": "-next_due"}) == [102, 103, 101, 106, 105, 104]
    page = await world.api.ok("GET", TICKETS, params={"sort": "next_due"}, headers=ADMIN)
    by_number = {item["number"]: item for item in page["items"]}
    assert by_number[101]["next_due"] == by_number[101]["first_response_due"]
    assert by_number[102]["next_due"] == by_number[102]["resolution_due"]
    assert by_number[102]["first_responded_at"] is not None
    assert by_number[104]["next_due"] is None and by_number[104]["paused"]
    assert by_number[106]["next_due"] is None


async def test_status_is_repeatable(world: World) -> None:
    assert await numbers(world, {"status": "waiting_on_client"}) == [104]
    params = [("status", "waiting_on_client"), ("status", "resolved"), ("sort", "created_at")]
    assert await numbers(world, params) == [104, 105]
    params = [("status", "open"), ("status", "in_progress"), ("sort", "created_at")]
    assert await numbers(world, params) == [101, 102, 103]


async def test_each_filter(world: World) -> None:
    asc = {"sort": "created_at"}
    assert await numbers(world, {**asc, "priority": "P1"}) == [103]
    assert await numbers(world, {**asc, "priority": "P3"}) == [105]
    assert await numbers(world, {**asc, "nit": NIT_B}) == [103, 104, 106]
    assert await numbers(world, {**asc, "assignee": OTHER_ENGINEER.upper()}) == [103]
    assert await numbers(world, {**asc, "breached": "true"}) == [101]
    assert 101 not in await numbers(world, {**asc, "breached": "false"})
    assert await numbers(world, {**asc, "kind": "requirement"}) == [106]
    assert await numbers(world, {**asc, "kind": "support"}) == [101, 102, 103, 104, 105]
    assert await numbers(world, {**asc, "category": "nómina"}) == [102]
    assert await numbers(world, {**asc, "category": "mejoras"}) == [106]
    assert await numbers(world, {**asc, "category": "nomina"}) == []


async def test_q_searches_subject_and_description_folding_case_and_accents(world: World) -> None:
    asc = {"sort": "created_at"}
    assert await numbers(world, {**asc, "q": "FACTURACIÓN"}) == [103]
    assert await numbers(world, {**asc, "q": "facturacion electronica"}) == [103]
    assert await numbers(world, {**asc, "q": "desprendible"}) == [102]
    assert await numbers(world, {**asc, "q": "Rechazada"}) == [101]
    assert await numbers(world, {**asc, "q": "50%"}) == [102]
    # % and _ are literal, not wildcards.
    assert await numbers(world, {**asc, "q": "5%d"}) == []
    assert await numbers(world, {**asc, "q": "_"}) == []
    assert await numbers(world, {**asc, "q": "rechazada", "nit": NIT_B}) == []


async def test_due_before(world: World) -> None:
    params = {"sort": "next_due", "due_before": "2026-11-23T11:00:00-05:00"}
    assert await numbers(world, params) == [101]
    params["due_before"] = "2026-11-23T16:00:01Z"  # 11:00:01 Bogota
    assert await numbers(world, params) == [101, 103]
    params["due_before"] = "2027-01-01T00:00:00-05:00"
    assert await numbers(world, params) == [101, 103, 102]


async def test_pagination_by_limit_and_offset(world: World) -> None:
    first = await world.api.ok(
        "GET", TICKETS, params={"sort": "next_due", "limit": 2}, headers=ADMIN
    )
    second = await world.api.ok(
        "GET", TICKETS, params={"sort": "next_due", "limit": 2, "offset": 2}, headers=ADMIN
    )
    assert [i["number"] for i in first["items"]] == [101, 103]
    assert [i["number"] for i in second["items"]] == [102, 104]
    assert first["total"] == second["total"] == 6
    assert (first["limit"], second["offset"]) == (2, 2)


async def test_a_contact_lists_only_its_clients_tickets(world: World) -> None:
    mine = await numbers(world, {"sort": "created_at"}, world.contact_a)
    assert mine == [101, 102, 105]
    assert await numbers(world, {"nit": NIT_B}, world.contact_a) == []
    assert await numbers(world, {"q": "caída"}, world.contact_a) == []
    assert await numbers(world, {"sort": "next_due"}, world.engineer) == [
        101,
        103,
        102,
        104,
        105,
        106,
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "open"}, "state"),
        ({"sort": "next_due", "page": "2"}, "page"),
        ({"status": "lost"}, "status.0"),
        ({"priority": "P9"}, "priority"),
        ({"breached": "maybe"}, "breached"),
        ({"kind": "bug"}, "kind"),
        ({"category": "x" * 101}, "category"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"due_before": "mañana"}, "due_before"),
        ({"due_before": "2026-11-23T11:00:00"}, "due_before"),
        ({"sort": "priority"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"nit": "\x01"}, "nit"),
        ({"assignee": "a" * 255}, "assignee"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    world: World, params: dict[str, str], field: str
) -> None:
    response = await world.api.http.get(TICKETS, params=params, headers=ADMIN)
    assert response.status_code == 422, response.text
    body = response.json()
    assert field in [error["field"] for error in body["errors"]], body
    assert field.split(".")[0] in body["detail"]


async def test_unknown_parameter_names_it_and_what_is_allowed(world: World) -> None:
    response = await world.api.http.get(TICKETS, params={"q": "x", "texto": "y"}, headers=ADMIN)
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [
        {
            "field": "texto",
            "location": "query parameter",
            "rule": "unknown_parameter",
            "message": body["errors"][0]["message"],
        }
    ]
    assert "due_before" in body["detail"] and "sort" in body["detail"]
