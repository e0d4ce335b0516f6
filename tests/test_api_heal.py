"""No input without an answer: keyed commands applied once, malformed bodies named, the
credentials checked first, NITs normalised, failed authentication rate-limited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.body_check import api_routes
from soporte.db.session import create_engine
from soporte.services.intake_writer import intake_writer
from soporte.services.orphans import repair_orphans
from tests.api_support import ADMIN, Api, backends, eventually, module_api
from tests.workflow_support import ticket_input


@dataclass
class World:
    api: Api
    number: int
    nit: str
    contact: dict[str, str]
    engineer: dict[str, str]


@pytest.fixture(scope="module", params=backends())
async def world(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    async with module_api(request, dev_env, tmp_path_factory) as api:
        nit = await api.client("812000001", "Cliente Sano")
        contact = await api.contact(nit, "ana@sano.co")
        engineer = await api.staff("ing@btw.com.co", ["engineer"])
        ticket = await api.open_ticket(contact)
        yield World(api, ticket["number"], nit, contact, engineer)


async def log_bodies(world: World) -> list[str]:
    entries = await world.api.ok(
        "GET", f"/api/v1/tickets/{world.number}/log", headers=world.engineer
    )
    return [entry["body"] for entry in entries]


async def test_a_retried_command_with_its_key_is_applied_once(world: World) -> None:
    path = f"/api/v1/tickets/{world.number}/messages"
    keyed = {**world.engineer, "Idempotency-Key": "reply-once"}
    body = {"body": "Una sola vez", "visibility": "public"}
    first = await world.api.ok("POST", path, json=body, headers=keyed)
    again = await world.api.ok("POST", path, json=body, headers=keyed)
    assert again == first  # the first answer, replayed
    other = await world.api.http.post(path, json={"body": "Otra cosa"}, headers=keyed)
    assert other.status_code == 409, other.text
    assert "Idempotency-Key 'reply-once' was already used" in other.json()["detail"]
    # Without a key the same body is two replies: the key is what made it one.
    await world.api.ok("POST", path, json={"body": "Sin clave"}, headers=world.engineer)
    await world.api.ok("POST", path, json={"body": "Sin clave"}, headers=world.engineer)
    bodies = await eventually(
        lambda: log_bodies(world), lambda found: found.count("Sin clave") == 2
    )
    assert bodies.count("Una sola vez") == 1


async def test_a_contact_message_with_a_key_is_taken_once(world: World) -> None:
    path = f"/api/v1/tickets/{world.number}/messages"
    keyed = {**world.contact, "Idempotency-Key": "msg-once"}
    await world.api.ok("POST", path, json={"body": "Mensaje único"}, headers=keyed)
    await world.api.ok("POST", path, json={"body": "Mensaje único"}, headers=keyed)
    other = await world.api.http.post(path, json={"body": "Otro"}, headers=keyed)
    assert other.status_code == 409, other.text
    await world.api.ok("POST", path, json={"body": "Marca"}, headers=world.contact)
    bodies = await eventually(lambda: log_bodies(world), lambda found: "Marca" in found)
    assert bodies.count("Mensaje único") == 1 and "Otro" not in bodies


async def test_every_ticket_command_takes_a_key(world: World) -> None:
    path = f"/api/v1/tickets/{world.number}/priority"
    keyed = {**world.engineer, "Idempotency-Key": "prio-1"}
    body = {"priority": "P3", "reason": "no es urgente"}
    first = await world.api.ok("POST", path, json=body, headers=keyed)
    assert first["priority"] == "P3"
    assert await world.api.ok("POST", path, json=body, headers=keyed) == first
    other = await world.api.http.post(
        path, json={"priority": "P2", "reason": "sí es"}, headers=keyed
    )
    assert other.status_code == 409
    bad = await world.api.http.post(
        path, json=body, headers={**world.engineer, "Idempotency-Key": "\x01"}
    )
    assert bad.status_code == 422 and "Idempotency-Key" in bad.text


async def test_an_orphan_intake_row_is_started_from_its_stored_input(
    world: World, dev_env: WorkflowEnvironment
) -> None:
    settings = world.api.settings
    engine = create_engine(settings.effective_database_url)
    try:
        ticket = ticket_input(number=0, nit=world.nit, reporter_email="ana@sano.co", notify=[])
        number = await intake_writer(engine).insert(
            {
                "idempotency_key": "killed-before-start",
                "request_hash": "x" * 64,
                "principal": "ana@sano.co",
                "nit": world.nit,
                "created_at": ticket.registered_at,
                "input": ticket.model_dump(mode="json"),
            }
        )
        assert number is not None
        path = f"/api/v1/tickets/{number}"
        refused = await world.api.http.post(
            f"{path}/messages", json={"body": "¿hola?"}, headers=world.contact
        )
        assert refused.status_code == 409  # the orphan: no workflow to take it

        assert await repair_orphans(dev_env.client, settings, engine) == [number]
        seen = await eventually(
            lambda: world.api.ok("GET", path, headers=world.engineer),
            lambda view: view["assignee"] is not None,
        )
        assert seen["assignee"] == "ing@btw.com.co" and seen["status"] == "open"
        assert seen["sla"]["first_response_due"] is not None
        await world.api.ok(
            "POST", f"{path}/messages", json={"body": "¿hola?"}, headers=world.contact
        )
        await eventually(
            lambda: world.api.ok("GET", "/api/v1/tickets", headers=world.engineer),
            lambda page: number in [item["number"] for item in page["items"]],
        )
        assert number not in await repair_orphans(dev_env.client, settings, engine)
    finally:
        await engine.dispose()


MALFORMED = {
    b'{"body": "caf\xe9"}': "not valid UTF-8: invalid continuation byte at byte 13",
    b"[" * 100_000: "nested too deep at char 500",
    b'{"body": "ho': "Unterminated string starting at: line 1 column 10 (char 9)",
}


def body_routes(world: World) -> list[tuple[str, str]]:
    """Every POST/PUT/PATCH route that takes a JSON body, with its path filled in."""
    values = {"number": str(world.number), "nit": world.nit, "email": "ana@sano.co"}
    found = []
    for route in api_routes(world.api.app):
        if route.body_field is None:
            continue
        path = route.path
        for name in route.param_convertors:
            path = path.replace(f"{{{name}}}", values.get(name, "x1"))
        for method in sorted(route.methods & {"POST", "PUT", "PATCH"}):
            found.append((method, path))
    return found


async def test_malformed_bodies_on_every_route_answer_422_saying_where(world: World) -> None:
    routes = body_routes(world)
    assert len(routes) >= 15 and ("POST", "/api/v1/tickets") in routes
    json_type = {"Content-Type": "application/json"}
    for method, path in routes:
        for raw, where in MALFORMED.items():
            answer = await world.api.http.request(
                method, path, content=raw, headers={**ADMIN, **json_type}
            )
            assert answer.status_code == 422, (method, path, answer.text)
            [error] = answer.json()["errors"]
            assert (error["field"], error["rule"]) == ("body", "json_invalid")
            assert where in error["message"], (path, error)
            # The credentials come first: no token, or a bad one, is a 401.
            anonymous = await world.api.http.request(method, path, content=raw, headers=json_type)
            assert anonymous.status_code == 401, (method, path, anonymous.text)
    bad = {"Authorization": "Bearer wrong-token-1", **json_type}
    answer = await world.api.http.post("/api/v1/tickets", content=b"{", headers=bad)
    assert answer.status_code == 401
    invalid = await world.api.http.post("/api/v1/tickets", json={"kind": 3})
    assert invalid.status_code == 401  # a body that parses but is invalid: 401 first too
    fine = await world.api.http.post(
        f"/api/v1/tickets/{world.number}/messages",
        content=b'{"body": "caf\xc3\xa9"}',
        headers={**world.contact, **json_type},
    )
    assert fine.status_code == 200, fine.text


async def test_a_nit_with_leading_zeros_is_the_same_client(world: World) -> None:
    body = {"nit": "900111222-1", "name": "Ceros", "active": True}
    await world.api.ok("POST", "/api/v1/clients", 201, json=body, headers=ADMIN)
    again = await world.api.http.post(
        "/api/v1/clients", json={**body, "nit": "0900111222-1"}, headers=ADMIN
    )
    assert again.status_code == 409, again.text
    found = await world.api.ok("GET", "/api/v1/clients/00900111222-1", headers=ADMIN)
    assert found["nit"] == "900111222-1"


def client_at(world: World, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=world.api.app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://soporte.test")


async def test_failed_authentication_is_rate_limited_per_ip_and_per_prefix(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    async with client_at(world, "203.0.113.7") as guesser:
        for attempt in range(20):
            wrong = {"Authorization": f"Bearer guess{attempt:04d}-xxxxxxxx"}
            assert (await guesser.get("/api/v1/me", headers=wrong)).status_code == 401
        blocked = await guesser.get("/api/v1/me", headers={"Authorization": "Bearer guess9999"})
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        # While blocked, even a right token from that address waits.
        assert (await guesser.get("/api/v1/me", headers=world.contact)).status_code == 429
    async with client_at(world, "203.0.113.8") as other:
        assert (await other.get("/api/v1/me", headers=world.contact)).status_code == 200
    prefix = "SAMEPREFIX"
    for n in range(10):
        async with client_at(world, f"198.51.100.{n}") as spread:
            wrong = {"Authorization": f"Bearer {prefix}-{n}"}
            assert (await spread.get("/api/v1/me", headers=wrong)).status_code == 401
    async with client_at(world, "198.51.100.200") as last:
        wrong = {"Authorization": f"Bearer {prefix}-last"}
        answer = await last.get("/api/v1/me", headers=wrong)
        assert answer.status_code == 429 and "Retry-After" in answer.headers
    assert "failed authentication from ip 203.0.113.7" in caplog.text
    assert "authentication refused for ip:203.0.113.7" in caplog.text
