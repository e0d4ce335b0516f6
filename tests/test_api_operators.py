"""What an operator and a script meet in the API: 422 wording, the staff log's addresses,
the admin audit log, the access log and the request id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_support import ADMIN, Api, backends, eventually, module_api

ENGINEER = "ops-eng@btw.com.co"
CONTACT = "ops@cliente-ops.co"


@dataclass
class World:
    api: Api
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
        engineer = await api.staff(ENGINEER, ["engineer"], name="Ingeniera Ops")
        nit = await api.client("812000001", "Cliente Ops")
        contact = await api.contact(nit, CONTACT)
        yield World(api, nit, contact, engineer)


async def test_422_names_the_allowed_words_not_python_reprs(world: World):
    ticket = await world.api.open_ticket(world.contact)
    response = await world.api.http.post(
        f"/api/v1/tickets/{ticket['number']}/resolve",
        json={"kind": "arreglado", "body": "listo"},
        headers=world.engineer,
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert "<" not in response.text and "ResolutionKind" not in response.text
    [error] = body["errors"]
    assert error["field"] == "kind"
    assert "'solution'" in error["message"] and "'instructions'" in error["message"]
    assert "'advice'" in error["message"]


async def test_staff_log_shows_the_address_a_notification_went_to(world: World):
    ticket = await world.api.open_ticket(world.contact)
    number = ticket["number"]
    await world.api.ok(
        "POST", f"/api/v1/tickets/{number}/messages", json={"body": "Más datos"},
        headers=world.contact,
    )

    async def log() -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = await world.api.ok(
            "GET", f"/api/v1/tickets/{number}/log", headers=world.engineer
        )
        return entries

    def told_engineer(entries: list[dict[str, Any]]) -> bool:
        return any(
            e["data"].get("template") == "client_message" and e["data"]["to"] == [ENGINEER]
            for e in entries
        )

    entries = await eventually(log, told_engineer)
    [notice] = [e for e in entries if e["data"].get("template") == "client_message"]
    assert notice["data"]["addressed_to"] == ["@assignee"]
    # The contact's own log never carries staff addresses.
    mine = await world.api.ok("GET", f"/api/v1/tickets/{number}/log", headers=world.contact)
    assert ENGINEER not in str(mine)


async def test_audit_log_records_registry_and_token_changes(world: World):
    api = world.api
    nit = await api.client("812000002", "Cliente Auditado")
    await api.ok("PATCH", f"/api/v1/clients/{nit}", json={"active": False}, headers=ADMIN)
    await api.staff("audit-sup@btw.com.co", ["supervisor"])
    await api.ok(
        "PATCH", "/api/v1/staff/audit-sup@btw.com.co", json={"active": False}, headers=ADMIN
    )
    issued = await api.ok(
        "POST", "/api/v1/tokens", 201, json={"email": CONTACT}, headers=ADMIN
    )
    await api.ok("DELETE", f"/api/v1/tokens/{issued['id']}", 204, headers=ADMIN)

    page = await api.ok("GET", "/api/v1/audit", params={"limit": 6}, headers=ADMIN)
    newest_first = [(e["action"], e["subject"]) for e in page["items"]]
    token = f"token {issued['id']} ({CONTACT})"
    assert newest_first == [
        ("token_revoked", token),
        ("token_issued", token),
        ("staff_updated", "audit-sup@btw.com.co"),
        ("token_issued", newest_first[3][1]),  # the supervisor's token, by api.staff
        ("staff_created", "audit-sup@btw.com.co"),
        ("client_updated", nit),
    ]
    assert all(e["actor"] == "admin" for e in page["items"])
    assert page["items"][2]["details"] == {"active": False}
    assert page["items"][5]["details"] == {"active": False}
    assert page["total"] >= 7 and page["limit"] == 6 and page["offset"] == 0
    assert issued["token"] not in str(page)

    second = await api.ok(
        "GET", "/api/v1/audit", params={"limit": 1, "offset": 6}, headers=ADMIN
    )
    assert [(e["action"], e["subject"]) for e in second["items"]] == [("client_created", nit)]
    created = await api.ok(
        "GET", "/api/v1/audit", params={"action": "client_created"}, headers=ADMIN
    )
    assert {e["subject"] for e in created["items"]} >= {nit, world.nit}


async def test_audit_log_is_for_admins_only(world: World):
    response = await world.api.http.get("/api/v1/audit", headers=world.engineer)
    assert response.status_code == 403
    bad = await world.api.http.get("/api/v1/audit", params={"limit": 0}, headers=ADMIN)
    assert bad.status_code == 422 and "limit" in bad.text
    unknown = await world.api.http.get("/api/v1/audit", params={"action": "x"}, headers=ADMIN)
    assert unknown.status_code == 422 and "'token_issued'" in unknown.text
