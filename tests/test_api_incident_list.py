"""GET /api/v1/incidents: staff list incidents newest first, filtered by status, paginated;
an unknown parameter is a 422; contacts are refused. Real incident workflows project them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api_support import ADMIN, Api, backends, eventually, module_api

INCIDENTS = "/api/v1/incidents"


@pytest.fixture(scope="module", params=backends())
async def api(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Api]:
    async with module_api(request, dev_env, tmp_path_factory) as running:
        yield running


async def listed(api: Api, params: dict[str, Any], headers: dict[str, str]) -> Any:
    return await api.ok("GET", INCIDENTS, params=params, headers=headers)


async def test_staff_list_incidents_newest_first_by_status(api: Api) -> None:
    engineer = await api.staff("lista.inc@btw.com.co", ["engineer"])
    member = await api.staff("comite.lista@btw.com.co", ["committee"])
    nit = await api.client("905555001", "Panadería Sol")
    contact = await api.contact(nit, "sol@panaderia.co")
    ids = []
    for title in ("Caída del portal", "Lentitud al facturar", "Error en nómina"):
        opened = await api.ok("POST", INCIDENTS, 201, json={"title": title}, headers=engineer)
        ids.append(opened["incident_id"])
    resolve = {"kind": "solution", "body": "Restablecido"}
    await api.ok("POST", f"{INCIDENTS}/{ids[0]}/resolve", json=resolve, headers=engineer)

    page = await eventually(
        lambda: listed(api, {}, member),
        lambda p: p["total"] == 3 and any(i["status"] == "resolved" for i in p["items"]),
    )
    assert [i["incident_id"] for i in page["items"]] == ids[::-1]
    assert page["items"][0]["title"] == "Error en nómina"
    open_only = await listed(api, {"status": "open"}, ADMIN)
    assert [i["incident_id"] for i in open_only["items"]] == [ids[2], ids[1]]
    resolved = await listed(api, {"status": "resolved"}, engineer)
    assert [i["incident_id"] for i in resolved["items"]] == [ids[0]]
    assert resolved["items"][0]["resolution"]["body"] == "Restablecido"
    second = await listed(api, {"limit": 1, "offset": 1}, engineer)
    assert [i["incident_id"] for i in second["items"]] == [ids[1]]
    assert (second["total"], second["limit"], second["offset"]) == (3, 1, 1)

    response = await api.http.get(INCIDENTS, headers=contact)
    assert response.status_code == 403, response.text
    for params, field in (
        ({"status": "closed"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"title": "x"}, "title"),
    ):
        response = await api.http.get(INCIDENTS, params=params, headers=engineer)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]]
