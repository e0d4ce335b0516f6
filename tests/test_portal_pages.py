"""The web portal over HTTP, with the real app, a real worker and a real Temporal server:
sign-in by the mailed link (read from the Maildir), sessions, CSRF and Origin, object-level
access, escaping, form errors that keep what was typed, and every page and form."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from soporte.db.portal_models import SignInLink, WebSession
from soporte.db.session import create_engine
from soporte.services.portal_auth import safe_next
from tests.api_support import ADMIN, backends, eventually, make_nit
from tests.portal_support import (
    BASE,
    PNG,
    Portal,
    body_text,
    csrf_of,
    mails_to,
    portal_on,
    sign_in_links,
    unique,
    wait_for_mail,
)


@pytest.fixture(scope="module", params=backends())
async def portal(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Portal]:
    data_dir: Path = tmp_path_factory.mktemp(f"portal-{request.param}")
    async with portal_on(request.param, dev_env, data_dir) as running:
        yield running


async def company(portal: Portal, name: str = "Ferretería El Tornillo") -> tuple[str, str, str]:
    """A client with two contacts; returns (nit, first email, second email)."""
    base = str(uuid.uuid4().int % 900_000_000 + 100_000_000)
    nit = await portal.api.client(base, name)
    first, second = f"{unique('ana')}@tornillo.co", f"{unique('beto')}@tornillo.co"
    await portal.api.contact(nit, first, "Ana Gómez")
    await portal.api.contact(nit, second, "Beto Ruiz")
    return nit, first, second


async def engineer(portal: Portal) -> tuple[str, dict[str, str]]:
    email = f"{unique('luis')}@btw.com.co"
    headers = await portal.api.staff(email, ["engineer"], "Luis Pérez")
    return email, headers


async def open_by_api(portal: Portal, contact: str, **fields: object) -> int:
    headers = portal.api.tokens[contact]
    ticket = await portal.api.open_ticket(headers, **fields)
    number: int = ticket["number"]
    return number


def refs(text: str, pattern: str) -> list[str]:
    return re.findall(pattern, text)


# --- Sign-in ------------------------------------------------------------------------------------


async def test_a_signed_out_page_leads_to_sign_in_and_back(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    number = await open_by_api(portal, ana, subject="Error al facturar")
    async with portal.browser() as browser:
        first = await browser.get(f"/solicitudes/{number}")
        assert first.status_code == 303
        assert first.headers["location"] == f"/ingresar?siguiente=%2Fsolicitudes%2F{number}"
        signed = await browser.sign_in(ana, f"/solicitudes/{number}")
        assert signed.status_code == 303
        assert signed.headers["location"] == f"/solicitudes/{number}"
        cookie = signed.headers["set-cookie"]
        assert "soporte_sesion=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # the public URL is http here
        page = await browser.get(f"/solicitudes/{number}")
        assert page.status_code == 200
        assert "Error al facturar" in page.text
        assert 'lang="es-CO"' in page.text and "hora de Bogotá" in page.text
        assert "Cerrar sesión" in page.text


async def test_the_mailed_link_is_one_time_and_expires(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        link = sign_in_links(portal.settings.outbox_dir, ana)[-1]
        mail = mails_to(portal.settings.outbox_dir, ana)[-1]
        assert "15 minutos" in body_text(mail) and mail["Auto-Submitted"] == "auto-generated"
    async with portal.browser() as other:
        used = await other.get(httpx.URL(link).path)
        assert used.status_code == 410 and "ya no sirve" in used.text
        replay = await other.http.post(httpx.URL(link).path, data={"csrf": "x" * 30})
        assert replay.status_code in (403, 410)
        assert "soporte_sesion" not in replay.headers.get("set-cookie", "")
        # A fresh link whose 15 minutes have passed is refused too.
        sent = await other.post_form("/ingresar", {"email": ana}, page="/ingresar")
        assert sent.status_code == 200
        fresh = sign_in_links(portal.settings.outbox_dir, ana)[-1]
        assert fresh != link
        engine = create_engine(portal.settings.effective_database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    update(SignInLink)
                    .where(SignInLink.email == ana, SignInLink.used_at.is_(None))
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                )
        finally:
            await engine.dispose()
        expired = await other.get(httpx.URL(fresh).path)
        assert expired.status_code == 410


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    stranger = f"{unique('nadie')}@otra.co"
    async with portal.browser() as browser:
        known = await browser.post_form("/ingresar", {"email": ana}, page="/ingresar")
        unknown = await browser.post_form("/ingresar", {"email": stranger}, page="/ingresar")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(ana, "X") == unknown.text.replace(stranger, "X")
    assert sign_in_links(portal.settings.outbox_dir, ana)
    assert mails_to(portal.settings.outbox_dir, stranger) == []


async def test_sign_in_requests_are_limited_per_address_and_per_ip(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    limit = portal.settings.sign_in_limit_per_address
    async with portal.browser(ip="10.1.1.1") as browser:
        for _ in range(limit):
            ok = await browser.post_form("/ingresar", {"email": ana}, page="/ingresar")
            assert ok.status_code == 200
        limited = await browser.post_form("/ingresar", {"email": ana}, page="/ingresar")
    assert limited.status_code == 429
    assert "demasiadas solicitudes" in limited.text
    assert len(sign_in_links(portal.settings.outbox_dir, ana)) == limit
    per_ip = portal.settings.sign_in_limit_per_ip
    async with portal.browser(ip="10.2.2.2") as browser:
        for index in range(per_ip):
            answer = await browser.post_form(
                "/ingresar", {"email": f"x{index}-{unique('z')}@otra.co"}, page="/ingresar"
            )
            assert answer.status_code == 200
        blocked = await browser.post_form("/ingresar", {"email": ana}, page="/ingresar")
    assert blocked.status_code == 429


async def test_no_open_redirect_after_sign_in(portal: Portal) -> None:
    for bad in ("https://evil.example", "//evil.example/x", "/\\evil.example", "http:/x", ""):
        assert safe_next(bad) == "/"
    assert safe_next("/solicitudes/5?x=1") == "/solicitudes/5?x=1"
    _, ana, _ = await company(portal)
    async with portal.browser() as browser:
        form = await browser.get("/ingresar?siguiente=https://evil.example/robar")
        assert 'name="siguiente" value="/"' in form.text
        signed = await browser.sign_in(ana, "//evil.example/robar")
        assert signed.headers["location"] == "/"


async def test_sign_out_and_deactivation_end_the_session(portal: Portal) -> None:
    _, ana, beto = await company(portal)
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        assert (await browser.get("/solicitudes")).status_code == 200
        out = await browser.post_form("/salir", {}, page="/solicitudes")
        assert out.status_code == 303 and out.headers["location"].startswith("/ingresar")
        assert (await browser.get("/solicitudes")).status_code == 303
    async with portal.browser() as browser:
        await browser.sign_in(beto)
        assert (await browser.get("/solicitudes")).status_code == 200
        await portal.api.ok(
            "PATCH", f"/api/v1/contacts/{beto}", json={"active": False}, headers=ADMIN
        )
        assert (await browser.get("/solicitudes")).status_code == 303


async def test_deactivating_the_client_ends_its_contacts_sessions(portal: Portal) -> None:
    nit, ana, _ = await company(portal)
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        await portal.api.ok(
            "PATCH", f"/api/v1/clients/{nit}", json={"active": False}, headers=ADMIN
        )
        assert (await browser.get("/solicitudes")).status_code == 303
    engine = create_engine(portal.settings.effective_database_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    WebSession.__table__.select().where(WebSession.email == ana)
                )
            ).all()
    finally:
        await engine.dispose()
    assert rows and all(row.ended_at is not None for row in rows)
    assert {row.end_reason for row in rows} == {"deactivated"}


# --- Forms: CSRF and Origin ---------------------------------------------------------------------


async def test_forms_without_the_csrf_token_or_from_another_site_are_refused(
    portal: Portal,
) -> None:
    _, ana, _ = await company(portal)
    number = await open_by_api(portal, ana)
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        path = f"/solicitudes/{number}/responder"
        missing = await browser.http.post(path, data={"body": "sin token"})
        assert missing.status_code == 403 and "Formulario vencido" in missing.text
        wrong = await browser.post_form(path, {"body": "token ajeno"}, csrf="a" * 43)
        assert wrong.status_code == 403
        page = await browser.get(f"/solicitudes/{number}")
        cross = await browser.post_form(
            path,
            {"body": "desde otro sitio"},
            csrf=csrf_of(page.text),
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        signed_out = await browser.http.post("/ingresar", data={"email": ana})
        assert signed_out.status_code == 403
        log = await portal.api.ok(
            "GET", f"/api/v1/tickets/{number}/log", headers=portal.api.tokens[ana]
        )
        assert not any("token" in line["body"] or "sitio" in line["body"] for line in log)


# --- Access and escaping ----------------------------------------------------------------------


async def test_a_foreign_ticket_is_a_404_page_and_never_listed(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    _, other, _ = await company(portal, "Otra Empresa")
    theirs = await open_by_api(portal, other, subject="Secreto de otra empresa")
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        page = await browser.get(f"/solicitudes/{theirs}")
        assert page.status_code == 404
        assert "Secreto" not in page.text and "No encontramos" in page.text
        assert (await browser.get(f"/solicitudes/{theirs}/agendar")).status_code == 404
        sha = "0" * 64
        assert (await browser.get(f"/solicitudes/{theirs}/adjuntos/{sha}")).status_code == 404
        listing = await browser.get("/solicitudes")
        assert "Secreto de otra empresa" not in listing.text
        assert (await browser.get("/solicitudes/abc")).status_code == 404


async def test_user_text_and_filenames_are_escaped(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    subject = "<script>alert('x')</script> factura"
    number = await open_by_api(portal, ana, subject=subject, description="<img src=x onerror=1>")
    upload = await portal.api.http.post(
        f"/api/v1/tickets/{number}/attachments",
        files={"file": ("<script>a&b.png", PNG, "image/png")},
        headers=portal.api.tokens[ana],
    )
    assert upload.status_code == 201, upload.text
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        page = await eventually(
            lambda: browser.get(f"/solicitudes/{number}"), lambda p: "_script_a&amp;b.png" in p.text
        )
        listing = await browser.get("/solicitudes")
    for html in (page.text, listing.text):
        assert "<script>alert" not in html and "&lt;script&gt;alert(" in html
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts == ['<script src="/static/portal.js" defer>']
    assert "<img src=x" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_attachments_download_as_attachments(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    number = await open_by_api(portal, ana)
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        sent = await browser.post_form(
            f"/solicitudes/{number}/responder",
            {"body": "Adjunto la captura"},
            page=f"/solicitudes/{number}",
            files={"files": ("captura.png", io.BytesIO(PNG), "image/png")},
        )
        assert sent.status_code == 303, sent.text
        page = await browser.get(f"/solicitudes/{number}")
        link = re.search(rf'href="(/solicitudes/{number}/adjuntos/[0-9a-f]{{64}})"', page.text)
        assert link, page.text
        download = await browser.get(link.group(1))
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"


# --- The contact's pages ------------------------------------------------------------------------


async def test_new_ticket_form_errors_keep_the_typed_values(portal: Portal) -> None:
    _, ana, beto = await company(portal)
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        form = await browser.get("/solicitudes/nueva")
        assert form.status_code == 200 and beto in form.text  # a colleague to inform
        typed = {
            "kind": "support",
            "category": "Facturación electrónica",
            "subject": "La factura <b>FE-12</b> no sale",
            "description": "",
            "legal_number": "FE-12",
            "notify": beto,
        }
        answer = await browser.post_form("/solicitudes/nueva", typed, page="/solicitudes/nueva")
        assert answer.status_code == 422
        html = answer.text
        assert 'value="La factura &lt;b&gt;FE-12&lt;/b&gt; no sale"' in html
        assert 'value="FE-12"' in html and 'value="Facturación electrónica"' in html
        assert (
            'id="description" name="description" rows="6" maxlength="20000" aria-invalid="true"'
            in html
        )
        assert '<p class="field-error" id="err-description">Este campo es obligatorio.</p>' in html
        assert f'value="{beto}" checked' in html
        bad_file = await browser.post_form(
            "/solicitudes/nueva",
            {**typed, "description": "Sale en blanco"},
            page="/solicitudes/nueva",
            files={"evidence": ("virus.exe", io.BytesIO(b"MZ\x90\x00" * 8), "image/png")},
        )
        assert bad_file.status_code == 422
        assert "no es una imagen" in bad_file.text and "Sale en blanco" in bad_file.text


async def test_open_a_ticket_with_evidence_then_follow_it(portal: Portal) -> None:
    _, ana, beto = await company(portal)
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        page = await browser.get("/solicitudes/nueva")
        fields = {
            "kind": "support",
            "category": "Facturación electrónica",
            "suggested_priority": "P2",
            "subject": "No podemos emitir facturas",
            "description": "Al emitir sale error 500.",
            "expected_result": "Emitir la factura",
            "business_impact": "No facturamos hoy",
            "notify": beto,
            "form_id": re.search(r'name="form_id" value="([^"]+)"', page.text).group(1),  # type: ignore[union-attr]
        }
        opened = await browser.post_form(
            "/solicitudes/nueva",
            fields,
            csrf=csrf_of(page.text),
            files={"evidence": ("pantalla.png", io.BytesIO(PNG), "image/png")},
        )
        assert opened.status_code == 303, opened.text
        path = opened.headers["location"].split("?")[0]
        number = int(path.rsplit("/", 1)[1])
        again = await browser.post_form(
            "/solicitudes/nueva",
            fields,
            csrf=csrf_of(page.text),
            files={"evidence": ("pantalla.png", io.BytesIO(PNG), "image/png")},
        )
        assert again.headers["location"].split("?")[0] == path  # the same form never opens two
        notice = await browser.get(opened.headers["location"])
        assert "Registramos su solicitud" in notice.text
        ticket = await eventually(lambda: browser.get(path), lambda p: "pantalla.png" in p.text)
        assert "No podemos emitir facturas" in ticket.text
        assert "P2 – Alto" in ticket.text and "horas hábiles" in ticket.text
        listing = await browser.get("/solicitudes?estado=open")
        assert f"#{number}" in listing.text
        none = await browser.get("/solicitudes?estado=closed")
        assert f"#{number}" not in none.text
    mail = (await wait_for_mail(portal.settings.outbox_dir, ana, "Recibimos su solicitud"))[-1]
    text = body_text(mail)
    assert f"{BASE}/solicitudes/{number}" in text and "/api/v1/" not in text
    assert "agendar" not in text.lower()  # the booking link is for advisories only


async def test_engineer_reply_internal_note_wait_reply_resolve_reopen_rate(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    luis, staff = await engineer(portal)
    number = await open_by_api(portal, ana, subject="Error en nómina")
    path = f"/api/v1/tickets/{number}"
    await portal.api.ok(
        "POST",
        f"{path}/messages",
        json={"body": "Revisando su caso", "visibility": "public"},
        headers=staff,
    )
    await portal.api.ok(
        "POST",
        f"{path}/messages",
        json={"body": "nota secreta", "visibility": "internal"},
        headers=staff,
    )
    await portal.api.ok(
        "POST", f"{path}/request-info", json={"body": "¿Qué prefijo usa?"}, headers=staff
    )
    page_path = f"/solicitudes/{number}"
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        page = await eventually(
            lambda: browser.get(page_path),
            lambda p: "Estamos esperando su respuesta" in p.text and "¿Qué prefijo usa?" in p.text,
        )
        assert "Revisando su caso" in page.text and "nota secreta" not in page.text
        assert "¿Qué prefijo usa?" in page.text and "5 días calendario" in page.text
        assert "Intento de contacto 1 de 4" in page.text
        empty = await browser.post_form(f"{page_path}/responder", {"body": "  "}, page=page_path)
        assert empty.status_code == 422 and "Este campo es obligatorio." in empty.text
        answered = await browser.post_form(
            f"{page_path}/responder", {"body": "Prefijo FE"}, page=page_path
        )
        assert answered.status_code == 303
        await eventually(
            lambda: browser.get(page_path),
            lambda p: "Prefijo FE" in p.text and "Estamos esperando" not in p.text,
        )
    async with portal.browser() as staff_browser:
        await staff_browser.sign_in(luis)
        seen = await staff_browser.get(page_path)
        assert "nota secreta" in seen.text and "Interna: el cliente no la ve" in seen.text
        assert (await staff_browser.get("/")).headers["location"] == "/personal"
    await portal.api.ok(
        "POST",
        f"{path}/resolve",
        json={"kind": "solution", "body": "Renovamos la resolución"},
        headers=staff,
    )
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        page = await eventually(
            lambda: browser.get(page_path), lambda p: "Renovamos la resolución" in p.text
        )
        assert "Pida reabrirla (hasta el" in page.text
        rating = await browser.get(f"{page_path}/calificar")
        assert rating.status_code == 200 and "¿Cómo calificaría nuestra atención?" in rating.text
        no_score = await browser.post_form(
            f"{page_path}/calificar", {"comment": "Bien"}, page=page_path
        )
        assert no_score.status_code == 422 and "Elija una calificación de 1 a 5." in no_score.text
        assert "Bien</textarea>" in no_score.text
        rated = await browser.post_form(
            f"{page_path}/calificar", {"score": "5", "comment": "Muy rápidos"}, page=page_path
        )
        assert rated.status_code == 303
        again = await browser.post_form(f"{page_path}/calificar", {"score": "1"}, page=page_path)
        assert again.status_code == 409 and "ya tiene su calificación" in again.text
        reopened = await browser.post_form(
            f"{page_path}/reabrir", {"reason": "Volvió a fallar"}, page=page_path
        )
        assert reopened.status_code == 303
        page = await eventually(
            lambda: browser.get(page_path), lambda p: "Volvió a fallar" in p.text
        )
        assert "En atención" in page.text
        late = await browser.post_form(
            f"{page_path}/reabrir", {"reason": "otra vez"}, page=page_path
        )
        assert late.status_code == 409 and "no está resuelta" in late.text
    invitations = await wait_for_mail(
        portal.settings.outbox_dir, ana, "¿Cómo fue nuestra atención?"
    )
    rating_mail = invitations[-1]
    assert f"{BASE}/solicitudes/{number}/calificar" in body_text(rating_mail)


async def test_book_and_rebook_an_advisory_from_the_mailed_link(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    number = await open_by_api(
        portal, ana, kind="advisory", category="Capacitación", subject="Capacitación en cierre"
    )
    mail = (await wait_for_mail(portal.settings.outbox_dir, ana, "Agende su asesoría"))[-1]
    link = f"{BASE}/solicitudes/{number}/agendar"
    assert link in body_text(mail)
    async with portal.browser() as browser:
        first = await browser.get(f"/solicitudes/{number}/agendar")
        assert first.status_code == 303
        await browser.sign_in(ana, f"/solicitudes/{number}/agendar")
        page = await browser.get(f"/solicitudes/{number}/agendar")
        starts = re.findall(r'name="start" value="([^"]+)"', page.text)
        assert len(starts) >= 2, page.text
        assert "a. m." in page.text or "p. m." in page.text
        booked = await browser.post_form(
            f"/solicitudes/{number}/agendar",
            {"start": starts[0]},
            page=f"/solicitudes/{number}/agendar",
        )
        assert booked.status_code == 303, booked.text
        confirmed = await browser.get(booked.headers["location"])
        assert "Su asesoría está agendada" in confirmed.text
        assert "Su asesoría quedó agendada" in confirmed.text
        moved = await browser.post_form(
            f"/solicitudes/{number}/agendar",
            {"start": starts[1]},
            page=f"/solicitudes/{number}/agendar",
        )
        assert moved.status_code == 303
        after = await browser.get(moved.headers["location"])
        assert "Liberamos el espacio que tenía antes" in after.text
        bad = await browser.post_form(
            f"/solicitudes/{number}/agendar",
            {"start": "mañana"},
            page=f"/solicitudes/{number}/agendar",
        )
        assert bad.status_code == 422 and "Elija uno de los espacios." in bad.text
    await wait_for_mail(portal.settings.outbox_dir, ana, "Asesoría agendada")


async def test_requirement_page_shows_the_committee(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    number = await open_by_api(
        portal, ana, kind="requirement", category="Ventas", subject="Nuevo reporte de ventas"
    )
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        page = await browser.get(f"/solicitudes/{number}")
    assert "Comité Operativo" in page.text and "Próxima sesión" in page.text
    assert "Pendiente" in page.text


async def test_unknown_portal_path_is_a_page_and_api_errors_stay_json(portal: Portal) -> None:
    async with portal.browser() as browser:
        missing = await browser.get("/no-existe")
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
        api = await browser.get("/api/v1/tickets/1")
        assert api.status_code == 401 and api.json()["detail"]
        nit_check = make_nit("900123456")
        assert nit_check


async def _age_sessions(portal: Portal, email: str, **values: object) -> None:
    engine = create_engine(portal.settings.effective_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(WebSession).where(WebSession.email == email).values(**values)
            )
    finally:
        await engine.dispose()


async def test_sessions_expire_when_idle_and_at_their_absolute_limit(portal: Portal) -> None:
    _, ana, beto = await company(portal)
    now = datetime.now(UTC)
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        assert (await browser.get("/solicitudes")).status_code == 200
        idle = portal.settings.session_idle
        await _age_sessions(portal, ana, last_seen_at=now - idle - timedelta(seconds=1))
        assert (await browser.get("/solicitudes")).status_code == 303
    async with portal.browser() as browser:
        await browser.sign_in(beto)
        await _age_sessions(portal, beto, expires_at=now - timedelta(seconds=1))
        assert (await browser.get("/solicitudes")).status_code == 303


async def test_sign_in_never_adopts_a_session_id_the_browser_brought(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    planted = "planted-by-someone-else-0123456789"
    async with portal.browser() as browser:
        browser.http.cookies.set("soporte_sesion", planted, domain="soporte.test")
        assert (await browser.get("/solicitudes")).status_code == 303
        signed = await browser.sign_in(ana)
        issued = signed.cookies.get("soporte_sesion")
        assert issued and issued != planted
        assert (await browser.get("/solicitudes")).status_code == 200


async def test_staff_land_on_their_page_and_contacts_cannot_open_it(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    number = await open_by_api(portal, ana, subject="Visible para el personal")
    luis, _ = await engineer(portal)
    async with portal.browser() as staff:
        await staff.sign_in(luis)
        landing = await staff.get("/personal")
        assert landing.status_code == 200 and "Mi cola" in landing.text
        everything = await staff.get("/personal/todas")
        assert everything.status_code == 200 and f"#{number}" in everything.text
        assert "Nueva solicitud" not in landing.text
        assert (await staff.get("/solicitudes/nueva")).headers["location"] == "/personal"
    async with portal.browser() as contact:
        await contact.sign_in(ana)
        assert (await contact.get("/personal")).headers["location"] == "/solicitudes"


async def test_a_form_posted_signed_out_leads_to_sign_in_and_back_to_its_page(
    portal: Portal,
) -> None:
    async with portal.browser() as browser:
        answer = await browser.http.post(
            "/solicitudes/5/responder",
            data={"body": "hola"},
            headers={"Referer": f"{BASE}/solicitudes/5"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ingresar?siguiente=%2Fsolicitudes%2F5"
        static = await browser.get("/static/portal.css")
        assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"


async def test_people_to_inform_are_the_clients_own_contacts_on_every_door(
    portal: Portal,
) -> None:
    _, ana, beto = await company(portal)
    _, stranger, _ = await company(portal, "Otra Empresa")
    headers = portal.api.tokens[ana]
    body = {
        "kind": "support",
        "category": "Ventas",
        "subject": "Informe a otra empresa",
        "description": "Prueba",
        "notify": [beto, stranger],
    }
    refused = await portal.api.http.post("/api/v1/tickets", json=body, headers=headers)
    assert refused.status_code == 422
    assert "notify" in refused.json()["detail"] and stranger in refused.json()["detail"]
    accepted = await portal.api.ok(
        "POST", "/api/v1/tickets", 201, json={**body, "notify": [beto]}, headers=headers
    )
    assert accepted["notify"] == [beto]
    async with portal.browser() as browser:
        await browser.sign_in(ana)
        form = await browser.post_form(
            "/solicitudes/nueva",
            {**{k: v for k, v in body.items() if k != "notify"}, "notify": stranger},
            page="/solicitudes/nueva",
        )
    assert form.status_code == 422
    assert "Solo puede informar a personas activas de su empresa." in form.text
    assert 'value="Informe a otra empresa"' in form.text


async def test_cookies_are_secure_when_the_public_url_is_https(portal: Portal) -> None:
    _, ana, _ = await company(portal)
    portal.settings.public_url = "https://soporte.test"
    try:
        async with portal.browser(base="https://soporte.test") as browser:
            page = await browser.get("/ingresar")
            assert "Secure" in page.headers["set-cookie"]
            signed = await browser.sign_in(ana)
            cookie = signed.headers["set-cookie"]
            assert "soporte_sesion=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
            assert (await browser.get("/solicitudes")).status_code == 200
    finally:
        portal.settings.public_url = BASE


async def test_the_contact_page_is_a_portal_page_for_anyone(portal: Portal) -> None:
    """Every refusal and acknowledgement links to /contacto (Settings.effective_contact_url):
    a portal page like the others, signed in or not, with the channels of the settings."""
    _, ana, _ = await company(portal)
    async with portal.browser() as browser:
        signed_out = await browser.get("/contacto")
        assert signed_out.status_code == 200
        assert 'lang="es-CO"' in signed_out.text and "Content-Security-Policy" in signed_out.headers
        assert "Línea única: (+57 4) 6047282 ext. 121–157." in signed_out.text
        assert 'href="mailto:soporte@btw.com.co"' in signed_out.text
        assert "Ingrese al portal" in signed_out.text
        await browser.sign_in(ana)
        signed_in = await browser.get("/contacto")
        assert signed_in.status_code == 200 and "Cerrar sesión" in signed_in.text
        assert "Ingrese al portal" not in signed_in.text
    assert portal.settings.effective_contact_url.endswith("/contacto")
