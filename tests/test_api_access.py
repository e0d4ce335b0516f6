"""Authorization (roles and ownership), input validation, idempotent creation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api_support import ADMIN, Api, bearer, make_nit, wrong_nit

COMMAND_BODIES: dict[str, dict[str, Any]] = {
    "messages": {"body": "hola"},
    "assign": {"engineer_email": "eng@btw.com.co"},
    "priority": {"priority": "P1", "reason": "urgente"},
    "request-info": {"body": "¿qué prefijo?"},
    "resolve": {"kind": "solution", "body": "listo"},
    "abandon": {"reason": "sin respuesta"},
    "reopen": {"reason": "sigue fallando"},
    "rating": {"score": 4},
}


@dataclass
class World:
    api: Api
    number: int
    nit_a: str
    contact_a: dict[str, str]
    contact_b: dict[str, str]
    contact_inactive: dict[str, str]
    engineer: dict[str, str]
    supervisor: dict[str, str]
    committee: dict[str, str]


@pytest.fixture(scope="module")
async def world(api: Api) -> AsyncIterator[World]:
    nit_a = await api.client("811000001", "Cliente A")
    nit_b = await api.client("811000002", "Cliente B")
    nit_c = await api.client("811000003", "Cliente Inactivo")
    contact_a = await api.contact(nit_a, "a@cliente-a.co")
    contact_b = await api.contact(nit_b, "b@cliente-b.co")
    contact_c = await api.contact(nit_c, "c@cliente-c.co")
    await api.ok("PATCH", f"/api/v1/clients/{nit_c}", json={"active": False}, headers=ADMIN)
    engineer = await api.staff("eng@btw.com.co", ["engineer"])
    supervisor = await api.staff("sup@btw.com.co", ["supervisor"])
    committee = await api.staff("com@btw.com.co", ["committee"])
    ticket = await api.open_ticket(contact_a)
    yield World(
        api,
        ticket["number"],
        nit_a,
        contact_a,
        contact_b,
        contact_c,
        engineer,
        supervisor,
        committee,
    )


def ticket_routes(number: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/v1/tickets/{number}"
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("GET", f"{base}/log", None),
        ("GET", f"{base}/attachments", None),
        ("GET", f"{base}/attachments/{'0' * 64}", None),
    ]
    routes += [("POST", f"{base}/{name}", body) for name, body in COMMAND_BODIES.items()]
    return routes


async def test_no_or_bad_token_is_401(world: World) -> None:
    http = world.api.http
    for method, path, body in ticket_routes(world.number):
        response = await http.request(method, path, json=body)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
    response = await http.get("/api/v1/tickets", headers=bearer("nope"))
    assert response.status_code == 401
    assert response.json()["detail"]


async def test_a_foreign_clients_contact_gets_404_everywhere(world: World) -> None:
    for method, path, body in ticket_routes(world.number):
        response = await world.api.http.request(method, path, json=body, headers=world.contact_b)
        assert response.status_code == 404, (path, response.text)
        assert str(world.number) in response.json()["detail"]
    upload = await world.api.http.post(
        f"/api/v1/tickets/{world.number}/attachments",
        files={"file": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png")},
        headers=world.contact_b,
    )
    assert upload.status_code == 404
    listed = await world.api.ok("GET", "/api/v1/tickets", headers=world.contact_b)
    assert all(item["nit"] != world.nit_a for item in listed["items"])


async def test_unknown_ticket_is_404(world: World) -> None:
    for method, path, body in ticket_routes(2_000_000_001):
        response = await world.api.http.request(method, path, json=body, headers=world.engineer)
        assert response.status_code == 404, (path, response.text)


@pytest.mark.parametrize(
    ("who", "commands"),
    [
        ("contact_a", ["assign", "priority", "request-info", "resolve", "abandon"]),
        ("engineer", ["rating"]),
        ("supervisor", ["rating"]),
        ("committee", list(COMMAND_BODIES)),
    ],
)
async def test_roles_not_allowed_get_403(world: World, who: str, commands: list[str]) -> None:
    headers = getattr(world, who)
    for command in commands:
        response = await world.api.http.post(
            f"/api/v1/tickets/{world.number}/{command}",
            json=COMMAND_BODIES[command],
            headers=headers,
        )
        assert response.status_code == 403, (who, command, response.text)


async def test_admin_manages_the_registry_but_works_no_tickets(world: World) -> None:
    response = await world.api.http.post(
        f"/api/v1/tickets/{world.number}/resolve", json=COMMAND_BODIES["resolve"], headers=ADMIN
    )
    assert response.status_code == 403
    response = await world.api.http.post(
        "/api/v1/tickets",
        json={"kind": "support", "category": "x", "subject": "s", "description": "d"},
        headers=ADMIN,
    )
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["contact_a", "engineer", "supervisor", "committee"])
async def test_only_admin_touches_the_registry(world: World, who: str) -> None:
    headers = getattr(world, who)
    attempts = [
        ("POST", "/api/v1/clients", {"nit": "811000004-0", "name": "x"}),
        ("PATCH", f"/api/v1/clients/{world.nit_a}", {"active": False}),
        ("POST", f"/api/v1/clients/{world.nit_a}/contacts", {"name": "x", "email": "x@y.co"}),
        ("POST", "/api/v1/staff", {"name": "x", "email": "x@btw.com.co", "roles": ["admin"]}),
        ("POST", "/api/v1/tokens", {"email": "eng@btw.com.co"}),
        ("GET", "/api/v1/clients", None),
    ]
    for method, path, body in attempts:
        response = await world.api.http.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (who, path, response.text)


async def test_contacts_see_no_internal_fields(world: World) -> None:
    mine = await world.api.ok("GET", f"/api/v1/tickets/{world.number}", headers=world.contact_a)
    assert "system_priority" not in mine and "waiting_attempts" not in mine
    staff = await world.api.ok("GET", f"/api/v1/tickets/{world.number}", headers=world.engineer)
    assert "system_priority" in staff


async def test_inactive_client_cannot_open_tickets(world: World) -> None:
    response = await world.api.http.post(
        "/api/v1/tickets",
        json={"kind": "support", "category": "x", "subject": "s", "description": "d"},
        headers=world.contact_inactive,
    )
    assert response.status_code == 403
    body = response.json()
    # English for scripts; Spanish, with the vendor's real channels, for the person.
    assert body["detail"] == (
        f"client {make_nit('811000003')} is inactive: only contacts of active clients may "
        "open tickets"
    )
    assert body["message_es"].startswith("Cliente Inactivo (NIT ")
    assert "no tiene hoy un servicio de soporte activo con BTW" in body["message_es"]
    assert "soporte@btw.com.co o servicioalcliente@btw.com.co" in body["message_es"]
    assert "(+57 4) 6047282 ext. 121–157" in body["message_es"]
    assert "601 000 0000" not in response.text


async def test_a_consultant_must_be_active_staff(world: World) -> None:
    api = world.api
    nit = make_nit("811000009")
    body = {"nit": nit, "name": "Con consultor", "consultant_email": "nadie@btw.com.co"}
    response = await api.http.post("/api/v1/clients", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("consultant_email: nadie@btw.com.co is not")
    created = await api.ok(
        "POST", "/api/v1/clients", 201, json={**body, "consultant_email": "eng@btw.com.co"},
        headers=ADMIN,
    )  # fmt: skip
    assert created["consultant_email"] == "eng@btw.com.co"
    await api.staff("ida@btw.com.co", ["engineer"])
    await api.ok("PATCH", "/api/v1/staff/ida@btw.com.co", json={"active": False}, headers=ADMIN)
    response = await api.http.patch(
        f"/api/v1/clients/{nit}", json={"consultant_email": "ida@btw.com.co"}, headers=ADMIN
    )
    assert response.status_code == 422, response.text
    assert "consultant_email" in response.json()["detail"]


async def test_the_contact_page_lists_the_channels_without_a_token(world: World) -> None:
    response = await world.api.http.get("/contacto")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Línea única: (+57 4) 6047282 ext. 121–157." in response.text
    assert "ext. 911: lunes a jueves de 18:00 a 22:00 y viernes de 17:00 a 22:00" in response.text
    assert 'href="mailto:servicioalcliente@btw.com.co"' in response.text


@pytest.mark.parametrize("field", ["status", "assignee", "priority", "number"])
async def test_mass_assignment_is_refused_naming_the_field(world: World, field: str) -> None:
    body = {"kind": "support", "category": "x", "subject": "s", "description": "d", field: "x"}
    response = await world.api.http.post("/api/v1/tickets", json=body, headers=world.contact_a)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert "unknown field" in response.json()["detail"]


async def test_a_contact_cannot_write_internal_notes(world: World) -> None:
    response = await world.api.http.post(
        f"/api/v1/tickets/{world.number}/messages",
        json={"body": "x", "visibility": "internal"},
        headers=world.contact_a,
    )
    assert response.status_code == 422
    assert "visibility" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/tickets", {"kind": "bug", "category": "x", "subject": "s"}, "kind"),
        ("/api/v1/tickets", {"kind": "support", "category": "x", "subject": 5}, "subject"),
        ("/api/v1/tickets", {"kind": "support", "category": "x", "subject": "s"}, "description"),
        ("/api/v1/tickets", {"kind": "support", "subject": "s", "description": "d"}, "category"),
        ("/api/v1/tickets/{n}/rating", {"score": "five"}, "score"),
        ("/api/v1/tickets/{n}/rating", {"score": 6}, "score"),
        ("/api/v1/tickets/{n}/messages", {"body": ["x"]}, "body"),
        ("/api/v1/tickets/{n}/messages", {"body": "a\u0000b"}, "body"),
        ("/api/v1/tickets/{n}/resolve", {"kind": "abandoned", "body": "x"}, "kind"),
    ],
)
async def test_wrong_types_are_422_naming_the_field(
    world: World, path: str, body: dict[str, Any], field: str
) -> None:
    response = await world.api.http.post(
        path.format(n=world.number), json=body, headers=world.contact_a
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


async def test_path_and_query_problems_are_4xx(world: World) -> None:
    http = world.api.http
    for path in [
        "/api/v1/tickets/abc",
        "/api/v1/tickets/0",
        "/api/v1/tickets/99999999999999999999999",
        "/api/v1/tickets?limit=0",
        "/api/v1/tickets?limit=100000",
        "/api/v1/tickets?status=lost",
        "/api/v1/tickets?breached=maybe",
        "/api/v1/tickets?nit=%00",
    ]:
        response = await http.get(path, headers=world.engineer)
        assert 400 <= response.status_code < 500, (path, response.text)


async def test_huge_and_broken_bodies_are_4xx(world: World) -> None:
    http = world.api.http
    huge = b'{"body": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await http.post(
        f"/api/v1/tickets/{world.number}/messages",
        content=huge,
        headers={**world.contact_a, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert "larger" in response.json()["detail"]
    too_long = {"body": "x" * 20001}
    response = await http.post(
        f"/api/v1/tickets/{world.number}/messages", json=too_long, headers=world.contact_a
    )
    assert response.status_code == 422
    assert "body" in response.json()["detail"]
    response = await http.post(
        "/api/v1/tickets",
        content=b"{not json",
        headers={**world.contact_a, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


async def test_bad_nit_names_the_expected_digit(world: World) -> None:
    nit, expected = wrong_nit("900500600")
    response = await world.api.http.post(
        "/api/v1/clients", json={"nit": nit, "name": "Mal"}, headers=ADMIN
    )
    assert response.status_code == 422
    assert f"is {expected}" in response.json()["detail"]
    response = await world.api.http.post(
        "/api/v1/clients", json={"nit": "abc", "name": "Mal"}, headers=ADMIN
    )
    assert response.status_code == 422
    assert "nit" in response.json()["detail"]


async def test_registry_conflicts_are_409(world: World) -> None:
    response = await world.api.http.post(
        "/api/v1/clients", json={"nit": world.nit_a, "name": "Otra vez"}, headers=ADMIN
    )
    assert response.status_code == 409
    response = await world.api.http.post(
        "/api/v1/staff",
        json={"name": "x", "email": "a@cliente-a.co", "roles": ["engineer"]},
        headers=ADMIN,
    )
    assert response.status_code == 409
    response = await world.api.http.post(
        "/api/v1/staff",
        json={"name": "x", "email": "x@btw.com.co", "roles": ["contact"]},
        headers=ADMIN,
    )
    assert response.status_code == 422


async def test_revoked_tokens_stop_working(world: World) -> None:
    api = world.api
    issued = await api.ok(
        "POST", "/api/v1/tokens", 201, json={"email": "eng@btw.com.co"}, headers=ADMIN
    )
    headers = bearer(issued["token"])
    await api.ok("GET", "/api/v1/me", headers=headers)
    listed = await api.ok(
        "GET", "/api/v1/tokens", params={"email": "eng@btw.com.co"}, headers=ADMIN
    )
    assert all("token" not in row for row in listed)
    await api.ok("DELETE", f"/api/v1/tokens/{issued['id']}", 204, headers=ADMIN)
    response = await api.http.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    response = await api.http.delete(f"/api/v1/tokens/{issued['id']}", headers=ADMIN)
    assert response.status_code == 409


async def test_idempotent_creation(world: World) -> None:
    api = world.api
    body = {"kind": "support", "category": "x", "subject": "idem", "description": "d"}
    headers = {**world.contact_a, "Idempotency-Key": "key-1"}
    first = await api.ok("POST", "/api/v1/tickets", 201, json=body, headers=headers)
    again = await api.http.post("/api/v1/tickets", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json()["number"] == first["number"]
    assert again.headers["idempotent-replayed"] == "true"

    concurrent_headers = {**world.contact_a, "Idempotency-Key": "key-concurrent"}
    responses = await asyncio.gather(
        *(api.http.post("/api/v1/tickets", json=body, headers=concurrent_headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["number"] for r in responses}) == 1

    different = await api.http.post(
        "/api/v1/tickets", json={**body, "subject": "otro"}, headers=headers
    )
    assert different.status_code == 409
    other_principal = await api.ok(
        "POST",
        "/api/v1/tickets",
        201,
        json=body,
        headers={**world.contact_b, "Idempotency-Key": "key-1"},
    )
    assert other_principal["number"] != first["number"]


async def test_an_engineer_opens_a_phone_ticket_for_a_contact(world: World) -> None:
    api = world.api
    body = {"kind": "support", "category": "x", "subject": "llamada", "description": "d"}
    response = await api.http.post("/api/v1/tickets", json=body, headers=world.engineer)
    assert response.status_code == 422
    assert "reporter_email" in response.json()["detail"]
    ticket = await api.ok(
        "POST",
        "/api/v1/tickets",
        201,
        json={**body, "reporter_email": "a@cliente-a.co", "channel": "phone"},
        headers=world.engineer,
    )
    assert ticket["channel"] == "phone"
    assert ticket["nit"] == world.nit_a
    response = await api.http.post(
        "/api/v1/tickets",
        json={**body, "reporter_email": "c@cliente-c.co"},
        headers=world.engineer,
    )
    assert response.status_code == 403


async def test_sla_preview(world: World) -> None:
    http = world.api.http
    good = await http.get(
        "/api/v1/sla/preview", params={"priority": "P2", "start": "2026-11-27T16:30:00-05:00"}
    )
    assert good.json() == {
        "priority": "P2",
        "start": "2026-11-27T16:30:00-05:00",
        "first_response_due": "2026-11-30T08:00:00-05:00",
        "resolution_due": "2026-12-02T10:00:00-05:00",
    }
    for params, field in [
        ({"priority": "P7", "start": "2026-11-27T16:30:00-05:00"}, "priority"),
        ({"priority": "P2", "start": "2026-11-27T16:30:00"}, "start"),
        ({"priority": "P2", "start": "27/11/2026"}, "start"),
        ({"priority": "P2"}, "start"),
    ]:
        response = await http.get("/api/v1/sla/preview", params=params)
        assert response.status_code == 422, response.text
        assert field in response.json()["detail"]


async def test_healthz(world: World) -> None:
    response = await world.api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "temporal": "ok",
        "worker": "ok",
        "workers": 1,
    }
