"""The staff console in a real browser (Debian's Chromium driven by Playwright, as the
portal's browser tests): an engineer's day (sign in, the queue sorted by the next due
instant, answer with a saved reply, request information, resolve), with JavaScript on and
off; a committee member decides an agenda; a supervisor reads the dashboard. Screenshots
go to test-artifacts/ (console-*.png)."""

# The portal's browser fixtures (`site`, `chromium`) are imported and taken by name.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, timedelta

import pytest

from tests.api_support import make_nit
from tests.test_portal_browser import (  # noqa: F401 (fixtures)
    TIMEOUT_MS,
    Site,
    chromium,
    eventually_text,
    mailed_link,
    shot,
    site,
)


async def people(site: Site, tag: str) -> dict[str, str]:
    """A client with a contact, and staff of every role; their emails by role."""
    base = str(uuid.uuid4().int % 900_000_000 + 100_000_000)
    nit = make_nit(base)
    suffix = f"{tag}-{uuid.uuid4().hex[:6]}"
    emails = {
        "contact": f"ana-{suffix}@tornillo.co",
        "engineer": f"luis-{suffix}@btw.com.co",
        "committee": f"carla-{suffix}@btw.com.co",
        "supervisor": f"sofia-{suffix}@btw.com.co",
        "other": f"pedro-{suffix}@btw.com.co",
    }
    calls = [
        ("/api/v1/clients", {"nit": nit, "name": "Ferretería El Tornillo S.A.S.", "active": True}),
        (f"/api/v1/clients/{nit}/contacts", {"name": "Ana Gómez", "email": emails["contact"]}),
        (
            "/api/v1/staff",
            {"name": "Luis Pérez", "email": emails["engineer"], "roles": ["engineer"]},
        ),
        (
            "/api/v1/staff",
            {"name": "Carla Rincón", "email": emails["committee"], "roles": ["committee"]},
        ),
        (
            "/api/v1/staff",
            {"name": "Sofía Lara", "email": emails["supervisor"], "roles": ["supervisor"]},
        ),
        ("/api/v1/staff", {"name": "Pedro Gil", "email": emails["other"], "roles": ["engineer"]}),
    ]
    for path, body in calls:
        answer = await site.api.post(path, json=body)
        assert answer.status_code == 201, answer.text
    return emails


async def open_ticket(site: Site, contact: str, **fields: object) -> int:
    body = {
        "kind": "support",
        "category": "Facturación electrónica",
        "subject": "No puedo facturar",
        "description": "Al emitir la factura electrónica sale un error.",
        **fields,
    }
    token = (await site.api.post("/api/v1/tokens", json={"email": contact})).json()["token"]
    answer = await site.api.post(
        "/api/v1/tickets", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201, answer.text
    number: int = answer.json()["number"]
    return number


async def due_order(site: Site, tag: str) -> list[int]:
    """The tickets of the batch in the API's next-due order, once all have a due instant."""
    for _ in range(100):
        found = (
            await site.api.get("/api/v1/tickets", params={"q": f"lote {tag}", "sort": "next_due"})
        ).json()
        if found["total"] == 3 and all(item["next_due"] for item in found["items"]):
            dues = [item["next_due"] for item in found["items"]]
            assert dues == sorted(dues)
            return [item["number"] for item in found["items"]]
        await asyncio.sleep(0.2)
    raise AssertionError("the batch never had its due instants projected")


async def sign_in(page: object, site: Site, email: str, seen: set[str]) -> None:
    await page.fill("#email", email)  # type: ignore[attr-defined]
    await page.click("text=Enviarme el enlace")  # type: ignore[attr-defined]
    await page.wait_for_selector("text=Revise su correo")  # type: ignore[attr-defined]
    await page.goto(await mailed_link(site, email, seen))  # type: ignore[attr-defined]
    await page.click("text=Entrar al portal")  # type: ignore[attr-defined]


async def new_page(chromium: object, js: bool, width: int = 1360) -> tuple[object, object]:
    context = await chromium.new_context(  # type: ignore[attr-defined]
        java_script_enabled=js, locale="es-CO", viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context, await context.new_page()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
async def test_an_engineers_day(site: Site, chromium: object, js: bool) -> None:
    emails = await people(site, "on" if js else "off")
    tag = uuid.uuid4().hex[:6]
    numbers = {
        priority: await open_ticket(
            site, emails["contact"], subject=f"{subject} · lote {tag}", suggested_priority=priority
        )
        for priority, subject in (
            ("P3", "Un formulario de terceros no guarda el teléfono"),
            ("P1", "Caída del sitio web: no carga el portal"),
            ("P2", "No podemos emitir la factura FE-120"),
        )
    }
    context, page = await new_page(chromium, js)
    seen: set[str] = set()
    try:
        await page.goto(f"{site.url}/personal/todas")  # type: ignore[attr-defined]
        await sign_in(page, site, emails["engineer"], seen)
        await page.wait_for_url(f"{site.url}/personal/todas")  # type: ignore[attr-defined]

        # The queue: what is due next comes first, as the API's sort=next_due says.
        expected = await due_order(site, tag)
        await page.fill("#f-q", f"lote {tag}")  # type: ignore[attr-defined]
        await page.click(".queue-filters button[type=submit]")  # type: ignore[attr-defined]
        await eventually_text(page, "3 solicitudes")
        links = await page.locator("td[data-label='Número'] a").all_inner_texts()  # type: ignore[attr-defined]
        assert links == [f"#{n}" for n in expected]
        assert sorted(expected) != expected or numbers["P3"] == expected[0]  # not just by number
        assert "Lo que vence primero arriba" in await page.content()  # type: ignore[attr-defined]
        await shot(page, "console-01-cola", js)

        # A saved reply, written once, inserted into the answer.
        await page.goto(f"{site.url}/personal/plantillas")  # type: ignore[attr-defined]
        await page.fill("#title", f"Saludo {tag}")  # type: ignore[attr-defined]
        await page.fill("#body", "Hola, gracias por escribirnos. Ya revisamos su caso.")  # type: ignore[attr-defined]
        await page.click("text=Guardar")  # type: ignore[attr-defined]
        await page.wait_for_selector("text=Guardamos la plantilla")  # type: ignore[attr-defined]

        number = numbers["P2"]
        await page.goto(f"{site.url}/solicitudes/{number}")  # type: ignore[attr-defined]
        current = await page.input_value("#engineer_email")  # type: ignore[attr-defined]
        other = emails["other"] if current != emails["other"] else emails["engineer"]
        await page.select_option("#engineer_email", other)  # type: ignore[attr-defined]
        await page.click("#asignar button[type=submit]")  # type: ignore[attr-defined]
        await page.wait_for_selector("text=Asignamos la solicitud")  # type: ignore[attr-defined]
        await page.fill("#body", "Ana:")  # type: ignore[attr-defined]
        if js:
            await page.click(f".js-insert-reply:has-text('Saludo {tag}')")  # type: ignore[attr-defined]
        else:
            await page.select_option("#plantilla", label=f"Saludo {tag}")  # type: ignore[attr-defined]
            await page.click("button[name=insertar]")  # type: ignore[attr-defined]
        typed = await page.input_value("#body")  # type: ignore[attr-defined]
        assert typed.startswith("Ana:") and "Ya revisamos su caso." in typed
        await page.click("#responder button[type=submit]:has-text('Enviar')")  # type: ignore[attr-defined]
        await page.wait_for_selector("text=Enviamos su respuesta")  # type: ignore[attr-defined]

        # Request information; then, once answered by mail, resolve.
        await page.fill("#ri-body", "¿Qué prefijo de facturación usa?")  # type: ignore[attr-defined]
        await page.click("#pedir-informacion button[type=submit]")  # type: ignore[attr-defined]
        await page.wait_for_selector("text=Pedimos la información al cliente")  # type: ignore[attr-defined]
        await eventually_text(page, "Cerrar por abandono")
        await shot(page, "console-02-solicitud", js)
        await page.fill("#rs-body", "Renovamos la resolución de numeración FE.")  # type: ignore[attr-defined]
        await page.select_option("#rs-kind", "instructions")  # type: ignore[attr-defined]
        await page.click("#resolver button[type=submit]")  # type: ignore[attr-defined]
        await page.wait_for_selector("text=Resolvimos la solicitud")  # type: ignore[attr-defined]
        await eventually_text(page, "Renovamos la resolución de numeración FE.")
        html = await page.content()  # type: ignore[attr-defined]
        assert "Ya revisamos su caso." in html and "¿Qué prefijo de facturación usa?" in html
        if js:
            await page.goto(f"{site.url}/personal/todas?q=lote+{tag}")  # type: ignore[attr-defined]
            await shot(page, "readme-consola", js, full_page=False)
    except Exception:
        await shot(page, "console-failure", js)
        raise
    finally:
        await context.close()  # type: ignore[attr-defined]


async def test_a_committee_member_decides_and_a_supervisor_reads_the_dashboard(
    site: Site, chromium: object
) -> None:
    emails = await people(site, "comite")
    first = await open_ticket(
        site,
        emails["contact"],
        kind="requirement",
        subject="Reporte de nómina por centro de costo",
        description="Necesitamos el reporte mensual por centro de costo.",
        suggested_priority=None,
    )
    second = await open_ticket(
        site,
        emails["contact"],
        kind="requirement",
        subject="Exportar el libro auxiliar a Excel",
        description="Para la revisoría fiscal.",
        suggested_priority=None,
    )
    for number in (first, second):
        for _ in range(100):
            found = (await site.api.get(f"/api/v1/tickets/{number}")).json()
            if found["status"] == "pending_committee":
                break
    context, page = await new_page(chromium, True)
    seen: set[str] = set()
    try:
        await page.goto(f"{site.url}/personal/comite")  # type: ignore[attr-defined]
        await sign_in(page, site, emails["committee"], seen)
        await page.wait_for_url(f"{site.url}/personal/comite")  # type: ignore[attr-defined]
        await page.click("text=Iniciar una sesión extraordinaria")  # type: ignore[attr-defined]
        await page.wait_for_selector("text=Sesión abierta")  # type: ignore[attr-defined]
        for number in (first, second):
            await page.wait_for_selector(f"#req-{number}")  # type: ignore[attr-defined]
        later = (date.today() + timedelta(days=40)).isoformat()
        item = page.locator(f"#req-{first}")  # type: ignore[attr-defined]
        await item.locator("input[value=accept]").check()
        await item.locator("input[name=estimated_delivery]").fill(later)
        await shot(page, "console-03-comite", True)
        await item.locator("button[type=submit]").click()
        await page.wait_for_selector("text=Registramos la decisión del Comité")  # type: ignore[attr-defined]
        item = page.locator(f"#req-{second}")  # type: ignore[attr-defined]
        await item.locator("input[value=reject]").check()
        await item.locator("button[type=submit]").click()
        await page.wait_for_selector("text=Para rechazar, escriba el motivo.")  # type: ignore[attr-defined]
        item = page.locator(f"#req-{second}")  # type: ignore[attr-defined]
        await item.locator("textarea[name=reason]").fill("Ya existe en el módulo de reportes.")
        await item.locator("button[type=submit]").click()
        await page.wait_for_selector("text=Registramos la decisión del Comité")  # type: ignore[attr-defined]
        # Every item decided: the session closes and reads as minutes.
        await eventually_text(page, "Actas de sesiones anteriores")
        await eventually_text(page, "Ya existe en el módulo de reportes.")
        text = await page.inner_text("main")  # type: ignore[attr-defined]
        assert "Aceptado" in text and "No aprobado" in text and "Carla Rincón" in text
        await shot(page, "console-04-comite-decidido", True)
    finally:
        await context.close()  # type: ignore[attr-defined]

    context, page = await new_page(chromium, True)
    try:
        await page.goto(f"{site.url}/personal/tablero")  # type: ignore[attr-defined]
        await sign_in(page, site, emails["supervisor"], seen)
        await page.wait_for_url(f"{site.url}/personal/tablero")  # type: ignore[attr-defined]
        await page.wait_for_selector("svg.chart")  # type: ignore[attr-defined]
        assert await page.locator("svg.chart").count() >= 2  # type: ignore[attr-defined]
        html = await page.content()  # type: ignore[attr-defined]
        assert "Cumplimiento por prioridad" in html and "Descargar CSV" in html
        assert re.search(r"\d+ solicitudes en el periodo|solicitudes en el periodo", html)
        await shot(page, "console-05-tablero", True)
        await shot(page, "readme-tablero", True, full_page=False)
        async with page.expect_download() as download_info:  # type: ignore[attr-defined]
            await page.click("#por-prioridad a.csv")  # type: ignore[attr-defined]
        download = await download_info.value
        assert download.suggested_filename.startswith("tablero-prioridad-")
    finally:
        await context.close()  # type: ignore[attr-defined]
