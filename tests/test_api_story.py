"""The end-to-end story through the HTTP API, a real worker and a real Temporal server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_support import ADMIN, Api, eventually, module_api


async def test_the_whole_story(api: Api) -> None:
    nit = await api.client("900123456", "Ferretería Andina")
    contact = await api.contact(nit, "ana@andina.com.co", "Ana")
    await api.contact(nit, "jefe@andina.com.co", "Jefe")
    engineer = await api.staff("ingrid@btw.com.co", ["engineer"], "Ingrid")

    ticket = await api.open_ticket(contact, notify=["jefe@andina.com.co"])
    number = ticket["number"]
    assert ticket["status"] in ("open", "in_progress")
    assert ticket["nit"] == nit
    assert "system_priority" not in ticket

    path = f"/api/v1/tickets/{number}"
    seen = await eventually(
        lambda: api.ok("GET", path, headers=engineer), lambda t: t["assignee"] is not None
    )
    assert seen["assignee"] == "ingrid@btw.com.co"
    assert seen["sla"]["first_response_due"] is not None

    await api.ok("POST", f"{path}/messages", json={"body": "Revisando"}, headers=engineer)
    await api.ok(
        "POST",
        f"{path}/messages",
        json={"body": "posible bug del módulo DIAN", "visibility": "internal"},
        headers=engineer,
    )
    asked = await api.ok(
        "POST", f"{path}/request-info", json={"body": "¿Qué prefijo usa?"}, headers=engineer
    )
    assert asked["status"] == "waiting_on_client"
    assert asked["sla"]["paused"] is True

    answered = await api.ok("POST", f"{path}/messages", json={"body": "FE-1"}, headers=contact)
    assert answered["number"] == number
    await eventually(
        lambda: api.ok("GET", path, headers=contact), lambda t: t["status"] != "waiting_on_client"
    )

    resolved = await api.ok(
        "POST",
        f"{path}/resolve",
        json={"kind": "solution", "body": "Se corrigió la resolución de numeración"},
        headers=engineer,
    )
    assert resolved["status"] == "resolved"
    assert resolved["resolution"]["kind"] == "solution"

    log = await eventually(
        lambda: api.ok("GET", f"{path}/log", headers=contact),
        lambda lines: any(line["type"] == "resolved" for line in lines),
    )
    assert [line["seq"] for line in log] == sorted(line["seq"] for line in log)
    assert all(line["visibility"] == "public" for line in log)
    assert not any("DIAN" in line["body"] for line in log)
    staff_log = await api.ok("GET", f"{path}/log", headers=engineer)
    assert any(line["type"] == "internal_note" for line in staff_log)

    rated = await api.ok(
        "POST", f"{path}/rating", json={"score": 5, "comment": "gracias"}, headers=contact
    )
    assert rated["rating"]["score"] == 5

    listed = await api.ok("GET", "/api/v1/tickets", params={"nit": nit}, headers=ADMIN)
    assert listed["total"] >= 1
    assert any(item["number"] == number for item in listed["items"])


async def test_refused_command_is_409_with_the_reason(api: Api) -> None:
    nit = await api.client("900223344", "Lácteos del Valle")
    contact = await api.contact(nit, "luis@lacteos.com.co")
    engineer = await api.staff("eva@btw.com.co", ["engineer"])
    number = (await api.open_ticket(contact))["number"]
    response = await api.http.post(
        f"/api/v1/tickets/{number}/rating", json={"score": 4}, headers=contact
    )
    assert response.status_code == 409, response.text
    assert response.json()["detail"]
    response = await api.http.post(
        f"/api/v1/tickets/{number}/reopen", json={"reason": "sigue"}, headers=engineer
    )
    assert response.status_code == 409, response.text


# --- Reopen: one rule for every channel (POLICY.md "Resolution, reopening, closing"); the
# email channel's test is in tests/test_email_channel.py.


async def resolved_ticket(api: Api, base: str, email: str) -> tuple[int, dict[str, str]]:
    nit = await api.client(base, "Reapertura S.A.S.")
    contact = await api.contact(nit, email)
    engineer = await api.staff(f"eng-{email}", ["engineer"])
    number = (await api.open_ticket(contact))["number"]
    path = f"/api/v1/tickets/{number}"
    body = {"kind": "solution", "body": "Plantilla corregida"}
    await eventually(
        lambda: api.ok("GET", path, headers=engineer), lambda t: t["assignee"] is not None
    )
    resolved = await api.ok("POST", f"{path}/resolve", json=body, headers=engineer)
    assert resolved["status"] == "resolved"
    return number, contact


async def test_a_clients_api_message_on_a_resolved_ticket_reopens_it(api: Api) -> None:
    number, contact = await resolved_ticket(api, "900445566", "reabre@cliente.co")
    path = f"/api/v1/tickets/{number}"
    shown = await api.ok(
        "POST", f"{path}/messages", json={"body": "Sigue fallando el PDF"}, headers=contact
    )
    assert shown["status"] == "in_progress" and shown["resolution"] is None
    log = await eventually(
        lambda: api.ok("GET", f"{path}/log", headers=contact),
        lambda lines: any(line["type"] == "reopened" for line in lines),
    )
    reopened = [line for line in log if line["type"] == "reopened"]
    assert len(reopened) == 1 and reopened[0]["body"] == "Sigue fallando el PDF"
    assert any(line["type"] == "client_message" for line in log)


@pytest.fixture(scope="module", params=["sqlite"])
async def short_window_api(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Api]:
    window = timedelta(seconds=2)
    async with module_api(request, dev_env, tmp_path_factory, reopen_window=window) as running:
        yield running


async def test_a_clients_api_message_after_the_window_is_refused_with_the_policys_message(
    short_window_api: Api,
) -> None:
    api = short_window_api
    number, contact = await resolved_ticket(api, "900445567", "tarde@cliente.co")
    path = f"/api/v1/tickets/{number}"
    await eventually(
        lambda: api.ok("GET", path, headers=contact), lambda t: t["status"] == "closed"
    )
    response = await api.http.post(
        f"{path}/messages", json={"body": "Sigue fallando"}, headers=contact
    )
    assert response.status_code == 409, response.text
    assert f"open a new ticket that refers to #{number}" in response.json()["detail"]
