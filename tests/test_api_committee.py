"""The weekly committee through the HTTP API, a real worker and a real Temporal server:
a session started by admin with the requirements on its agenda, decisions and refusals,
the tickets following the decisions, and the weekly schedule the worker ensures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, delete, select
from temporalio.testing import WorkflowEnvironment

from soporte.db.committee_models import CommitteeSessionRow
from soporte.db.migrate import sync_url
from soporte.policy.calendar import BOGOTA
from soporte.schedules import COMMITTEE_SCHEDULE_ID, next_committee_runs
from tests.api_support import ADMIN, Api, eventually
from worker import prepare_worker

SESSIONS = "/api/v1/committee/sessions"
# How long a ticket may take to follow a decision (signal, then projection).
FOLLOW = 30.0


async def requirement(api: Api, contact: dict[str, str], subject: str) -> int:
    ticket = await api.open_ticket(
        contact,
        kind="requirement",
        category="nomina",
        subject=subject,
        description="Necesitamos un reporte nuevo.",
    )
    assert ticket["kind"] == "requirement"
    number: int = ticket["number"]
    return number


async def pending(api: Api, numbers: list[int]) -> None:
    """The agenda is read from the read model: wait until the requirements are projected."""

    async def listed() -> set[int]:
        page = await api.ok(
            "GET", "/api/v1/tickets", params={"status": "pending_committee"}, headers=ADMIN
        )
        return {item["number"] for item in page["items"]}

    await eventually(listed, lambda found: set(numbers) <= found)


async def start_session(api: Api) -> dict[str, Any]:
    """Admin starts a session (once the previous one, if any, is projected closed)."""

    async def attempt() -> Any:
        return await api.http.post(SESSIONS, headers=ADMIN)

    response = await eventually(attempt, lambda r: r.status_code != 409)
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


async def ticket(api: Api, number: int) -> dict[str, Any]:
    found: dict[str, Any] = await api.ok("GET", f"/api/v1/tickets/{number}", headers=ADMIN)
    return found


async def test_a_session_decides_its_agenda(api: Api) -> None:
    nit = await api.client("901234001", "Confecciones Nariño")
    contact = await api.contact(nit, "rosa@narino.com.co", "Rosa")
    member = await api.staff("comite@btw.com.co", ["committee"], "Comité")
    engineer = await api.staff("diego@btw.com.co", ["engineer"], "Diego")

    first = await requirement(api, contact, "Reporte de nómina por centro de costo")
    second = await requirement(api, contact, "Exportar libro auxiliar a Excel")
    await pending(api, [first, second])

    for who in (contact, engineer):  # committee members may (the console's test)
        response = await api.http.post(SESSIONS, headers=who)
        assert response.status_code == 403, response.text
    assert (await api.http.get(SESSIONS, headers=contact)).status_code == 403

    session = await start_session(api)
    session_id = session["session_id"]
    assert session["status"] == "open"
    assert session["started_by"] == "admin"
    agenda = [item["number"] for item in session["agenda"]]
    assert agenda.index(first) < agenda.index(second)

    current = await api.ok("GET", f"{SESSIONS}/current", headers=member)
    assert current["session_id"] == session_id
    listed = await eventually(
        lambda: api.ok("GET", SESSIONS, headers=engineer),
        lambda sessions: bool(sessions) and sessions[0]["session_id"] == session_id,
    )
    assert listed[0]["agenda"] == session["agenda"]
    assert (await api.http.post(SESSIONS, headers=ADMIN)).status_code == 409

    decisions = f"{SESSIONS}/{session_id}/decisions"
    later = (date.today() + timedelta(days=30)).isoformat()
    accept = {"number": first, "decision": "accept", "estimated_delivery": later}
    for who in (contact, engineer):
        response = await api.http.post(decisions, json=accept, headers=who)
        assert response.status_code == 403, response.text

    past = {**accept, "estimated_delivery": (date.today() - timedelta(days=2)).isoformat()}
    response = await api.http.post(decisions, json=past, headers=member)
    assert response.status_code == 422, response.text
    assert "estimated_delivery" in response.json()["detail"]
    response = await api.http.post(
        decisions, json={"number": first, "decision": "accept"}, headers=member
    )
    assert response.status_code == 422, response.text
    assert "estimated_delivery" in response.json()["detail"]
    response = await api.http.post(
        decisions, json={"number": 999_999_999, "decision": "defer"}, headers=member
    )
    assert response.status_code == 409, response.text
    assert "agenda" in response.json()["detail"]

    accepted = await api.ok("POST", decisions, json=accept, headers=member)
    assert accepted["decision"] == "accept"
    assert accepted["decided_by"] == "comite@btw.com.co"
    again = await api.ok("POST", decisions, json=accept, headers=member)
    assert again["decided_at"] == accepted["decided_at"]
    response = await api.http.post(
        decisions, json={"number": first, "decision": "reject", "reason": "no"}, headers=member
    )
    assert response.status_code == 409, response.text

    deferred = await api.ok(
        "POST", decisions, json={"number": second, "decision": "defer"}, headers=ADMIN
    )
    assert deferred["decision"] == "defer"

    # Every item decided: the session closes, and the list shows it closed.
    await eventually(
        lambda: api.ok("GET", SESSIONS, headers=member),
        lambda sessions: sessions[0]["status"] == "closed",
    )
    response = await api.http.get(f"{SESSIONS}/current", headers=member)
    assert response.status_code == 404, response.text
    response = await api.http.post(decisions, json=accept, headers=member)
    assert response.status_code == 409, response.text


async def decide_rest(api: Api, session: dict[str, Any], mine: set[int]) -> None:
    """Defer every agenda item other tests left, so the session can close."""
    path = f"{SESSIONS}/{session['session_id']}/decisions"
    for item in session["agenda"]:
        if item["number"] not in mine:
            body = {"number": item["number"], "decision": "defer"}
            await api.ok("POST", path, json=body, headers=ADMIN)


async def test_requirement_tickets_follow_the_committee(api: Api) -> None:
    """Needs the ticket workflow's signal `committee_decision` and update `deliver`."""
    nit = await api.client("901234002", "Aceites del Llano")
    contact = await api.contact(nit, "tomas@llano.com.co", "Tomás")
    engineer = await api.staff("sara@btw.com.co", ["engineer"], "Sara")
    accepted = await requirement(api, contact, "Firma digital en órdenes de compra")
    rejected = await requirement(api, contact, "Cambiar el color del menú")
    deferred = await requirement(api, contact, "Integración con el banco")
    mine = {accepted, rejected, deferred}
    await pending(api, sorted(mine))

    session = await start_session(api)
    decisions = f"{SESSIONS}/{session['session_id']}/decisions"
    later = (date.today() + timedelta(days=45)).isoformat()
    await api.ok(
        "POST",
        decisions,
        json={"number": accepted, "decision": "accept", "estimated_delivery": later},
        headers=ADMIN,
    )
    await api.ok(
        "POST",
        decisions,
        json={"number": rejected, "decision": "reject", "reason": "Fuera del alcance"},
        headers=ADMIN,
    )
    await api.ok("POST", decisions, json={"number": deferred, "decision": "defer"}, headers=ADMIN)
    await decide_rest(api, session, mine)

    planned = await eventually(
        lambda: ticket(api, accepted), lambda t: t["status"] == "planned", FOLLOW
    )
    assert planned["kind"] == "requirement"
    gone = await eventually(
        lambda: ticket(api, rejected), lambda t: t["status"] == "resolved", FOLLOW
    )
    assert gone["resolution"]["kind"] == "rejected"
    assert "Fuera del alcance" in gone["resolution"]["body"]
    assert (await ticket(api, deferred))["status"] == "pending_committee"

    # The deferred requirement is on the next session's agenda; the decided ones are not.
    await eventually(
        lambda: api.ok("GET", "/api/v1/tickets", params={"status": "planned"}, headers=ADMIN),
        lambda page: any(item["number"] == accepted for item in page["items"]),
    )
    await pending(api, [deferred])
    next_session = await start_session(api)
    next_agenda = {item["number"] for item in next_session["agenda"]}
    assert deferred in next_agenda
    assert not {accepted, rejected} & next_agenda
    await decide_rest(api, next_session, set())

    # An engineer delivers the accepted requirement: it is resolved.
    response = await api.http.post(f"/api/v1/tickets/{accepted}/deliver", headers=contact)
    assert response.status_code == 403, response.text
    response = await api.http.post(f"/api/v1/tickets/{rejected}/deliver", headers=engineer)
    assert response.status_code == 409, response.text
    delivered = await api.ok(
        "POST",
        f"/api/v1/tickets/{accepted}/deliver",
        json={"body": "Disponible en la versión 8.4"},
        headers=engineer,
    )
    assert delivered["status"] == "resolved"
    assert delivered["resolution"]["kind"] == "delivered"


async def test_unknown_session_and_its_readers(api: Api) -> None:
    member = await api.staff("comite2@btw.com.co", ["committee"])
    response = await api.http.get(f"{SESSIONS}/no-such-session", headers=member)
    assert response.status_code == 404, response.text
    response = await api.http.post(
        f"{SESSIONS}/no-such-session/decisions",
        json={"number": 1, "decision": "defer"},
        headers=member,
    )
    assert response.status_code == 404, response.text
    response = await api.http.post(
        f"{SESSIONS}/x/decisions", json={"number": 1, "decision": "maybe"}, headers=member
    )
    assert response.status_code == 422, response.text


async def test_the_worker_ensures_the_weekly_schedule(
    api: Api, dev_env: WorkflowEnvironment
) -> None:
    for attempt in range(2):  # idempotent: any number of worker starts leave one schedule
        # (a queue of its own: one client may not register two workers on one queue)
        queue = f"{api.settings.task_queue}-start-{attempt}"
        await prepare_worker(dev_env.client, api.settings, queue)
    ids = [entry.id async for entry in await dev_env.client.list_schedules()]
    assert ids.count(COMMITTEE_SCHEDULE_ID) == 1
    runs = await next_committee_runs(dev_env.client)
    assert runs
    for run in runs:
        wall = run.astimezone(BOGOTA)
        assert (wall.weekday(), wall.hour, wall.minute, wall.second) == (2, 9, 0, 0), wall


async def test_a_session_not_projected_yet_is_read_and_decided_live(api: Api) -> None:
    """Starting a session answers once its row is written, so reads right after it find
    it; a session whose row is missing (here removed) is read from its workflow."""
    session = await start_session(api)
    session_id = session["session_id"]
    projected = create_engine(sync_url(api.settings.database_url))
    try:
        assert await _session_row_exists(projected, session_id)
        with projected.begin() as connection:
            connection.execute(
                delete(CommitteeSessionRow).where(CommitteeSessionRow.session_id == session_id)
            )
    finally:
        projected.dispose()
    shown = await api.ok("GET", f"{SESSIONS}/{session_id}", headers=ADMIN)
    assert shown["session_id"] == session_id
    response = await api.http.post(
        f"{SESSIONS}/{session_id}/decisions",
        json={"number": 999_999, "decision": "defer"},
        headers=ADMIN,
    )
    # Refused by the session itself (not on its agenda), not "no such session".
    assert response.status_code not in (404, 500), response.text
    assert "999999" in response.text
    unknown = await api.http.get(f"{SESSIONS}/committee-manual-20000101T000000", headers=ADMIN)
    assert unknown.status_code == 404, unknown.text


async def _session_row_exists(engine: Engine, session_id: str) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            select(CommitteeSessionRow.session_id).where(
                CommitteeSessionRow.session_id == session_id
            )
        ).first()
    return found is not None
