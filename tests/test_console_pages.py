"""The staff console over HTTP, with the real app, a real worker and a real Temporal server:
who may open which page (a contact gets 404, a staff member without the role 403), the
engineer's commands on the ticket page (each refusal in Spanish, what was typed kept), saved
replies (with and without script), CSRF on every form, and escaping."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import insert, update
from temporalio.testing import WorkflowEnvironment

from soporte.db.committee_models import CommitteeSessionRow
from soporte.db.models import Ticket
from soporte.db.session import create_engine
from soporte.policy.calendar import BOGOTA
from soporte.policy.committee import (
    AgendaItem,
    DecisionKind,
    RecordedDecision,
    SessionStatus,
    SessionView,
)
from tests.api_support import ADMIN, backends, eventually, make_nit
from tests.portal_support import PNG, Browser, Portal, portal_on, unique


@pytest.fixture(scope="module", params=backends())
async def portal(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Portal]:
    data_dir: Path = tmp_path_factory.mktemp(f"console-{request.param}")
    async with portal_on(request.param, dev_env, data_dir) as running:
        yield running


async def company(portal: Portal, name: str = "Ferretería El Tornillo") -> tuple[str, str]:
    base = str(uuid.uuid4().int % 900_000_000 + 100_000_000)
    nit = await portal.api.client(base, name)
    ana = f"{unique('ana')}@tornillo.co"
    await portal.api.contact(nit, ana, "Ana Gómez")
    return nit, ana


async def staff(portal: Portal, roles: list[str], name: str = "Luis Pérez") -> str:
    email = f"{unique(roles[0])}@btw.com.co"
    await portal.api.staff(email, roles, name)
    return email


async def open_by_api(portal: Portal, contact: str, **fields: object) -> int:
    ticket = await portal.api.open_ticket(portal.api.tokens[contact], **fields)
    number: int = ticket["number"]
    return number


async def log_of(portal: Portal, number: int, email: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = await portal.api.ok(
        "GET", f"/api/v1/tickets/{number}/log", headers=portal.api.tokens[email]
    )
    return found


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


CONSOLE_PAGES = (
    "/personal/sin-asignar",
    "/personal/todas",
    "/personal/comite",
    "/personal/incidentes",
    "/personal/plantillas",
    "/personal/registro",
    "/personal/correo-rechazado",
    "/personal/tablero",
)


# --- Who sees what -----------------------------------------------------------------------


async def test_a_contact_never_opens_a_console_page(portal: Portal) -> None:
    _, ana = await company(portal)
    async with portal.browser() as contact:
        await contact.sign_in(ana)
        for path in CONSOLE_PAGES:
            answer = await contact.get(path)
            assert answer.status_code == 404, path
            assert "No encontramos esta página" in answer.text
            assert "Mi cola" not in answer.text and "Sin asignar" not in answer.text


async def test_the_navigation_follows_the_roles(portal: Portal) -> None:
    luis = await staff(portal, ["engineer"])
    sofia = await staff(portal, ["supervisor"], "Sofía Supervisora")
    marta = await staff(portal, ["admin"], "Marta Admin")
    async with portal.browser() as engineer:
        await engineer.sign_in(luis)
        home = await engineer.get("/personal")
        assert home.status_code == 200
        for word in ("Mi cola", "Sin asignar", "Todas", "Comité", "Incidentes", "Correo rechazado"):
            assert word in home.text
        assert "Tablero" not in home.text and "Registro" not in home.text
        assert (await engineer.get("/personal/registro")).status_code == 403
        assert (await engineer.get("/personal/tablero")).status_code == 403
    async with portal.browser() as supervisor:
        await supervisor.sign_in(sofia)
        home = await supervisor.get("/personal")
        assert "Tablero" in home.text and "Registro" not in home.text
    async with portal.browser() as admin:
        await admin.sign_in(marta)
        home = await admin.get("/personal")
        assert "Registro" in home.text and "Tablero" in home.text


# --- Ticket work ---------------------------------------------------------------------------


async def signed_in_engineer(portal: Portal, browser: Browser) -> str:
    luis = await staff(portal, ["engineer"])
    await browser.sign_in(luis)
    return luis


async def test_assign_request_info_abandon_refused_and_resolve(portal: Portal) -> None:
    _, ana = await company(portal)
    number = await open_by_api(portal, ana, subject="Factura rechazada por la DIAN")
    path = f"/solicitudes/{number}"
    async with portal.browser() as browser:
        luis = await signed_in_engineer(portal, browser)
        page = await browser.get(path)
        assert page.status_code == 200 and "Acciones del personal" in page.text
        ticket = await portal.api.ok(
            "GET", f"/api/v1/tickets/{number}", headers=portal.api.tokens[luis]
        )
        if ticket["assignee"] == luis:  # the intake picked this engineer already
            other = await staff(portal, ["engineer"], "Pedro Paz")
            moved = await browser.post_form(f"{path}/asignar", {"engineer_email": other}, page=path)
            assert moved.status_code == 303
        assigned = await browser.post_form(f"{path}/asignar", {"engineer_email": luis}, page=path)
        assert assigned.status_code == 303
        again = await browser.post_form(f"{path}/asignar", {"engineer_email": luis}, page=path)
        assert again.status_code == 409 and "La solicitud ya está asignada a" in again.text
        mine = await eventually(lambda: browser.get("/personal"), lambda p: f"#{number}" in p.text)
        assert "Factura rechazada por la DIAN" in mine.text
        empty = await browser.post_form(f"{path}/pedir-informacion", {"body": " "}, page=path)
        assert empty.status_code == 422 and "Este campo es obligatorio." in empty.text
        asked = await browser.post_form(
            f"{path}/pedir-informacion", {"body": "¿Qué resolución usa?"}, page=path
        )
        assert asked.status_code == 303
        waiting = await eventually(
            lambda: browser.get("/personal/todas", params={"q": "Factura rechazada por la DIAN"}),
            lambda p: f"#{number}" in p.text and "Esperando al cliente desde hace" in p.text,
        )
        assert "En pausa" in waiting.text
        twice = await browser.post_form(
            f"{path}/pedir-informacion", {"body": "Otra pregunta que no se pierde"}, page=path
        )
        assert twice.status_code == 409
        assert "Ya estamos esperando la respuesta del cliente" in twice.text
        assert "Otra pregunta que no se pierde</textarea>" in twice.text
        early = await browser.post_form(f"{path}/abandonar", {"reason": "No contesta"}, page=path)
        assert early.status_code == 409
        assert "Aún no se puede cerrar por abandono: lleva 1 intento(s)" in early.text
        assert "No contesta</textarea>" in early.text
        no_text = await browser.post_form(
            f"{path}/resolver", {"kind": "solution", "body": ""}, page=path
        )
        assert no_text.status_code == 422 and "Este campo es obligatorio." in no_text.text
        resolved = await browser.post_form(
            f"{path}/resolver",
            {"kind": "instructions", "body": "Actualice la resolución"},
            page=path,
        )
        assert resolved.status_code == 303 and "aviso=resuelta" in resolved.headers["location"]
        done = await eventually(
            lambda: browser.get(path), lambda p: "Actualice la resolución" in p.text
        )
        assert "Instrucciones" in done.text and "Resolver la solicitud" not in done.text
        late = await browser.post_form(
            f"{path}/resolver", {"kind": "solution", "body": "otra vez"}, csrf=_csrf(done.text)
        )
        assert late.status_code == 409 and "ya está resuelta" in late.text
    types = [line["type"] for line in await log_of(portal, number, ana)]
    assert "info_requested" in types and "resolved" in types


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_priority_needs_a_reason_and_internal_notes_stay_internal(portal: Portal) -> None:
    _, ana = await company(portal)
    number = await open_by_api(portal, ana, subject="Nómina", suggested_priority="P3")
    path = f"/solicitudes/{number}"
    async with portal.browser() as browser:
        await signed_in_engineer(portal, browser)
        no_reason = await browser.post_form(
            f"{path}/prioridad", {"priority": "P2", "reason": ""}, page=path
        )
        assert no_reason.status_code == 422 and "Este campo es obligatorio." in no_reason.text
        changed = await browser.post_form(
            f"{path}/prioridad", {"priority": "P2", "reason": "No puede liquidar"}, page=path
        )
        assert changed.status_code == 303
        same = await browser.post_form(
            f"{path}/prioridad", {"priority": "P2", "reason": "igual"}, page=path
        )
        assert same.status_code == 409 and "ya tiene la prioridad P2" in same.text
        note = await browser.post_form(
            f"{path}/responder",
            {"body": "Revisar <b>log</b> del servidor", "visibility": "internal"},
            page=path,
            files={"files": ("captura.png", PNG, "image/png")},
        )
        assert note.status_code == 303 and "aviso=nota" in note.headers["location"]
        seen = await eventually(
            lambda: browser.get(path), lambda p: "captura.png" in p.text and "Revisar" in p.text
        )
        assert "Revisar &lt;b&gt;log&lt;/b&gt; del servidor" in seen.text
        assert "Interna: el cliente no la ve" in seen.text
    client_log = await log_of(portal, number, ana)
    assert not any("Revisar" in str(line["body"]) for line in client_log)
    assert any(line["type"] == "priority_changed" for line in client_log)


async def test_staff_forms_need_the_csrf_token_and_contacts_cannot_command(
    portal: Portal,
) -> None:
    _, ana = await company(portal)
    number = await open_by_api(portal, ana)
    path = f"/solicitudes/{number}"
    async with portal.browser() as browser:
        await signed_in_engineer(portal, browser)
        for action in ("asignar", "prioridad", "pedir-informacion", "resolver", "abandonar"):
            refused = await browser.http.post(f"{path}/{action}", data={"body": "x"})
            assert refused.status_code == 403 and "Formulario vencido" in refused.text
    async with portal.browser() as contact:
        await contact.sign_in(ana)
        page = await contact.get(path)
        assert "Acciones del personal" not in page.text and "Plantillas" not in page.text
        attempt = await contact.post_form(
            f"{path}/resolver", {"kind": "solution", "body": "yo mismo"}, page=path
        )
        assert attempt.status_code == 404
    types = [line["type"] for line in await log_of(portal, number, ana)]
    assert "resolved" not in types


# --- Saved replies ---------------------------------------------------------------------------


async def test_saved_replies_list_create_edit_and_insert_without_script(portal: Portal) -> None:
    _, ana = await company(portal)
    number = await open_by_api(portal, ana)
    path = f"/solicitudes/{number}"
    title = f"Saludo {unique('t')} <script>"
    async with portal.browser() as browser:
        await signed_in_engineer(portal, browser)
        empty = await browser.post_form(
            "/personal/plantillas", {"title": title, "body": ""}, page="/personal/plantillas"
        )
        assert empty.status_code == 422 and "Este campo es obligatorio." in empty.text
        assert "&lt;script&gt;" in empty.text and '<script>"' not in empty.text
        created = await browser.post_form(
            "/personal/plantillas",
            {"title": title, "body": "Buenos días, revisamos su caso."},
            page="/personal/plantillas",
        )
        assert created.status_code == 303
        listing = await browser.get("/personal/plantillas")
        assert "Buenos días, revisamos su caso." in listing.text
        reply_id = re.findall(r'/personal/plantillas/(\d+)"', listing.text)[-1]
        duplicate = await browser.post_form(
            "/personal/plantillas",
            {"title": title, "body": "otro"},
            page="/personal/plantillas",
        )
        assert duplicate.status_code == 409 and "Ya hay una plantilla con ese título." in (
            duplicate.text
        )
        edited = await browser.post_form(
            f"/personal/plantillas/{reply_id}",
            {"title": title, "body": "Buenas tardes, revisamos su caso."},
            page=f"/personal/plantillas/{reply_id}",
        )
        assert edited.status_code == 303
        page = await browser.get(path)
        assert 'data-text="Buenas tardes, revisamos su caso."' in page.text
        inserted = await browser.post_form(
            f"{path}/responder",
            {"body": "Hola Ana.", "plantilla": reply_id, "insertar": "1"},
            page=path,
        )
        assert inserted.status_code == 200
        assert "Hola Ana.\n\nBuenas tardes, revisamos su caso.</textarea>" in inserted.text
        assert (await browser.get("/personal/plantillas/99999999")).status_code == 404
    types = [line["type"] for line in await log_of(portal, number, ana)]
    assert "engineer_reply" not in types  # inserting sends nothing


# --- Committee ------------------------------------------------------------------------------


async def requirement(portal: Portal, contact: str, subject: str) -> int:
    return await open_by_api(
        portal,
        contact,
        kind="requirement",
        category="nomina",
        subject=subject,
        description="Necesitamos un reporte por centro de costo.",
    )


async def pending(portal: Portal, numbers: list[int]) -> None:
    async def listed() -> set[int]:
        found = await portal.api.ok(
            "GET", "/api/v1/tickets", params={"status": "pending_committee"}, headers=ADMIN
        )
        return {item["number"] for item in found["items"]}

    await eventually(listed, lambda found: set(numbers) <= found)


async def test_a_committee_member_starts_a_session_and_decides_its_agenda(
    portal: Portal,
) -> None:
    _, ana = await company(portal, "Confecciones Nariño")
    first = await requirement(portal, ana, "Reporte de nómina por centro de costo")
    second = await requirement(portal, ana, "Exportar el libro auxiliar a Excel")
    third = await requirement(portal, ana, "Firma <b>masiva</b>")
    upload = await portal.api.http.post(
        f"/api/v1/tickets/{first}/attachments",
        files={"file": ("maqueta.png", PNG, "image/png")},
        headers=portal.api.tokens[ana],
    )
    assert upload.status_code == 201, upload.text
    await pending(portal, [first, second, third])
    member = await staff(portal, ["committee"], "Carla Comité")
    luis = await staff(portal, ["engineer"])
    async with portal.browser() as engineer:
        await engineer.sign_in(luis)
        seen = await engineer.get("/personal/comite")
        assert seen.status_code == 200 and "Iniciar una sesión extraordinaria" not in seen.text
        refused = await engineer.post_form("/personal/comite/sesiones", {}, page="/personal/comite")
        assert refused.status_code == 403
    async with portal.browser() as browser:
        await browser.sign_in(member)
        before = await browser.get("/personal/comite")
        assert "Iniciar una sesión extraordinaria" in before.text
        started = await browser.post_form("/personal/comite/sesiones", {}, page="/personal/comite")
        assert started.status_code == 303, started.text
        agenda = await browser.get("/personal/comite")
        assert "Sesión abierta" in agenda.text, text_of(agenda.text)[-2500:]
        assert "extraordinaria, por Carla Comité" in agenda.text
        for number in (first, second, third):
            assert f'id="req-{number}"' in agenda.text
        assert "Necesitamos un reporte por centro de costo." in agenda.text
        assert "maqueta.png" in agenda.text and "Confecciones Nariño" in agenda.text
        assert "Firma &lt;b&gt;masiva&lt;/b&gt;" in agenda.text
        session_id = re.findall(r'action="/personal/comite/([^/"]+)/decisiones"', agenda.text)[0]
        decide = f"/personal/comite/{session_id}/decisiones"
        no_date = await browser.post_form(
            decide,
            {"number": first, "decision": "accept", "reason": "Prioridad alta"},
            page="/personal/comite",
        )
        assert no_date.status_code == 422
        assert "Para aceptar, escriba la fecha estimada de entrega." in no_date.text
        assert "Prioridad alta</textarea>" in no_date.text
        later = (date.today() + timedelta(days=45)).isoformat()
        accepted = await browser.post_form(
            decide,
            {"number": first, "decision": "accept", "estimated_delivery": later},
            page="/personal/comite",
        )
        assert accepted.status_code == 303
        no_reason = await browser.post_form(
            decide, {"number": second, "decision": "reject"}, page="/personal/comite"
        )
        assert no_reason.status_code == 422 and "Para rechazar, escriba el motivo." in (
            no_reason.text
        )
        rejected = await browser.post_form(
            decide,
            {"number": second, "decision": "reject", "reason": "Ya existe en el módulo"},
            page="/personal/comite",
        )
        assert rejected.status_code == 303
        deferred = await browser.post_form(
            decide, {"number": third, "decision": "defer"}, page="/personal/comite"
        )
        assert deferred.status_code == 303
        # The page lists the decisions from the read model, which follows the session.
        after = await eventually(
            lambda: browser.get("/personal/comite"),
            lambda page: text_of(page.text).count("Carla Comité · Soporte BTW,") == 3,
        )
        assert "Ya existe en el módulo" in after.text
        again = await browser.post_form(
            decide, {"number": first, "decision": "defer"}, page="/personal/comite"
        )
        assert again.status_code == 409
    planned = await eventually(
        lambda: portal.api.ok("GET", f"/api/v1/tickets/{first}", headers=ADMIN),
        lambda t: t["status"] == "planned",
    )
    assert planned["estimated_delivery"] == later


async def test_past_sessions_read_as_minutes(portal: Portal) -> None:
    luis = await staff(portal, ["engineer"])
    member = await staff(portal, ["committee"], "Rita Actas")
    started = datetime(2026, 11, 4, 14, 0, tzinfo=UTC)
    view = SessionView(
        session_id=f"committee-session-{unique('x')}",
        started_at=started,
        ends_at=started + timedelta(hours=8),
        status=SessionStatus.CLOSED,
        agenda=[
            AgendaItem(
                number=77,
                subject="Reporte <i>x</i>",
                nit="900",
                client_name="ACME",
                filed_at=started,
            )
        ],
        decisions=[
            RecordedDecision(
                number=77,
                decision=DecisionKind.REJECT,
                reason="No aplica",
                decided_by=member,
                decided_at=started + timedelta(minutes=30),
            )
        ],
    )
    engine = create_engine(portal.settings.effective_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(CommitteeSessionRow).values(
                    session_id=view.session_id,
                    status="closed",
                    started_at=view.started_at,
                    ends_at=view.ends_at,
                    started_by="schedule",
                    version=1,
                    view=view.model_dump(mode="json"),
                )
            )
    finally:
        await engine.dispose()
    async with portal.browser() as browser:
        await browser.sign_in(luis)
        minutes = await browser.get("/personal/comite")
    text = text_of(minutes.text)
    assert "Actas de sesiones anteriores" in text
    assert "miércoles 4 de noviembre de 2026" in text
    assert "No aprobado" in text and "No aplica" in text and "Rita Actas" in text
    assert "Reporte &lt;i&gt;x&lt;/i&gt;" in minutes.text


# --- The queue --------------------------------------------------------------------------------


async def test_the_queue_sorts_by_next_due_and_filters(portal: Portal) -> None:
    nit, ana = await company(portal, "Distribuidora Andina")
    tag = unique("lote")
    numbers = [
        await open_by_api(
            portal, ana, subject=f"{tag} caída del sitio web", suggested_priority="P1"
        ),
        await open_by_api(portal, ana, subject=f"{tag} no puedo facturar", suggested_priority="P2"),
        await open_by_api(portal, ana, subject=f"{tag} formulario <raro>", suggested_priority="P3"),
    ]
    luis = await staff(portal, ["engineer"])
    api_order = await eventually(
        lambda: portal.api.ok(
            "GET",
            "/api/v1/tickets",
            params={"q": tag, "sort": "next_due"},
            headers=portal.api.tokens[luis],
        ),
        lambda found: found["total"] == 3 and all(i["next_due"] for i in found["items"]),
    )
    expected = [item["number"] for item in api_order["items"]]
    dues = [item["next_due"] for item in api_order["items"]]
    assert dues == sorted(dues)
    async with portal.browser() as browser:
        await browser.sign_in(luis)
        everything = await browser.get("/personal/todas", params={"q": tag})
        assert everything.status_code == 200
        shown = [
            int(n)
            for n in re.findall(
                r'<td data-label="Número"><a href="/solicitudes/(\d+)"', everything.text
            )
        ]
        assert shown == expected  # next due first, by default
        assert "Distribuidora Andina" in everything.text and "restantes" in everything.text
        assert "formulario &lt;raro&gt;" in everything.text
        newest = await browser.get("/personal/todas", params={"q": tag, "orden": "-created_at"})
        newest_shown = re.findall(
            r'<td data-label="Número"><a href="/solicitudes/(\d+)"', newest.text
        )
        assert [int(n) for n in newest_shown] == sorted(numbers, reverse=True)
        by_client = await browser.get(
            "/personal/todas", params={"cliente": nit, "tipo": "support", "prioridad": "P2"}
        )
        assert f"#{numbers[1]}" in by_client.text and f"#{numbers[0]}" not in by_client.text
        two_states = await browser.get(
            "/personal/todas", params=[("q", tag), ("estado", "open"), ("estado", "in_progress")]
        )
        assert all(f"#{n}" in two_states.text for n in numbers)
        assert two_states.text.count('name="estado" value="open" checked') == 1
        none = await browser.get("/personal/todas", params={"q": tag, "estado": "closed"})
        assert "No hay solicitudes con estos filtros." in none.text
        unassigned = await browser.get("/personal/sin-asignar", params={"q": tag})
        assert unassigned.status_code == 200
        bad = await browser.get("/personal/todas", params={"q": tag, "vence_antes": "mañana"})
        assert bad.status_code == 422
        assert "Escriba una fecha válida (AAAA-MM-DD)." in bad.text
        assert 'value="mañana"' in bad.text and f'value="{tag}"' in bad.text
        soon = await browser.get(
            "/personal/todas",
            # Yesterday in Bogota, whose end has passed: UTC's yesterday is Bogota's today
            # from 19:00 there, when a P1 opened now can fall due before midnight.
            params={
                "q": tag,
                "vence_antes": (datetime.now(BOGOTA).date() - timedelta(days=1)).isoformat(),
            },
        )
        assert "No hay solicitudes con estos filtros." in soon.text


async def test_the_queue_pages_through_results(portal: Portal) -> None:
    _, ana = await company(portal, "Muchos Casos SAS")
    tag = unique("pagina")
    for index in range(3):
        await open_by_api(portal, ana, subject=f"{tag} caso {index}")
    luis = await staff(portal, ["engineer"])
    async with portal.browser() as browser:
        await browser.sign_in(luis)
        first = await eventually(
            lambda: browser.get("/personal/todas", params={"q": tag}),
            lambda p: "3 solicitudes" in p.text,
        )
        assert "Siguientes" not in first.text  # one page of 50
        page_one = await browser.get("/personal/todas", params={"q": tag, "por_pagina": "2"})
        assert "mostrando 1–2" in page_one.text and page_one.text.count("caso ") == 2
        next_link = re.findall(r'href="([^"]+)">Siguientes', page_one.text)[0]
        page_two = await browser.get(next_link.replace("&amp;", "&"))
        assert "mostrando 3–3" in page_two.text and page_two.text.count("caso ") == 1
        assert "Anteriores" in page_two.text
        past_end = await browser.get("/personal/todas", params={"q": tag, "desde": "50"})
        assert "No hay solicitudes con estos filtros." in past_end.text


# --- Incidents --------------------------------------------------------------------------------


async def test_an_incident_links_tickets_of_two_clients_and_resolves_them_all(
    portal: Portal,
) -> None:
    _, ana = await company(portal, "Tornillos del Valle")
    _, bea = await company(portal, "Panadería La Espiga")
    first = await open_by_api(portal, ana, subject="No sale la factura")
    second = await open_by_api(portal, bea, subject="Factura electrónica caída")
    async with portal.browser() as browser:
        await signed_in_engineer(portal, browser)
        empty = await browser.post_form(
            "/personal/incidentes", {"title": " "}, page="/personal/incidentes"
        )
        assert empty.status_code == 422 and "Este campo es obligatorio." in empty.text
        title = f"Caída de la DIAN {unique('x')} <b>"
        opened = await browser.post_form(
            "/personal/incidentes", {"title": title}, page="/personal/incidentes"
        )
        assert opened.status_code == 303
        path = opened.headers["location"].split("?")[0]
        page = await browser.get(path)
        assert (
            page.status_code == 200 and "Caída de la DIAN" in page.text and "&lt;b&gt;" in page.text
        )
        bad = await browser.post_form(f"{path}/solicitudes", {"number": "abc"}, page=path)
        assert bad.status_code == 422 and 'value="abc"' in bad.text
        for number in (first, second):
            linked = await browser.post_form(
                f"{path}/solicitudes", {"number": str(number)}, page=path
            )
            assert linked.status_code == 303, linked.text
        twice = await browser.post_form(f"{path}/solicitudes", {"number": str(first)}, page=path)
        assert twice.status_code == 409 and "ya está vinculada" in twice.text
        hit = await eventually(
            lambda: browser.get(path), lambda p: "Clientes afectados (2)" in p.text
        )
        assert "Tornillos del Valle" in hit.text and "Panadería La Espiga" in hit.text
        assert "P1" in hit.text
        listing = await eventually(
            lambda: browser.get("/personal/incidentes"), lambda p: "Caída de la DIAN" in p.text
        )
        assert listing.status_code == 200
        no_text = await browser.post_form(
            f"{path}/resolver", {"kind": "solution", "body": ""}, page=path
        )
        assert no_text.status_code == 422 and "Este campo es obligatorio." in no_text.text
        resolved = await browser.post_form(
            f"{path}/resolver",
            {"kind": "solution", "body": "La DIAN restableció el servicio"},
            page=path,
        )
        assert resolved.status_code == 303
    for contact, number in ((ana, first), (bea, second)):
        done = await eventually(
            lambda c=contact, n=number: portal.api.ok(  # type: ignore[misc]
                "GET", f"/api/v1/tickets/{n}", headers=portal.api.tokens[c]
            ),
            lambda t: t["status"] == "resolved",
            timeout=40,
        )
        assert "La DIAN restableció el servicio" in done["resolution"]["body"]


# --- Registry (admin) -------------------------------------------------------------------------


async def test_the_registry_checks_the_nit_and_manages_contacts_staff_tokens_sessions(
    portal: Portal,
) -> None:
    marta = await staff(portal, ["admin"], "Marta Admin")
    base = str(uuid.uuid4().int % 900_000_000 + 100_000_000)
    right = make_nit(base)
    wrong_digit = (int(right[-1]) + 1) % 10
    async with portal.browser() as browser:
        await browser.sign_in(marta)
        reg = "/personal/registro"
        bad = await browser.post_form(
            f"{reg}/clientes",
            {"nit": f"{base}-{wrong_digit}", "name": "Café <Andino>"},
            page=reg,
        )
        assert bad.status_code == 422
        assert f"El dígito de verificación no corresponde: para {base} es {right[-1]}." in bad.text
        assert 'value="Café &lt;Andino&gt;"' in bad.text
        no_dash = await browser.post_form(f"{reg}/clientes", {"nit": base, "name": "X"}, page=reg)
        assert no_dash.status_code == 422 and "como 900123456-8" in no_dash.text
        created = await browser.post_form(
            f"{reg}/clientes", {"nit": right, "name": "Café <Andino>"}, page=reg
        )
        assert created.status_code == 303
        client_path = created.headers["location"].split("?")[0]
        assert client_path == f"{reg}/clientes/{right}"
        twice = await browser.post_form(f"{reg}/clientes", {"nit": right, "name": "Otra"}, page=reg)
        assert twice.status_code == 409 and "Ya existe un registro con ese dato." in twice.text
        email = f"{unique('rosa')}@andino.co"
        bad_mail = await browser.post_form(
            f"{client_path}/contactos", {"name": "Rosa", "email": "rosa"}, page=client_path
        )
        assert bad_mail.status_code == 422 and "Escriba un correo válido" in bad_mail.text
        added = await browser.post_form(
            f"{client_path}/contactos", {"name": "Rosa", "email": email}, page=client_path
        )
        assert added.status_code == 303
        detail = await browser.get(client_path)
        assert email in detail.text and "Café &lt;Andino&gt;" in detail.text
        # Staff and roles
        person = f"{unique('nuevo')}@btw.com.co"
        no_role = await browser.post_form(
            f"{reg}/personal", {"name": "Nuevo", "email": person}, page=f"{reg}/personal"
        )
        assert no_role.status_code == 422
        hired = await browser.post_form(
            f"{reg}/personal",
            {"name": "Nuevo Ingeniero", "email": person, "roles": "engineer"},
            page=f"{reg}/personal",
        )
        assert hired.status_code == 303
        promoted = await browser.post_form(
            f"{reg}/personal/{person}",
            {"roles": ["engineer", "supervisor"], "active": "1"},
            page=f"{reg}/personal",
        )
        assert promoted.status_code == 303
        listed = await portal.api.ok("GET", "/api/v1/staff", headers=ADMIN)
        assert {"engineer", "supervisor"} == set(
            next(s for s in listed if s["email"] == person)["roles"]
        )
        # A token, shown once, then revoked
        issued = await browser.post_form(f"{reg}/tokens", {"email": email}, page=f"{reg}/tokens")
        assert issued.status_code == 201 and "no se vuelve a mostrar" in issued.text
        secret = re.findall(r'<p class="secret" id="token-secret">([^<]+)</p>', issued.text)[0]
        bearer = {"Authorization": f"Bearer {secret}"}
        assert (await portal.api.http.get("/api/v1/tickets", headers=bearer)).status_code == 200
        again = await browser.get(f"{reg}/tokens")
        assert secret not in again.text
        token_id = re.findall(r"/personal/registro/tokens/(\d+)/revocar", again.text)[
            0
        ]  # newest first
        revoked = await browser.post_form(
            f"{reg}/tokens/{token_id}/revocar", {}, page=f"{reg}/tokens"
        )
        assert revoked.status_code == 303
        assert (await portal.api.http.get("/api/v1/tickets", headers=bearer)).status_code == 401
        unknown = await browser.post_form(
            f"{reg}/tokens", {"email": "nadie@x.co"}, page=f"{reg}/tokens"
        )
        assert unknown.status_code == 404 and "Ningún contacto ni miembro" in unknown.text
        # Portal sessions: Rosa signs in, the admin ends her session
        async with portal.browser() as rosa:
            await rosa.sign_in(email)
            assert (await rosa.get("/solicitudes")).status_code == 200
            open_list = await browser.get(f"{reg}/sesiones")
            assert email in open_list.text and "Esta sesión" in open_list.text
            ids = re.findall(r"/personal/registro/sesiones/(\d+)/revocar", open_list.text)
            for session_id in ids:
                ended = await browser.post_form(
                    f"{reg}/sesiones/{session_id}/revocar", {}, page=f"{reg}/sesiones"
                )
                assert ended.status_code == 303
            assert (await rosa.get("/solicitudes")).status_code == 303  # back to sign-in
        # Deactivating the contact from the client's page
        off = await browser.post_form(f"{reg}/contactos/{email}", {"nit": right}, page=client_path)
        assert off.status_code == 303
        contacts = await portal.api.ok("GET", f"/api/v1/clients/{right}/contacts", headers=ADMIN)
        assert contacts[0]["active"] is False
        assert (await browser.get(f"{reg}/clientes/123")).status_code == 404


# --- Refused mail -------------------------------------------------------------------------------


def raw_mail(sender: str, subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Rosa Ruiz <{sender}>"
    message["To"] = "soporte@btw.com.co"
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@cliente.co>"
    message["Date"] = "Tue, 01 Dec 2026 09:00:00 -0500"
    message.set_content(body)
    message.add_attachment(PNG, maintype="image", subtype="png", filename="pantalla.png")
    return bytes(message)


async def test_refused_mail_becomes_a_ticket_or_its_sender_a_contact(portal: Portal) -> None:
    nit, ana = await company(portal, "Lácteos del Norte")
    stranger = f"{unique('rosa')}@lacteos.co"
    subject = f"No puedo emitir facturas {unique('m')} <urgente>"
    taken = await portal.api.http.post(
        "/api/v1/inbound-email",
        content=raw_mail(stranger, subject, "Desde ayer sale el error 500 al emitir."),
        headers={**ADMIN, "Content-Type": "message/rfc822"},
    )
    assert taken.status_code == 202 and taken.json()["outcome"] == "refused", taken.text
    luis = await staff(portal, ["engineer"])
    marta = await staff(portal, ["admin"], "Marta Admin")
    async with portal.browser() as admin:
        await admin.sign_in(marta)
        listing = await admin.get("/personal/correo-rechazado")
        assert listing.status_code == 200 and stranger in listing.text
        assert "&lt;urgente&gt;" in listing.text and "<urgente>" not in listing.text
        mail_id = re.findall(r'href="/personal/correo-rechazado/(\d+)"', listing.text)[0]
        path = f"/personal/correo-rechazado/{mail_id}"
        page = await admin.get(path)
        assert (
            "Desde ayer sale el error 500 al emitir." in page.text and "pantalla.png" in page.text
        )
        registered = await admin.post_form(
            f"{path}/remitente", {"nit": nit, "name": "Rosa Ruiz"}, page=path
        )
        assert registered.status_code == 303
        contacts = await portal.api.ok("GET", f"/api/v1/clients/{nit}/contacts", headers=ADMIN)
        assert stranger in {c["email"] for c in contacts}
    async with portal.browser() as browser:
        await browser.sign_in(luis)
        unknown = await browser.post_form(
            f"{path}/solicitud",
            {
                "reporter_email": "nadie@otro.co",
                "kind": "support",
                "category": "Facturación electrónica",
            },
            page=path,
        )
        assert unknown.status_code == 422 and 'value="nadie@otro.co"' in unknown.text
        made = await browser.post_form(
            f"{path}/solicitud",
            {"reporter_email": stranger, "kind": "support", "category": "Facturación electrónica"},
            page=path,
        )
        assert made.status_code == 303, made.text
        number = int(made.headers["location"].split("?")[0].rsplit("/", 1)[1])
        again = await browser.post_form(
            f"{path}/solicitud",
            {"reporter_email": stranger, "kind": "support", "category": "Otro"},
            csrf=_csrf((await browser.get(f"/solicitudes/{number}")).text),
        )
        assert again.status_code == 409
        ticket = await eventually(
            lambda: browser.get(f"/solicitudes/{number}"), lambda p: "pantalla.png" in p.text
        )
        assert "Desde ayer sale el error 500" in ticket.text
        pending = await browser.get("/personal/correo-rechazado")
        assert f'href="/personal/correo-rechazado/{mail_id}"' not in pending.text
    async with portal.browser() as contact:
        await contact.sign_in(ana)
        assert (await contact.get(path)).status_code == 404


# --- The supervisor's dashboard ----------------------------------------------------------------


async def test_the_dashboard_draws_the_report_and_its_csv_is_the_reports(portal: Portal) -> None:
    _, ana = await company(portal, "Tablero & Cía")
    late = await open_by_api(portal, ana, subject="Una que se venció <b>", suggested_priority="P2")
    await open_by_api(portal, ana, subject="Otra a tiempo", suggested_priority="P3")
    sofia = await staff(portal, ["supervisor"], "Sofía Supervisora")
    luis = await staff(portal, ["engineer"])
    await eventually(  # the intake's own projections are done (none overwrites the mark)
        lambda: log_of(portal, late, ana),
        lambda log: {"registered", "acknowledged"} <= {line["type"] for line in log},
    )
    engine = create_engine(portal.settings.effective_database_url)
    try:  # the projection's SLA column, as a breach would leave it
        await eventually(lambda: _mark_breached(engine, late), lambda changed: changed == 1)
    finally:
        await engine.dispose()
    today = datetime.now(UTC).astimezone(BOGOTA).date()
    first = today.replace(day=1).isoformat()
    async with portal.browser() as engineer:
        await engineer.sign_in(luis)
        assert (await engineer.get("/personal/tablero")).status_code == 403
        assert (await engineer.get("/personal/tablero/csv/prioridad")).status_code == 403
    async with portal.browser() as browser:
        await browser.sign_in(sofia)
        board = await browser.get("/personal/tablero")
        assert board.status_code == 200
        html = board.text
        assert html.count("<svg") == 3 and "<script>" not in html.replace(
            '<script src="/static/portal.js" defer>', ""
        )
        assert "Cumplimiento por prioridad" in html and "Carga por ingeniero" in html
        assert f'href="/solicitudes/{late}"' in html and "Una que se venció &lt;b&gt;" in html
        assert "Tablero &amp; Cía" in html
        assert "unsafe-inline" not in board.headers["content-security-policy"]
        csv_page = await browser.get(
            "/personal/tablero/csv/prioridad", params={"desde": first, "hasta": today.isoformat()}
        )
        assert csv_page.status_code == 200 and csv_page.headers["content-type"].startswith(
            "text/csv"
        )
        assert "attachment" in csv_page.headers["content-disposition"]
        api_csv = await portal.api.http.get(
            "/api/v1/reports/sla",
            params={"from": first, "to": today.isoformat(), "group_by": "priority"},
            headers={**portal.api.tokens[sofia], "Accept": "text/csv"},
        )
        assert api_csv.status_code == 200 and csv_page.text == api_csv.text
        breaches = await browser.get(
            "/personal/tablero/csv/incumplimientos",
            params={"desde": first, "hasta": today.isoformat()},
        )
        assert f"{late}," in breaches.text and "first_response_breached" in breaches.text
        for table in ("mes", "ingeniero", "antiguedad", "carga"):
            answer = await browser.get(f"/personal/tablero/csv/{table}")
            assert answer.status_code == 200 and answer.text.count("\r\n") >= 1, table
        bad = await browser.get("/personal/tablero", params={"desde": "ayer"})
        assert bad.status_code == 422 and "Escriba una fecha válida (AAAA-MM-DD)." in bad.text
        assert 'value="ayer"' in bad.text
        backwards = await browser.get(
            "/personal/tablero", params={"desde": today.isoformat(), "hasta": "2020-01-01"}
        )
        assert backwards.status_code == 422 and "posterior a «desde»" in backwards.text
        assert (await browser.get("/personal/tablero/csv/otra")).status_code == 404


async def _mark_breached(engine: object, number: int) -> int:
    async with engine.begin() as connection:  # type: ignore[attr-defined]
        result = await connection.execute(
            update(Ticket).where(Ticket.number == number).values(first_response_outcome="breached")
        )
    return int(result.rowcount)
