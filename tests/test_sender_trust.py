"""Issue 16, the mail half: nothing about a ticket reaches anyone outside its client and our
staff, and a forged sender changes nothing (POLICY.md "Who sees what"; README "Who sees
what / sender trust"); and the P1 rule on every channel.

Real parts: SMTP sessions (smtplib) to `serve_smtp`, the app over ASGI, the dev server and
a real worker writing the Maildir outbox, SQLite (and PostgreSQL with
SOPORTE_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api.main import create_app
from soporte.db.mail_models import InboundMail, RefusedMail
from soporte.db.models import Contact, TicketIntake
from soporte.email.authresults import SenderCheck, sender_check
from soporte.policy import Kind, Priority
from soporte.policy.triage import StartingPriority, starting_priority
from tests.api_support import ADMIN, Api, api_settings, backends, database, eventually
from tests.portal_support import csrf_of
from tests.test_email_channel import (
    AUTHSERV,
    HOST,
    SUPPORT,
    Mail,
    acknowledgement,
    message,
    number_below_a_billion,
    smtp_intake,
)
from workflows.registry import ALL_WORKFLOWS

GLOBAL_CAP = 5
CONFIRM_LINK = re.compile(r"https?://[^\s<>()]+/confirmar/[0-9]+\.[a-z2-7]+")
MALLORY = "mallory@evil.example"


# --- Pure: what our receiving server verified, and the P1 rule ----------------------------


def headers(*lines: str) -> bytes:
    return ("\r\n".join([*lines, "From: ana@andina.com.co", "Subject: x", "", "hola", ""])).encode()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (headers(f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from=andina.com.co"),
         SenderCheck.PASS),
        (headers(f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=andina.com.co"),
         SenderCheck.PASS),
        (headers(f"Authentication-Results: {AUTHSERV}; spf=pass smtp.mailfrom=x@andina.com.co"),
         SenderCheck.PASS),
        # Not aligned with the From domain: proves nothing about Ana.
        (headers(f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=evil.example"),
         SenderCheck.NONE),
        (headers(f"Authentication-Results: {AUTHSERV}; spf=pass smtp.mailfrom={MALLORY}"),
         SenderCheck.NONE),
        (headers(f"Authentication-Results: {AUTHSERV}; spf=fail smtp.mailfrom={MALLORY}; "
                 "dmarc=fail header.from=andina.com.co"), SenderCheck.FAIL),
        # Another server's results, or ours below the first Received line (came with the
        # message, so the sender may have written them): not believed.
        (headers("Authentication-Results: mx.otro.com; dmarc=pass header.from=andina.com.co"),
         SenderCheck.NONE),
        (headers("Received: from evil.example by mx.pruebas.btw.com.co",
                 f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from=andina.com.co"),
         SenderCheck.NONE),
        (headers(), SenderCheck.NONE),
    ],
)  # fmt: skip
def test_only_our_receiving_servers_results_count(raw: bytes, expected: SenderCheck) -> None:
    assert sender_check(raw, AUTHSERV, "ana@andina.com.co") is expected


def test_no_trusted_server_configured_trusts_no_results() -> None:
    raw = headers(f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from=andina.com.co")
    assert sender_check(raw, None, "ana@andina.com.co") is SenderCheck.NONE


@pytest.mark.parametrize(
    ("suggested", "system", "expected"),
    [
        (Priority.P1, Priority.P3, StartingPriority(Priority.P2, to_verify=True)),
        (Priority.P1, Priority.P2, StartingPriority(Priority.P2, to_verify=True)),
        (Priority.P1, Priority.P1, StartingPriority(Priority.P1)),
        (Priority.P2, Priority.P1, StartingPriority(Priority.P2)),
        (None, Priority.P1, StartingPriority(Priority.P1)),
        (Priority.P3, Priority.P2, StartingPriority(Priority.P3)),
    ],
)
def test_the_p1_rule(
    suggested: Priority | None, system: Priority, expected: StartingPriority
) -> None:
    assert starting_priority(Kind.SUPPORT, suggested, system) == expected


# --- The running system -------------------------------------------------------------------


@pytest.fixture(scope="module", params=backends())
async def trust(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Mail]:
    data_dir: Path = tmp_path_factory.mktemp(f"trust-{request.param}")
    with database(request.param, data_dir) as url:
        await number_below_a_billion(url)
        settings = api_settings(data_dir, url, dev_env).model_copy(
            update={"trusted_authserv_id": AUTHSERV, "auto_reply_global_cap_per_hour": GLOBAL_CAP}
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://soporte.test") as http,
                Worker(
                    dev_env.client,
                    task_queue=settings.task_queue,
                    workflows=ALL_WORKFLOWS,
                    activities=build_activities(settings),
                ),
            ):
                api = Api(http=http, settings=settings)
                nit = await api.client("900123456", "Ferretería Andina")
                contact = await api.contact(nit, "ana@andina.com.co", "Ana")
                for colleague in ("jefe", "contadora", "bodega", "retirado"):
                    await api.contact(nit, f"{colleague}@andina.com.co", colleague.title())
                await api.ok(
                    "PATCH", "/api/v1/contacts/retirado@andina.com.co", json={"active": False},
                    headers=ADMIN,
                )  # fmt: skip
                other_nit = await api.client("800197268", "Lácteos del Valle")
                await api.contact(other_nit, "ben@lacteos.com.co", "Ben")
                await api.staff("ingrid@btw.com.co", ["engineer"], "Ingrid")
                async with smtp_intake(api, url, dev_env.client, nit, other_nit, contact) as mail:
                    yield mail


@pytest.fixture
def mail(trust: Mail) -> Mail:
    """Each test starts a fresh hour for the automatic-reply caps (the clock moves)."""
    trust.clock.now += timedelta(hours=2)
    return trust


def texts(found: EmailMessage) -> str:
    body = found.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def mails_saying(mail: Mail, words: str, count: int = 1) -> list[EmailMessage]:
    async def probe() -> list[EmailMessage]:
        return [m for m in mail.outbox() if words in texts(m)]

    return await eventually(probe, lambda found: len(found) >= count)


def recipients(found: list[EmailMessage]) -> set[str]:
    return {a.strip().lower() for m in found for a in str(m["To"]).split(",")}


async def open_verified(mail: Mail, subject: str, body: str) -> tuple[int, str]:
    raw, message_id = message(subject, f"{body}\n\nImpacto: no podemos facturar\n")
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "ticket_opened" and row.number is not None
    return row.number, message_id


async def ticket(mail: Mail, number: int) -> dict[str, Any]:
    found: dict[str, Any] = await mail.api.ok("GET", f"/api/v1/tickets/{number}", headers=ADMIN)
    return found


async def log_types(mail: Mail, number: int, headers: dict[str, str] = ADMIN) -> list[str]:
    lines = await mail.api.ok("GET", f"/api/v1/tickets/{number}/log", headers=headers)
    return [line["type"] for line in lines]


# --- notify: only contacts of the ticket's client ----------------------------------------


async def test_notify_accepts_only_active_contacts_of_the_same_client(mail: Mail) -> None:
    api = mail.api
    fine = await api.open_ticket(mail.contact, notify=["jefe@andina.com.co"])
    assert fine["notify"] == ["jefe@andina.com.co"]
    engineer = await api.token("ingrid@btw.com.co")
    for caller, extra in ((mail.contact, {}), (engineer, {"reporter_email": "ana@andina.com.co"})):
        for stranger in ("ben@lacteos.com.co", "victim@external.example", "retirado@andina.com.co"):
            body = {
                "kind": "support",
                "category": "facturacion",
                "subject": "visite http://phish.example",
                "description": "x",
                "notify": ["jefe@andina.com.co", stranger],
                **extra,
            }
            refused = await api.http.post("/api/v1/tickets", json=body, headers=caller)
            assert refused.status_code == 422, refused.text
            assert stranger in refused.json()["detail"] and "notify" in refused.json()["detail"]
    async with mail.sessions() as session:
        phishing = await session.scalar(
            select(func.count()).select_from(TicketIntake).where(TicketIntake.nit == mail.nit)
        )
    assert phishing == 1  # only the ticket with a colleague was stored
    assert not mail.outbox("victim@external.example") and not mail.outbox("ben@lacteos.com.co")


async def test_cc_strangers_of_a_mail_are_not_informed(mail: Mail) -> None:
    raw, message_id = message(
        "Error al facturar",
        "Impacto: alto\nNo sale la factura.",
        headers={"Cc": "jefe@andina.com.co, ben@lacteos.com.co, victim@external.example"},
    )
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.number is not None
    assert (await ticket(mail, row.number))["notify"] == ["jefe@andina.com.co"]
    ack = await acknowledgement(mail, message_id)
    assert recipients([ack]) == {"ana@andina.com.co", "jefe@andina.com.co"}


async def test_a_contact_deactivated_or_moved_gets_no_further_mail(mail: Mail) -> None:
    api = mail.api
    opened = await api.open_ticket(
        mail.contact, notify=["contadora@andina.com.co", "bodega@andina.com.co"]
    )
    number = opened["number"]
    informed = {"contadora@andina.com.co", "bodega@andina.com.co"}

    async def about_it() -> list[EmailMessage]:
        return [m for m in mail.outbox() if m["X-Soporte-Ticket"] == str(number)]

    await eventually(about_it, lambda found: informed <= recipients(found))
    await api.ok(
        "PATCH", "/api/v1/contacts/contadora@andina.com.co", json={"active": False}, headers=ADMIN
    )
    async with mail.sessions() as session:  # bodega moves to another client
        await session.execute(
            update(Contact)
            .where(Contact.email == "bodega@andina.com.co")
            .values(client_nit=mail.other_nit)
        )
        await session.commit()
    engineer = await api.token("ingrid@btw.com.co")
    reply = f"Respuesta solo para Andina {number}"
    await api.ok(
        "POST", f"/api/v1/tickets/{number}/messages", json={"body": reply}, headers=engineer
    )
    sent = await mails_saying(mail, reply)
    assert recipients(sent) == {"ana@andina.com.co"}
    async with mail.sessions() as session:  # restore for the other tests
        await session.execute(
            update(Contact)
            .where(Contact.email.in_(["bodega@andina.com.co", "contadora@andina.com.co"]))
            .values(client_nit=mail.nit, active=True)
        )
        await session.commit()


# --- Forged senders over SMTP -------------------------------------------------------------


async def waiting_ticket(mail: Mail) -> tuple[int, str, EmailMessage]:
    number, opening_id = await open_verified(mail, "No puedo facturar", "Sale un error.")
    ack = await acknowledgement(mail, opening_id)
    engineer = await mail.api.token("ingrid@btw.com.co")
    await mail.api.ok(
        "POST",
        f"/api/v1/tickets/{number}/request-info",
        json={"body": "¿Qué prefijo usan?"},
        headers=engineer,
    )
    await eventually(lambda: ticket(mail, number), lambda t: t["status"] == "waiting_on_client")
    return number, opening_id, ack


async def test_a_forged_from_changes_nothing_and_the_contact_is_told(mail: Mail) -> None:
    number, _, _ = await waiting_ticket(mail)
    forged, forged_id = message(
        f"RE: [#{number}] No puedo facturar",
        "Ya quedó, cierren el caso. Visite http://phish.example",
        verified=False,
    )
    await asyncio.to_thread(_send_as, mail.port, MALLORY, forged)
    row = await mail.inbound(forged_id)
    assert row is not None and (row.outcome, row.number) == ("unverified", number)
    types = await eventually(
        lambda: log_types(mail, number), lambda found: "unverified_message" in found
    )
    assert "client_message" not in types and "sla_resumed" not in types
    shown = await ticket(mail, number)
    assert shown["status"] == "waiting_on_client" and shown["sla"]["paused"]
    assert "unverified_message" not in await log_types(mail, number, mail.contact)
    [notice] = await mails_saying(mail, "no pudimos verificar")
    assert recipients([notice]) == {"ana@andina.com.co"}
    assert "phish" not in texts(notice) and "phish" not in str(notice["Subject"])
    async with mail.sessions() as session:
        kept = await session.scalar(select(RefusedMail).where(RefusedMail.message_id == forged_id))
    assert kept is not None and kept.raw == forged and kept.outcome == "unverified"


async def test_a_forged_reply_does_not_reopen_a_resolved_ticket(mail: Mail) -> None:
    number, _ = await open_verified(mail, "Error en el PDF", "Sale en blanco.")
    engineer = await mail.api.token("ingrid@btw.com.co")
    await mail.api.ok(
        "POST",
        f"/api/v1/tickets/{number}/resolve",
        json={"kind": "solution", "body": "Plantilla corregida"},
        headers=engineer,
    )
    forged, forged_id = message(f"RE: [#{number}] Error en el PDF", "Reabran.", verified=False)
    await asyncio.to_thread(_send_as, mail.port, MALLORY, forged)
    row = await mail.inbound(forged_id)
    assert row is not None and row.outcome == "unverified"
    await eventually(lambda: log_types(mail, number), lambda t: "unverified_message" in t)
    assert (await ticket(mail, number))["status"] == "resolved"
    assert "reopened" not in await log_types(mail, number)


async def test_an_unverified_score_to_the_rating_invitation_records_nothing(mail: Mail) -> None:
    """A rating reply is a client's act like any other (issue 14 meets issue 16): naming the
    invitation's real Message-ID is not enough when our receiving server says the sender is
    forged, and without our Message-ID a score rates nothing either."""
    number, _ = await open_verified(mail, "Error al imprimir", "No imprime.")
    engineer = await mail.api.token("ingrid@btw.com.co")
    await mail.api.ok(
        "POST",
        f"/api/v1/tickets/{number}/resolve",
        json={"kind": "solution", "body": "Controlador actualizado"},
        headers=engineer,
    )

    async def invitation() -> list[EmailMessage]:
        return [
            m
            for m in mail.outbox("ana@andina.com.co")
            if m["X-Soporte-Ticket"] == str(number) and "de 1 a 5" in texts(m)
        ]

    [invited] = await eventually(invitation, lambda found: len(found) == 1)
    failed = (
        f"Authentication-Results: {AUTHSERV}; dmarc=fail header.from=andina.com.co\r\n"
    ).encode()
    forged, forged_id = message(
        f"RE: {invited['Subject']}",
        "1, pésima atención",
        verified=False,
        headers={"In-Reply-To": str(invited["Message-ID"]).strip()},
    )
    await asyncio.to_thread(_send_as, mail.port, MALLORY, failed + forged)
    guessed, guessed_id = message(
        f"RE: [#{number}] ¿Cómo fue nuestra atención?", "1, pésima", verified=False
    )
    await asyncio.to_thread(_send_as, mail.port, MALLORY, guessed)
    for message_id in (forged_id, guessed_id):
        row = await mail.inbound(message_id)
        assert row is not None and (row.outcome, row.number) == ("unverified", number)
    await eventually(
        lambda: log_types(mail, number),
        lambda types: types.count("unverified_message") == 2,
    )
    shown = await mail.api.ok("GET", f"/api/v1/tickets/{number}", headers=engineer)
    assert shown["status"] == "resolved" and shown["rating"] is None
    assert "rated" not in await log_types(mail, number)


async def test_a_guessed_in_reply_to_does_not_thread_a_real_one_does(mail: Mail) -> None:
    number, _, ack = await waiting_ticket(mail)
    for guess in (
        f"<ticket-{number}.x@soporte.btw.com.co>",
        f"<ticket-{number}@soporte.btw.com.co>",
    ):
        raw, guessed_id = message(
            "RE: No puedo facturar", "Listo.", verified=False, headers={"In-Reply-To": guess}
        )
        await asyncio.to_thread(_send_as, mail.port, MALLORY, raw)
        row = await mail.inbound(guessed_id)
        assert row is not None and (row.outcome, row.number) == ("pending", None), guess
    assert (await ticket(mail, number))["status"] == "waiting_on_client"

    # The contact's real reply to our acknowledgement, with no verification at all, acts.
    real, real_id = message(
        "RE: No puedo facturar",
        "El prefijo es FE.",
        verified=False,
        headers={"In-Reply-To": str(ack["Message-ID"]).strip()},
    )
    await mail.send(real)
    row = await mail.inbound(real_id)
    assert row is not None and (row.outcome, row.number) == ("message_added", number)
    await eventually(lambda: ticket(mail, number), lambda t: t["status"] != "waiting_on_client")


async def test_twenty_forged_unknown_senders_get_at_most_the_global_cap(mail: Mail) -> None:
    senders = [f"persona{i}@tercero{i}.example" for i in range(20)]
    for sender in senders:
        raw, _ = message("Ayuda", "Hola.", sender=sender, verified=False)
        await asyncio.to_thread(_send_as, mail.port, sender, raw)
    answered = [m for m in mail.outbox() if recipients([m]) & set(senders)]
    assert len(answered) == GLOBAL_CAP
    async with mail.sessions() as session:
        refused = await session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(InboundMail.from_address.in_(senders), InboundMail.outcome == "refused")
        )
    assert refused == 20  # every one kept and recorded, only the answers are capped


async def test_no_auto_reply_to_a_sender_our_server_says_is_forged(mail: Mail) -> None:
    victim = "alguien@banco.example"
    raw, message_id = message("Ayuda", "Hola.", sender=victim, verified=False)
    failed = (
        f"Authentication-Results: {AUTHSERV}; spf=fail smtp.mailfrom={victim}; "
        "dmarc=fail header.from=banco.example\r\n"
    ).encode()
    await asyncio.to_thread(_send_as, mail.port, victim, failed + raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "refused"
    assert not mail.outbox(victim)


# --- New requests: verified opens, unverified waits for confirmation -----------------------


async def test_a_verified_sender_opens_a_ticket_as_before(mail: Mail) -> None:
    number, opening_id = await open_verified(mail, "Verificado", "Sale un error.")
    await acknowledgement(mail, opening_id)
    assert (await ticket(mail, number))["channel"] == "email"


async def test_an_unverified_new_request_waits_until_the_contact_confirms(mail: Mail) -> None:
    raw, message_id = message(
        "Nómina no liquida", "Impacto: alto\nNo liquida la nómina.", verified=False
    )
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and (row.outcome, row.number) == ("pending", None)
    async with mail.sessions() as session:
        opened = await session.scalar(
            select(func.count())
            .select_from(TicketIntake)
            .where(TicketIntake.idempotency_key == f"email:{message_id}")
        )
    assert opened == 0  # no ticket, no clock
    [ask] = [m for m in mail.outbox("ana@andina.com.co") if m["In-Reply-To"] == message_id]
    link = CONFIRM_LINK.search(texts(ask))
    assert link is not None and "/api/" not in texts(ask)  # a portal page, like every link
    path = httpx.URL(link.group(0)).path
    page = await mail.api.http.get(path)
    assert page.status_code == 200 and "<form" in page.text  # a GET confirms nothing
    assert '<html lang="es-CO">' in page.text and "Confirmar mi solicitud" in page.text
    assert "Content-Security-Policy" in page.headers
    assert (await mail.inbound(message_id)).outcome == "pending"  # type: ignore[union-attr]

    no_csrf = await mail.api.http.post(path)
    assert no_csrf.status_code == 403 and "Formulario vencido" in no_csrf.text
    assert (await mail.inbound(message_id)).outcome == "pending"  # type: ignore[union-attr]
    csrf = {"csrf": csrf_of(page.text)}
    forged = await mail.api.http.post(path[:-3] + "aaa", data=csrf)
    assert forged.status_code == 404 and "no es válido" in forged.text
    confirmed = await mail.api.http.post(path, data=csrf)
    assert confirmed.status_code == 200, confirmed.text
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "ticket_opened" and row.number is not None
    assert f"Registramos su solicitud #{row.number}" in confirmed.text
    assert f'href="/solicitudes/{row.number}"' in confirmed.text
    again = await mail.api.http.post(path, data=csrf)
    assert again.status_code == 200 and f"#{row.number}" in again.text
    shown = await ticket(mail, row.number)
    assert shown["reporter_email"] == "ana@andina.com.co" and shown["channel"] == "email"
    number = str(row.number)

    async def ack() -> list[EmailMessage]:  # the request for confirmation answers it too
        return [
            m
            for m in mail.outbox("ana@andina.com.co")
            if m["In-Reply-To"] == message_id and m["X-Soporte-Ticket"] == number
        ]

    [acknowledged] = await eventually(ack, lambda found: len(found) == 1)
    assert "Registramos su solicitud" in texts(acknowledged)


async def test_the_old_api_link_leads_to_the_portal_page(mail: Mail) -> None:
    """Mail sent before the page linked `/api/v1/confirm/<token>`: it still works, on the
    page (its button and CSRF are the only door that confirms)."""
    raw, message_id = message("Enlace viejo", "Impacto: bajo\nUn correo viejo.", verified=False)
    await mail.send(raw)
    [ask] = [m for m in mail.outbox("ana@andina.com.co") if m["In-Reply-To"] == message_id]
    link = CONFIRM_LINK.search(texts(ask))
    assert link is not None
    token = link.group(0).rsplit("/", 1)[1]
    for method in ("GET", "POST"):
        old = await mail.api.http.request(method, f"/api/v1/confirm/{token}")
        assert old.status_code == 303 and old.headers["location"] == f"/confirmar/{token}"
    assert (await mail.inbound(message_id)).outcome == "pending"  # type: ignore[union-attr]
    page = await mail.api.http.get(f"/confirmar/{token}")
    confirmed = await mail.api.http.post(
        f"/confirmar/{token}", data={"csrf": csrf_of(page.text)}
    )
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "ticket_opened"
    assert f"#{row.number}" in confirmed.text
    bad = await mail.api.http.get("/api/v1/confirm/no-es-un-token")
    assert bad.status_code == 303
    assert (await mail.api.http.get(bad.headers["location"])).status_code == 404


async def test_a_contact_deactivated_since_cannot_confirm(mail: Mail) -> None:
    raw, message_id = message("Ya no soy contacto", "Impacto: bajo\nx", verified=False)
    await mail.send(raw)
    [ask] = [m for m in mail.outbox("ana@andina.com.co") if m["In-Reply-To"] == message_id]
    link = CONFIRM_LINK.search(texts(ask))
    assert link is not None
    path = httpx.URL(link.group(0)).path
    page = await mail.api.http.get(path)
    await _set_active(mail, "ana@andina.com.co", False)
    try:
        refused = await mail.api.http.post(path, data={"csrf": csrf_of(page.text)})
    finally:
        await _set_active(mail, "ana@andina.com.co", True)
    assert refused.status_code == 409 and "ya no está registrada" in refused.text
    assert (await mail.inbound(message_id)).outcome == "pending"  # type: ignore[union-attr]


async def _set_active(mail: Mail, email: str, active: bool) -> None:
    async with mail.sessions() as session:
        await session.execute(update(Contact).where(Contact.email == email).values(active=active))
        await session.commit()


async def test_staff_confirm_a_held_request(mail: Mail) -> None:
    raw, message_id = message("Por teléfono confirmó", "Impacto: medio\nx", verified=False)
    await mail.send(raw)
    engineer = await mail.api.token("ingrid@btw.com.co")
    held = await mail.api.ok("GET", "/api/v1/inbound-email/pending", headers=engineer)
    [mine] = [item for item in held if item["subject"] == "Por teléfono confirmó"]
    refused = await mail.api.http.post(
        f"/api/v1/inbound-email/pending/{mine['id']}/confirm", headers=mail.contact
    )
    assert refused.status_code == 403
    done = await mail.api.ok(
        "POST", f"/api/v1/inbound-email/pending/{mine['id']}/confirm", headers=engineer
    )
    assert done["outcome"] == "ticket_opened" and done["number"]
    held = await mail.api.ok("GET", "/api/v1/inbound-email/pending", headers=engineer)
    assert mine["id"] not in [item["id"] for item in held]
    row = await mail.inbound(message_id)
    assert row is not None and row.number == done["number"]


# --- The P1 rule on every channel ---------------------------------------------------------


async def test_a_suggested_p1_needs_the_systems_agreement_on_every_channel(mail: Mail) -> None:
    api = mail.api
    engineer = await api.token("ingrid@btw.com.co")
    web = await api.open_ticket(mail.contact, suggested_priority="P1")
    phone = await api.open_ticket(
        engineer, suggested_priority="P1", reporter_email="ana@andina.com.co", channel="phone"
    )
    by_mail, _ = await open_verified(mail, "Urgente", "Prioridad sugerida: P1\nNo factura.")
    agreed = await api.open_ticket(
        mail.contact,
        suggested_priority="P1",
        description="Caída del sistema: varios clientes no pueden emitir facturas.",
    )
    assert agreed["priority"] == "P1"
    for number in (web["number"], phone["number"], by_mail):
        shown = await ticket(mail, number)
        assert (shown["priority"], shown["suggested_priority"]) == ("P2", "P1"), shown
        [line] = [e for e in await mail.log(number) if e["type"] == "priority_to_verify"]
        assert line["visibility"] == "internal" and line["data"]["verify_by"]
        assert "priority_to_verify" not in await log_types(mail, number, mail.contact)
    assert "priority_to_verify" not in await log_types(mail, agreed["number"])
    raised = await api.ok(
        "POST",
        f"/api/v1/tickets/{web['number']}/priority",
        json={"priority": "P1", "reason": "tres clientes reportan lo mismo"},
        headers=engineer,
    )
    assert raised["priority"] == "P1"


# --- helpers ---------------------------------------------------------------------------------


def _send_as(port: int, envelope_from: str, raw: bytes) -> None:
    import smtplib

    with smtplib.SMTP(HOST, port, timeout=30) as client:
        assert client.sendmail(envelope_from, [SUPPORT], raw) == {}


async def test_our_automatic_reply_coming_back_is_never_answered(mail: Mail) -> None:
    """A loop guard: an automatic reply's Message-ID (`<auto.…@soporte…>`) is ours too."""
    stranger = "eco@rebote.example"
    raw, first_id = message("Hola", "¿Hay alguien?", sender=stranger, verified=False)
    await asyncio.to_thread(_send_as, mail.port, stranger, raw)
    [reply] = [m for m in mail.outbox(stranger) if m["In-Reply-To"] == first_id]
    echoed, _ = message(
        "Re: No pudimos registrar", "eco", sender=stranger, verified=False,
        message_id=str(reply["Message-ID"]).strip(),
    )  # fmt: skip
    await asyncio.to_thread(_send_as, mail.port, stranger, echoed)
    row = await mail.inbound(str(reply["Message-ID"]).strip())
    assert row is not None and row.outcome == "ignored"
    assert len(mail.outbox(stranger)) == 1
