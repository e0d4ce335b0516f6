"""No input without an answer: keyed commands applied once, malformed bodies named, the
credentials checked first, NITs normalised, failed authentication rate-limited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from temporalio.testing import WorkflowEnvironment

from soporte.db.session import create_engine
from soporte.services.intake_writer import intake_writer
from soporte.services.orphans import repair_orphans
from tests.api_support import Api, backends, eventually, module_api
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
