"""Incidents through the HTTP API, a real worker and a real Temporal server: tickets of
two clients linked to one incident become P1, and resolving the incident resolves them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from tests.api_support import ADMIN, Api, eventually

INCIDENTS = "/api/v1/incidents"
FOLLOW = 30.0


async def ticket(api: Api, number: int) -> dict[str, Any]:
    found: dict[str, Any] = await api.ok("GET", f"/api/v1/tickets/{number}", headers=ADMIN)
    return found


async def ticket_until(
    api: Api, number: int, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    return await eventually(partial(ticket, api, number), check, FOLLOW)


async def test_contacts_never_reach_incidents(api: Api) -> None:
    nit = await api.client("902345001", "Transportes Sabana")
    contact = await api.contact(nit, "olga@sabana.com.co")
    member = await api.staff("comite.inc@btw.com.co", ["committee"])
    engineer = await api.staff("marta@btw.com.co", ["engineer"])
    for who in (contact, member):
        response = await api.http.post(INCIDENTS, json={"title": "Caída"}, headers=who)
        assert response.status_code == 403, response.text
    incident = await api.ok("POST", INCIDENTS, 201, json={"title": "Caída"}, headers=engineer)
    path = f"{INCIDENTS}/{incident['incident_id']}"
    assert (await api.http.get(path, headers=contact)).status_code == 403
    assert (await api.ok("GET", path, headers=member))["title"] == "Caída"
    number = (await api.open_ticket(contact))["number"]
    response = await api.http.post(f"{path}/tickets", json={"number": number}, headers=contact)
    assert response.status_code == 403, response.text
    response = await api.http.post(
        f"{path}/resolve", json={"kind": "solution", "body": "ok"}, headers=contact
    )
    assert response.status_code == 403, response.text
    assert (await api.http.get(f"{INCIDENTS}/no-such", headers=engineer)).status_code == 404
    response = await api.http.post(INCIDENTS, json={"title": "  "}, headers=engineer)
    assert response.status_code == 422, response.text


async def test_an_incident_of_two_clients(api: Api) -> None:
    """Needs the ticket workflow's signals `incident_priority` and `incident_resolved`."""
    nit_a = await api.client("902345002", "Droguería Central")
    nit_b = await api.client("902345003", "Hotel Cumbre")
    contact_a = await api.contact(nit_a, "pablo@central.com.co")
    contact_b = await api.contact(nit_b, "lina@cumbre.com.co")
    engineer = await api.staff("hugo@btw.com.co", ["engineer"], "Hugo")
    first = (await api.open_ticket(contact_a, subject="No sale la factura"))["number"]
    second = (await api.open_ticket(contact_b, subject="Error al emitir"))["number"]
    third = (await api.open_ticket(contact_a, subject="Tampoco notas crédito"))["number"]

    incident = await api.ok(
        "POST",
        INCIDENTS,
        201,
        json={"title": "Falla masiva de facturación electrónica"},
        headers=engineer,
    )
    incident_id = incident["incident_id"]
    assert incident["status"] == "open"
    assert incident["priority"] is None
    assert incident["opened_by"] == "hugo@btw.com.co"
    path = f"{INCIDENTS}/{incident_id}"

    linked = await api.ok("POST", f"{path}/tickets", json={"number": first}, headers=engineer)
    assert linked["priority"] is None
    # One client so far: the ticket is not P1, but it shows its incident.
    shown = await ticket_until(api, first, lambda t: t["incident_id"] == incident_id)
    assert shown["priority"] != "P1"
    linked = await api.ok("POST", f"{path}/tickets", json={"number": third}, headers=engineer)
    assert linked["priority"] is None, "one client only: not P1"
    linked = await api.ok("POST", f"{path}/tickets", json={"number": second}, headers=ADMIN)
    assert linked["priority"] == "P1"
    assert {t["number"]: t["nit"] for t in linked["tickets"]} == {
        first: nit_a,
        second: nit_b,
        third: nit_a,
    }
    again = await api.http.post(f"{path}/tickets", json={"number": second}, headers=engineer)
    assert again.status_code == 409, again.text
    assert "already linked" in again.json()["detail"]
    response = await api.http.post(
        f"{path}/tickets", json={"number": 2_000_000_000}, headers=engineer
    )
    assert response.status_code == 404, response.text
    response = await api.http.post(
        f"{INCIDENTS}/no-such/tickets", json={"number": first}, headers=engineer
    )
    assert response.status_code == 404, response.text

    seen = await eventually(
        lambda: api.ok("GET", path, headers=engineer), lambda view: view["version"] >= 4
    )
    assert seen["priority"] == "P1"

    for number in (first, second, third):
        await ticket_until(api, number, lambda t: t["priority"] == "P1")

    response = await api.http.post(
        f"{path}/resolve", json={"kind": "rejected", "body": "x"}, headers=engineer
    )
    assert response.status_code == 422, response.text
    resolved = await api.ok(
        "POST",
        f"{path}/resolve",
        json={"kind": "solution", "body": "Se restableció el servicio del proveedor"},
        headers=engineer,
    )
    assert resolved["status"] == "resolved"
    assert resolved["resolution"]["kind"] == "solution"
    for late in (first, (await api.open_ticket(contact_b))["number"]):
        response = await api.http.post(f"{path}/tickets", json={"number": late}, headers=engineer)
        assert response.status_code == 409, response.text
    response = await api.http.post(
        f"{path}/resolve", json={"kind": "solution", "body": "otra vez"}, headers=engineer
    )
    assert response.status_code == 409, response.text

    final = await eventually(
        lambda: api.ok("GET", path, headers=ADMIN), lambda view: view["status"] == "resolved"
    )
    assert final["resolution"]["body"] == "Se restableció el servicio del proveedor"

    for number in (first, second, third):
        done = await ticket_until(api, number, lambda t: t["status"] == "resolved")
        assert done["resolution"]["kind"] == "solution"
