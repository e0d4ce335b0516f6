"""The portal in a real browser: Debian's Chromium (/usr/bin/chromium) driven by Playwright,
against the real app served by uvicorn on a free port, a real worker and Temporal server.

A client's person who has only our mails signs in by the mailed link (read from the
Maildir), opens a ticket with an image, sees the engineer's public reply and not the
internal note, answers, books an advisory from the mailed link, reopens within the window,
rates and signs out: once with JavaScript on and once with it off. Screenshots of each
main page go to test-artifacts/ (look at them). No browser is ever downloaded: without
/usr/bin/chromium these tests fail with one line saying what to install.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from tests.api_support import ADMIN, api_settings, database, make_nit
from tests.portal_support import body_text, mails_to, subject_of, wait_for_mail
from worker import build_worker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LINK = re.compile(r"https?://[^\s\"<>]+/ingresar/enlace/[A-Za-z0-9_-]+")
TIMEOUT_MS = 30_000


def png(width: int = 64, height: int = 48) -> bytes:
    """A real (decodable) PNG: a green gradient, as a screenshot of an error would be."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (20, 90 + (x * 2) % 120, 70 + y))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Site:
    url: str
    outbox: Path
    api: httpx.AsyncClient


@pytest.fixture(scope="module")
async def site(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    if not CHROMIUM.exists():
        pytest.fail(
            "browser tests need Debian's Chromium at /usr/bin/chromium: "
            "run `sudo apt-get install chromium` (make test does it as root)",
            pytrace=False,
        )
    data_dir = tmp_path_factory.mktemp("portal-browser")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with database("sqlite", data_dir) as database_url:
        settings = api_settings(data_dir, database_url, dev_env).model_copy(
            update={"public_url": url}
        )
        app = create_app(settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.05)
            async with (
                build_worker(dev_env.client, settings),
                httpx.AsyncClient(base_url=url, headers=ADMIN, timeout=30) as api,
            ):
                yield Site(url=url, outbox=settings.outbox_dir, api=api)
        finally:
            server.should_exit = True
            await serving


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def registered(site: Site, tag: str) -> tuple[str, str, dict[str, str]]:
    """A client with a contact, and an engineer with an API token: (contact, engineer, auth)."""
    base = str(uuid.uuid4().int % 900_000_000 + 100_000_000)
    nit = make_nit(base)
    contact = f"ana-{tag}-{uuid.uuid4().hex[:6]}@tornillo.co"
    engineer = f"luis-{tag}-{uuid.uuid4().hex[:6]}@btw.com.co"
    calls = [
        ("/api/v1/clients", {"nit": nit, "name": "Ferretería El Tornillo S.A.S.", "active": True}),
        (
            f"/api/v1/clients/{nit}/contacts",
            {"name": "Ana Gómez", "email": contact, "phone": "+57 300 1234567"},
        ),
        ("/api/v1/staff", {"name": "Luis Pérez", "email": engineer, "roles": ["engineer"]}),
    ]
    for path, body in calls:
        answer = await site.api.post(path, json=body)
        assert answer.status_code == 201, answer.text
    token = (await site.api.post("/api/v1/tokens", json={"email": engineer})).json()["token"]
    return contact, engineer, {"Authorization": f"Bearer {token}"}


async def mailed_link(site: Site, email: str, seen: set[str]) -> str:
    for _ in range(150):
        for message in mails_to(site.outbox, email):
            if "ingresar" in subject_of(message):
                for link in LINK.findall(body_text(message)):
                    if link not in seen:
                        seen.add(link)
                        return link
        await asyncio.sleep(0.1)
    raise AssertionError(f"no sign-in link mailed to {email}")


async def shot(page: object, name: str, js: bool, full_page: bool = True) -> None:
    """A screenshot under test-artifacts/ (the whole page, or what a screen shows)."""
    ARTIFACTS.mkdir(exist_ok=True)
    suffix = "" if js else "-nojs"
    path = str(ARTIFACTS / f"{name}{suffix}.png")
    await page.screenshot(path=path, full_page=full_page)  # type: ignore[attr-defined]


async def eventually_text(page: object, text: str, tries: int = 60) -> None:
    """Reload until the page shows `text` (the read model follows the workflow)."""
    for _ in range(tries):
        if text in await page.content():  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.25)
        await page.reload()  # type: ignore[attr-defined]
    raise AssertionError(f"the page never showed {text!r}")


async def sign_in(
    page: object, site: Site, email: str, seen: set[str], js: bool, shot_name: str = "01-ingresar"
) -> None:
    await page.fill("#email", email)  # type: ignore[attr-defined]
    await shot(page, shot_name, js)
    await page.click("text=Enviarme el enlace")  # type: ignore[attr-defined]
    await page.wait_for_selector("text=Revise su correo")  # type: ignore[attr-defined]
    link = await mailed_link(site, email, seen)
    await page.goto(link)  # type: ignore[attr-defined]
    await page.click("text=Entrar al portal")  # type: ignore[attr-defined]


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
async def test_a_client_follows_answers_books_reopens_rates_and_signs_out(
    site: Site, chromium: object, js: bool
) -> None:
    contact, engineer, staff = await registered(site, "on" if js else "off")
    context = await chromium.new_context(  # type: ignore[attr-defined]
        java_script_enabled=js, locale="es-CO", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    seen: set[str] = set()
    try:
        # Signed out, a page leads to sign-in; the mailed link brings the person back.
        await page.goto(f"{site.url}/solicitudes/nueva")
        assert "/ingresar" in page.url
        await sign_in(page, site, contact, seen, js)
        await page.wait_for_url(f"{site.url}/solicitudes/nueva")

        # A new ticket with an image as evidence.
        await page.check("input[name=kind][value=support]")
        await page.fill("#category", "Facturación electrónica")
        await page.check("input[name=suggested_priority][value=P2]")
        await page.fill("#subject", "No podemos emitir la factura FE-120")
        await page.fill("#description", "Al emitir la factura electrónica aparece «error 500».")
        await page.fill("#expected_result", "Emitir la factura")
        await page.fill("#legal_number", "FE-120")
        await page.fill("#business_impact", "No facturamos hoy")
        await page.set_input_files(
            "#evidence", files=[{"name": "error.png", "mimeType": "image/png", "buffer": png()}]
        )
        await shot(page, "03-nueva-solicitud", js)
        await page.click("text=Registrar la solicitud")
        await page.wait_for_selector("text=Registramos su solicitud")
        number = int(re.search(r"/solicitudes/(\d+)", page.url).group(1))  # type: ignore[union-attr]
        await eventually_text(page, "error.png")

        # The engineer answers in public, notes internally and asks for information.
        api = f"/api/v1/tickets/{number}"
        for path, body in (
            (
                "messages",
                {"body": "Hola Ana, estamos revisando la numeración.", "visibility": "public"},
            ),
            ("messages", {"body": "Nota interna: revisar certificado", "visibility": "internal"}),
            ("request-info", {"body": "¿Qué prefijo de facturación usa?"}),
        ):
            answer = await site.api.post(f"{api}/{path}", json=body, headers=staff)
            assert answer.status_code == 200, answer.text
        await page.goto(f"{site.url}/solicitudes/{number}")
        await eventually_text(page, "Estamos esperando su respuesta")
        await eventually_text(page, "¿Qué prefijo de facturación usa?")  # the log's last line
        html = await page.content()
        assert "Hola Ana, estamos revisando la numeración." in html
        assert "Nota interna: revisar certificado" not in html
        await shot(page, "04-solicitud-esperando", js)
        await shot(page, "readme-solicitud", js, full_page=False)

        # The client answers from the page.
        await page.fill("#body", "Usamos el prefijo FE.")
        await page.click("#responder button[type=submit]")
        await page.wait_for_selector("text=Enviamos su respuesta")
        await eventually_text(page, "Usamos el prefijo FE.")

        # Resolved: reopen within the window, then resolved again and rated.
        resolve = {"kind": "solution", "body": "Renovamos la resolución de numeración."}
        assert (await site.api.post(f"{api}/resolve", json=resolve, headers=staff)).is_success
        await eventually_text(page, "Renovamos la resolución de numeración.")
        await page.click("text=¿El problema continúa?")
        await page.fill("#reason", "Volvió a fallar esta mañana.")
        await page.click("text=Reabrir la solicitud")
        await page.wait_for_selector("text=Reabrimos su solicitud")
        await eventually_text(page, "Volvió a fallar esta mañana.")
        resolve = {"kind": "instructions", "body": "Reinicie el servicio de firma."}
        assert (await site.api.post(f"{api}/resolve", json=resolve, headers=staff)).is_success
        await wait_for_mail(site.outbox, contact, "Reinicie el servicio de firma.")
        # The rating invitation (sent with each resolution) carries the rating page's link.
        mail = await wait_for_mail(site.outbox, contact, "¿Cómo fue nuestra atención?")
        rating_link = f"{site.url}/solicitudes/{number}/calificar"
        assert rating_link in body_text(mail[-1])
        await page.goto(rating_link)
        await page.check("input[name=score][value='5']")
        await page.fill("#comment", "Muy buena atención")
        await shot(page, "05-calificar", js)
        await page.click("text=Enviar calificación")
        await page.wait_for_selector("text=Gracias por calificar")
        assert "5 de 5" in await page.content()
        await shot(page, "06-solicitud-resuelta", js)

        # An advisory booked from the link in its mail.
        advisory = {
            "kind": "advisory",
            "category": "Capacitación",
            "subject": "Capacitación en cierre contable",
            "description": "Queremos una sesión sobre el cierre de fin de año.",
            "reporter_email": contact,
        }
        opened = await site.api.post("/api/v1/tickets", json=advisory, headers=staff)
        assert opened.status_code == 201, opened.text
        advisory_number = opened.json()["number"]
        booking_mail = await wait_for_mail(site.outbox, contact, "Agende su asesoría")
        booking_link = f"{site.url}/solicitudes/{advisory_number}/agendar"
        assert booking_link in body_text(booking_mail[-1])
        await page.goto(booking_link)
        await page.locator("input[name=start]").first.check()
        await shot(page, "07-agendar", js)
        await page.click("form button[type=submit]:has-text('Agendar')")
        await page.wait_for_selector("text=Su asesoría está agendada")
        await wait_for_mail(site.outbox, contact, "Asesoría agendada")

        await page.goto(f"{site.url}/solicitudes")
        assert f"#{number}" in await page.content()
        await shot(page, "02-mis-solicitudes", js)
        await shot(page, "readme-mis-solicitudes", js, full_page=False)
        if js:
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.goto(f"{site.url}/solicitudes/{number}")
            await shot(page, "08-solicitud-celular", js)
            await page.set_viewport_size({"width": 1280, "height": 900})

        # Sign out: the session ends; pages lead to sign-in again.
        await page.click("text=Cerrar sesión")
        await page.wait_for_selector("text=Cerró su sesión")
        await page.goto(f"{site.url}/solicitudes/{number}")
        assert "/ingresar" in page.url
    except Exception:
        await shot(page, "failure", js)
        print(await page.content())
        raise
    finally:
        await context.close()

    # Staff see the same page with the internal note set apart.
    staff_context = await chromium.new_context(java_script_enabled=js)  # type: ignore[attr-defined]
    staff_context.set_default_timeout(TIMEOUT_MS)
    staff_page = await staff_context.new_page()
    try:
        await staff_page.goto(f"{site.url}/solicitudes/{number}")
        await sign_in(staff_page, site, engineer, seen, js, "10-ingresar-personal")
        await staff_page.wait_for_url(f"{site.url}/solicitudes/{number}")
        html = await staff_page.content()
        assert (
            "Nota interna: revisar certificado" in html and "Interna: el cliente no la ve" in html
        )
        await shot(staff_page, "09-personal-solicitud", js)
    finally:
        await staff_context.close()
