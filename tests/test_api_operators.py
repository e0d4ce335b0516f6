"""What an operator and a script meet in the API: 422 wording, the staff log's addresses,
the admin audit log, the access log and the request id."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from soporte.backup import finish_restore
from soporte.db.migrate import sync_url
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

    async def assignee() -> str | None:
        view = await world.api.ok("GET", f"/api/v1/tickets/{number}", headers=world.engineer)
        return view.get("assignee")  # type: ignore[no-any-return]

    await eventually(assignee, lambda found: found == ENGINEER)
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
        ("staff_deactivated", "audit-sup@btw.com.co"),
        ("token_issued", newest_first[3][1]),  # the supervisor's token, by api.staff
        ("staff_created", "audit-sup@btw.com.co"),
        ("client_deactivated", nit),
    ]
    assert all(e["actor"] == "admin" for e in page["items"])
    assert page["items"][2]["details"] == {"active": False}
    assert page["items"][5]["details"] == {"active": False}
    assert page["total"] >= 7 and page["limit"] == 6 and page["offset"] == 0
    assert issued["token"] not in str(page)

    await api.ok("PATCH", f"/api/v1/clients/{nit}", json={"name": "Nuevo"}, headers=ADMIN)
    renamed = await api.ok("GET", "/api/v1/audit", params={"limit": 1}, headers=ADMIN)
    assert [(e["action"], e["details"]) for e in renamed["items"]] == [
        ("client_updated", {"name": "Nuevo"})
    ]
    second = await api.ok(
        "GET", "/api/v1/audit", params={"limit": 1, "offset": 7}, headers=ADMIN
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


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "soporte.access"]


async def test_one_access_line_per_request_with_its_fields_and_no_secret(
    world: World, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    token = world.contact["Authorization"].split()[1]
    response = await world.api.http.get(
        "/api/v1/tickets", params={"status": "open"}, headers=world.contact
    )
    assert response.status_code == 200
    generated = response.headers["X-Request-ID"]
    assert len(generated) == 32
    missing = await world.api.http.get("/api/v1/tickets/999999999", headers=world.engineer)
    anonymous = await world.api.http.get("/api/v1/me")
    assert anonymous.status_code == 401

    lines = access_lines(caplog)
    assert [(r.method, r.path, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("GET", "/api/v1/tickets", 200),
        ("GET", "/api/v1/tickets/{number}", missing.status_code),
        ("GET", "/api/v1/me", 401),
    ]
    first = lines[0]
    assert first.request_id == generated  # type: ignore[attr-defined]
    assert first.principal == CONTACT  # type: ignore[attr-defined]
    assert lines[1].principal == ENGINEER  # type: ignore[attr-defined]
    assert lines[2].principal == "-"  # type: ignore[attr-defined]
    assert all(isinstance(r.duration_ms, float) for r in lines)  # type: ignore[attr-defined]
    text = "\n".join(r.getMessage() for r in lines)
    assert token not in text and "status=open" not in text and "999999999" not in text


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("abc-123.DEF:9", True), ("x" * 129, False), ("bad id", False), ("-leading", False)],
)
async def test_request_id_is_echoed_when_sane_else_replaced(
    world: World, caplog: pytest.LogCaptureFixture, sent: str, kept: bool
):
    caplog.set_level(logging.INFO)
    response = await world.api.http.get("/healthz", headers={"X-Request-ID": sent})
    echoed = response.headers["X-Request-ID"]
    assert (echoed == sent) is kept
    if not kept:
        assert len(echoed) == 32 and echoed.isalnum()
    [line] = access_lines(caplog)
    assert line.request_id == echoed  # type: ignore[attr-defined]


async def test_the_worker_logs_the_request_id_of_the_commands_it_runs(
    world: World, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    opened = await world.api.http.post(
        "/api/v1/tickets",
        json={
            "kind": "support", "category": "nómina", "subject": "Error de nómina",
            "description": "No liquida", "expected_result": "Liquidar",
        },
        headers={**world.contact, "X-Request-ID": "open-ticket-1"},
    )
    assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    replied = await world.api.http.post(
        f"/api/v1/tickets/{number}/messages",
        json={"body": "Revisando", "visibility": "public"},
        headers={**world.engineer, "X-Request-ID": "reply-1"},
    )
    assert replied.status_code == 200, replied.text

    def worker_lines() -> dict[str, str]:
        return {
            r.request_id: r.getMessage()  # type: ignore[attr-defined]
            for r in caplog.records
            if r.name.startswith("temporalio.workflow") and hasattr(r, "request_id")
        }

    async def probe() -> dict[str, str]:
        return worker_lines()

    found = await eventually(probe, lambda lines: {"open-ticket-1", "reply-1"} <= set(lines))
    assert found["open-ticket-1"].startswith(f"start ticket-{number} ")
    assert found["reply-1"].startswith("update ")
    assert f"ticket-{number}" in found["reply-1"]


def forget_ticket(url: str, number: int) -> None:
    """What a read model restored from before ticket `number` looks like: no trace of it,
    and the next number handed out is `number` again (its workflow still exists)."""
    engine = create_engine(sync_url(url))
    with engine.begin() as db:
        for table in ("ticket_events", "tickets", "assignment_picks", "outbound_mail"):
            db.execute(text(f"DELETE FROM {table} WHERE number = :n"), {"n": number})
        db.execute(text("DELETE FROM ticket_intake WHERE number = :n"), {"n": number})
        if engine.dialect.name == "sqlite":
            db.execute(
                text("UPDATE sqlite_sequence SET seq = :n WHERE name = 'ticket_intake'"),
                {"n": number - 1},
            )
        else:
            db.execute(text("SELECT setval('ticket_intake_number_seq', :n)"), {"n": number - 1})
    engine.dispose()


async def test_a_number_whose_workflow_exists_is_skipped_and_its_ticket_recovered(world: World):
    api = world.api
    nit_b = await api.client("812000003", "Cliente B")
    other = await api.contact(nit_b, "b@cliente-b-ops.co")
    first = await api.open_ticket(world.contact, subject="El primero")
    taken = first["number"]
    assert api.settings.database_url
    forget_ticket(api.settings.database_url, taken)

    second = await api.open_ticket(
        other, subject="El segundo", description="Otro cliente, otro problema"
    )
    assert second["number"] != taken
    assert second["number"] == taken + 1
    mine = await api.ok("GET", f"/api/v1/tickets/{second['number']}", headers=other)
    assert mine["subject"] == "El segundo"
    # The number handed out first belongs to the ticket its workflow holds, again findable.
    recovered = await api.ok("GET", f"/api/v1/tickets/{taken}", headers=world.contact)
    assert recovered["subject"] == "El primero"
    refused = await api.http.get(f"/api/v1/tickets/{taken}", headers=other)
    assert refused.status_code == 404
    # The second ticket's workflow really started: it answers a command.
    async def view() -> dict[str, Any]:
        found: dict[str, Any] = await api.ok(
            "GET", f"/api/v1/tickets/{second['number']}", headers=world.engineer
        )
        return found

    started = await eventually(view, lambda v: v.get("assignee") == ENGINEER)
    assert started["nit"] == nit_b


async def test_after_a_restore_the_worker_starts_workflows_the_snapshot_lacked(
    world: World, dev_env: WorkflowEnvironment
):
    """A ticket registered while the backup copied temporal.db: its row is in the copy of
    soporte.db, its workflow is not. The first worker start after the restore starts it."""
    api = world.api
    opened = await api.open_ticket(world.contact, subject="Registrado durante la copia")
    assert api.settings.database_url
    engine = create_engine(sync_url(api.settings.database_url))
    with engine.begin() as db:
        row = db.execute(
            text("SELECT principal, nit, created_at, input FROM ticket_intake WHERE number = :n"),
            {"n": opened["number"]},
        ).one()
        lacking = db.execute(
            text("INSERT INTO ticket_intake (principal, nit, created_at, input) "
                 "VALUES (:p, :nit, :at, :input) RETURNING number"),
            {"p": row[0], "nit": row[1], "at": row[2],
             "input": row[3] if isinstance(row[3], str) else json.dumps(row[3])},
        ).scalar_one()
    engine.dispose()
    handle = dev_env.client.get_workflow_handle(f"ticket-{lacking}")
    with pytest.raises(RPCError):
        await handle.describe()

    pending = api.settings.data_dir / "restore-pending.json"
    pending.write_text(json.dumps({"numbers": [opened["number"], lacking]}))
    assert await finish_restore(api.settings, dev_env.client) == 2
    assert not pending.exists()
    assert (await handle.describe()).id == f"ticket-{lacking}"
    view = await api.ok("GET", f"/api/v1/tickets/{lacking}", headers=world.contact)
    assert view["subject"] == "Registrado durante la copia"
    assert await finish_restore(api.settings, dev_env.client) is None  # nothing pending now
