"""The email channel end to end: real SMTP sessions (smtplib) to `serve_smtp` on a free port,
the app's real database (SQLite; PostgreSQL too with SOPORTE_TEST_POSTGRES_URL), the dev
server and a real worker; and `POST /api/v1/inbound-email` doing the same for one message.
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import random
import signal
import smtplib
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP as SMTP_POLICY
from email.policy import default as default_policy
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine as sync_create_engine
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client as TemporalClient
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api.main import create_app
from soporte.db.mail_models import AutoReply, InboundMail, RefusedMail
from soporte.db.migrate import run_migrations
from soporte.db.models import Base, Ticket, TicketIntake
from soporte.db.session import create_engine, create_sessionmaker
from soporte.email.parse import ticket_number_in
from soporte.email.smtp_server import MAX_MESSAGE_BYTES, serve_smtp
from soporte.services.attachments import blob_path
from soporte.services.email_intake import EmailIntake
from soporte.services.errors import Unavailable
from soporte.settings import Settings
from tests.api_support import ADMIN, Api, api_settings, backends, database, eventually
from workflows.registry import ALL_WORKFLOWS

HOST = "127.0.0.1"
AUTHSERV = "mx.pruebas.btw.com.co"
SUPPORT = "soporte@btw.com.co"
MAIL_TABLES = ("inbound_mail", "refused_mail", "auto_replies")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Clock:
    """The intake's clock: tests move it instead of waiting for the hourly cap."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Mail:
    api: Api
    settings: Settings
    port: int
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    nit: str
    other_nit: str
    contact: dict[str, str]

    async def send(self, raw: bytes, sender: str = "ana@andina.com.co") -> None:
        """One real SMTP session; returns once the server said 250 (raises otherwise)."""
        await asyncio.to_thread(smtp_send, self.port, sender, raw)

    async def inbound(self, message_id: str) -> InboundMail | None:
        async with self.sessions() as session:
            return await session.get(InboundMail, message_id)

    def outbox(self, to: str | None = None) -> list[EmailMessage]:
        """Messages written to the Maildir outbox (optionally: only those to `to`)."""
        path = self.settings.outbox_dir
        if not all((path / part).is_dir() for part in ("tmp", "new", "cur")):
            return []  # not yet, or the worker is creating it right now
        found = []
        box = mailbox.Maildir(str(path), create=False)
        for key in box.iterkeys():
            raw = box.get_bytes(key)
            message = BytesParser(policy=default_policy).parsebytes(raw)
            assert isinstance(message, EmailMessage)
            if to is None or to in str(message["To"]).lower():
                found.append(message)
        return found

    async def log(self, number: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.api.ok(
            "GET", f"/api/v1/tickets/{number}/log", headers=ADMIN
        )
        return result

    async def client_messages(self, number: int, *bodies: str) -> list[dict[str, Any]]:
        """The ticket's client messages, once every body in `bodies` is among them."""
        lines = await eventually(
            lambda: self.log(number),
            lambda log: all(
                any(b in line["body"] for line in log if line["type"] == "client_message")
                for b in bodies
            ),
        )
        return [line for line in lines if line["type"] == "client_message"]


def smtp_send(port: int, sender: str, raw: bytes) -> None:
    with smtplib.SMTP(HOST, port, timeout=30) as client:
        refused = client.sendmail(sender, [SUPPORT], raw)
    assert refused == {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


async def wait_for_port(port: int, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on {port}")


def message(
    subject: str,
    body: str,
    *,
    sender: str = "Ana <ana@andina.com.co>",
    message_id: str | None = None,
    pdf: bool = False,
    program: bool = False,
    headers: dict[str, str] | None = None,
    verified: bool = True,
) -> tuple[bytes, str]:
    """A client's message; `verified`: our receiving server vouches for its sender (the
    Authentication-Results a real MX adds), as it does for a contact writing from its own
    mail server. Tests of unverified senders are in tests/test_sender_trust.py."""
    mail = EmailMessage()
    if verified:
        domain = parseaddr(sender)[1].rpartition("@")[2]
        mail["Authentication-Results"] = f"{AUTHSERV}; dmarc=pass header.from={domain}"
    mail["From"] = sender
    mail["To"] = SUPPORT
    mail["Subject"] = subject
    mail["Message-ID"] = message_id or make_msgid(domain="andina.com.co")
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    if pdf:
        mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="error.pdf")
    if program:
        mail.add_attachment(
            b"MZ\x90\x00", maintype="application", subtype="x-msdownload", filename="arreglo.exe"
        )
    return mail.as_bytes(policy=SMTP_POLICY), str(mail["Message-ID"])


@asynccontextmanager
async def smtp_intake(
    api: Api,
    url: str,
    temporal_client: TemporalClient,
    nit: str,
    other_nit: str,
    contact: dict[str, str],
) -> AsyncIterator[Mail]:
    """The email intake behind a real SMTP listener on a free port (the Mail fixtures')."""
    settings = api.settings
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    clock = Clock()

    async def temporal() -> TemporalClient:
        return temporal_client

    intake = EmailIntake(settings, sessions, temporal, auto_reply_cap=1, clock=clock)
    port = free_port()

    async def deliver(raw: bytes, envelope_from: str) -> None:
        await intake.receive(raw, envelope_from)

    server = asyncio.create_task(serve_smtp(HOST, port, deliver, [SUPPORT]))
    try:
        await wait_for_port(port)
        yield Mail(api, settings, port, clock, sessions, nit, other_nit, contact)
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
        await engine.dispose()


@pytest.fixture(scope="module", params=backends())
async def mail(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Mail]:
    data_dir: Path = tmp_path_factory.mktemp(f"mail-{request.param}")
    with database(request.param, data_dir) as url:
        await number_below_a_billion(url)
        settings = api_settings(data_dir, url, dev_env).model_copy(
            update={"trusted_authserv_id": AUTHSERV}
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
                await api.contact(nit, "jefe@andina.com.co", "Jefe")
                other_nit = await api.client("800197268", "Lácteos del Valle")
                await api.contact(other_nit, "luis@lacteos.com.co", "Luis")
                await api.staff("ingrid@btw.com.co", ["engineer"], "Ingrid")
                async with smtp_intake(api, url, dev_env.client, nit, other_nit, contact) as mail:
                    yield mail


async def number_below_a_billion(url: str) -> None:
    """Ticket numbers of at most 9 digits, as mail subjects and our Message-IDs carry them
    (tests.api_support numbers each database from a random block that may reach 10 digits)."""
    start = random.randint(1, 900_000) * 1000
    engine = create_engine(url)
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.execute(
                text("UPDATE sqlite_sequence SET seq = :start WHERE name = 'ticket_intake'"),
                {"start": start},
            )
        else:
            await connection.execute(
                text(f"ALTER SEQUENCE ticket_intake_number_seq RESTART WITH {start + 1}")
            )
    await engine.dispose()


async def open_by_email(mail: Mail, subject: str = "No puedo facturar") -> tuple[int, str]:
    raw, message_id = message(
        subject,
        "Al emitir la factura electrónica sale un error.\n\nImpacto: no podemos facturar\n",
    )
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "ticket_opened" and row.number is not None
    return row.number, message_id


async def acknowledgement(mail: Mail, in_reply_to: str) -> EmailMessage:
    async def probe() -> list[EmailMessage]:
        return [m for m in mail.outbox() if m["In-Reply-To"] == in_reply_to]

    found = await eventually(probe, lambda messages: len(messages) == 1)
    return found[0]


# --- The schema ---------------------------------------------------------------------------


def test_migrations_create_the_mail_tables(tmp_path: Path) -> None:
    run_migrations(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    with sqlite3.connect(tmp_path / "fresh.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        columns = {row[1] for row in connection.execute("PRAGMA table_info(refused_mail)")}
    assert {"inbound_mail", "refused_mail", "auto_replies"} <= tables
    assert {"message_id", "from_address", "subject", "reason", "raw", "received_at"} <= columns

    # The migration and the models agree on every column, type and index of these tables.
    engine = sync_create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert [d for d in diffs if any(t in repr(d) for t in MAIL_TABLES)] == []


# --- Opening and threading ------------------------------------------------------------------


async def test_a_new_ticket_by_email_with_a_pdf(mail: Mail) -> None:
    raw, message_id = message(
        "La factura electrónica no sale",
        "Cordial saludo,\n\nAl emitir la factura FE-100 sale un error de la DIAN.\n\n"
        "Impacto: no podemos facturar a nuestros clientes\n"
        "Prioridad sugerida: P2\n",
        pdf=True,
        headers={"Cc": "jefe@andina.com.co"},
    )
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "ticket_opened", row
    number = row.number
    assert number is not None
    async with mail.sessions() as session:  # the stored input is the one the workflow got
        intake = await session.get(TicketIntake, number)
    assert intake is not None and intake.input is not None
    assert intake.input["source_message_id"] == message_id
    assert [a["filename"] for a in intake.input["attachments"]] == ["error.pdf"]

    ticket = await mail.api.ok("GET", f"/api/v1/tickets/{number}", headers=ADMIN)
    assert ticket["channel"] == "email"
    assert ticket["reporter_email"] == "ana@andina.com.co"
    assert ticket["nit"] == mail.nit
    assert ticket["subject"] == "La factura electrónica no sale"
    assert "FE-100" in ticket["description"]
    assert ticket["business_impact"] == "no podemos facturar a nuestros clientes"
    assert ticket["priority"] == "P2"
    assert ticket["notify"] == ["jefe@andina.com.co"]
    assert "business_impact" not in ticket["missing_info"]

    files = await mail.api.ok("GET", f"/api/v1/tickets/{number}/attachments", headers=ADMIN)
    assert [(f["filename"], f["content_type"]) for f in files] == [("error.pdf", "application/pdf")]
    assert blob_path(mail.settings, files[0]["sha256"]).read_bytes() == PDF

    ack = await acknowledgement(mail, message_id)
    assert "ana@andina.com.co" in str(ack["To"])
    assert ticket_number_in(str(ack["Subject"])) == number
    assert ack["Auto-Submitted"] == "auto-generated"


async def test_missing_impact_is_listed_for_the_acknowledgement(mail: Mail) -> None:
    raw, message_id = message("Error en informe", "El informe de cartera no carga.")
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.number is not None
    ticket = await mail.api.ok("GET", f"/api/v1/tickets/{row.number}", headers=ADMIN)
    assert "business_impact" in ticket["missing_info"]
    assert "business_impact" in row.reason
    await acknowledgement(mail, message_id)


async def test_the_acknowledgement_lists_the_attachments_not_kept(mail: Mail) -> None:
    raw, message_id = message(
        "No abre el módulo de nómina",
        "Adjunto la captura y el programa que nos enviaron.\nImpacto: no podemos liquidar",
        pdf=True,
        program=True,
    )
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.number is not None
    files = await mail.api.ok("GET", f"/api/v1/tickets/{row.number}/attachments", headers=ADMIN)
    assert [f["filename"] for f in files] == ["error.pdf"]
    ack = await acknowledgement(mail, message_id)
    text = ack.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "No pudimos conservar estos adjuntos" in content
    assert "arreglo.exe" in content and "tipo no permitido" in content
    assert "error.pdf" not in content


async def test_replies_by_subject_and_by_headers_reach_the_ticket(mail: Mail) -> None:
    number, opening_id = await open_by_email(mail)
    ack = await acknowledgement(mail, opening_id)

    by_subject, subject_id = message(f"RE: [#{number}] No puedo facturar", "Adjunto el detalle.")
    await mail.send(by_subject)
    by_headers, headers_id = message(
        "RE: No puedo facturar",
        "Listo: el prefijo es FE.\n\nEl lun., Ana escribió:\n> texto anterior\n",
        headers={"In-Reply-To": str(ack["Message-ID"]), "References": str(ack["Message-ID"])},
    )
    await mail.send(by_headers)

    for message_id in (subject_id, headers_id):
        row = await mail.inbound(message_id)
        assert row is not None and (row.outcome, row.number) == ("message_added", number)
    lines = await mail.client_messages(number, "Adjunto el detalle.", "el prefijo es FE.")
    assert all(line["channel"] == "email" for line in lines)
    assert all(line["actor"] == "ana@andina.com.co" for line in lines)
    assert {line["data"]["message_id"] for line in lines} == {subject_id, headers_id}
    assert not any("texto anterior" in line["body"] for line in lines)


async def test_a_reply_with_a_pdf_is_stored_as_evidence(mail: Mail) -> None:
    number, _ = await open_by_email(mail)
    raw, _ = message(f"Re: [#{number}] evidencia", "Va la captura en PDF.", pdf=True)
    await mail.send(raw)
    lines = await mail.client_messages(number, "Va la captura")
    assert lines[0]["data"]["attachments"][0]["filename"] == "error.pdf"
    files = await mail.api.ok("GET", f"/api/v1/tickets/{number}/attachments", headers=ADMIN)
    assert [f["filename"] for f in files] == ["error.pdf"]


async def test_a_reply_with_an_attachment_not_kept_tells_its_sender(mail: Mail) -> None:
    number, _ = await open_by_email(mail)
    raw, reply_id = message(f"Re: [#{number}] el programa", "Les envío el programa.", program=True)
    await mail.send(raw)
    lines = await mail.client_messages(number, "Les envío el programa.")
    [refused] = lines[0]["data"]["refused_attachments"]
    assert refused.startswith("arreglo.exe: tipo no permitido")

    async def probe() -> list[EmailMessage]:
        return [m for m in mail.outbox() if m["In-Reply-To"] == reply_id]

    notice = (await eventually(probe, lambda found: len(found) == 1))[0]
    assert "ana@andina.com.co" in str(notice["To"])
    assert f"[#{number}]" in str(notice["Subject"])
    text = notice.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "no pudimos conservar estos adjuntos" in content
    assert refused in content


async def test_the_same_message_id_twice_is_one_ticket(mail: Mail) -> None:
    raw, message_id = message("Duplicado", "Impacto: ninguno\nUn solo ticket, por favor.")
    await asyncio.gather(mail.send(raw), mail.send(raw))
    await mail.send(raw)
    async with mail.sessions() as session:
        opened = await session.scalar(
            select(func.count())
            .select_from(TicketIntake)
            .where(TicketIntake.idempotency_key == f"email:{message_id}")
        )
        rows = await session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(InboundMail.message_id == message_id)
        )
    assert (opened, rows) == (1, 1)
    await acknowledgement(mail, message_id)  # exactly one acknowledgement


async def test_a_repeated_reply_is_one_client_message(mail: Mail) -> None:
    number, _ = await open_by_email(mail)
    raw, _ = message(f"Re: [#{number}]", "Una sola vez.")
    await mail.send(raw)
    await mail.send(raw)
    lines = await mail.client_messages(number, "Una sola vez.")
    assert len(lines) == 1


# --- Who may write ----------------------------------------------------------------------


async def test_an_unknown_sender_is_refused_with_one_capped_auto_reply(mail: Mail) -> None:
    stranger = "pedro@desconocido.com"
    first, first_id = message("Ayuda", "Necesito soporte.", sender=f"Pedro <{stranger}>")
    second, second_id = message("Ayuda otra vez", "¿Me ayudan?", sender=stranger)
    await mail.send(first, stranger)
    await mail.send(second, stranger)

    for message_id in (first_id, second_id):
        row = await mail.inbound(message_id)
        assert row is not None and (row.outcome, row.number) == ("refused", None)
        assert "not a registered contact" in row.reason
    replies = mail.outbox(stranger)
    assert len(replies) == 1  # the cap is 1 per sender per hour here
    reply = replies[0]
    assert reply["In-Reply-To"] == first_id
    assert reply["Auto-Submitted"] == "auto-generated"
    text = reply.get_body(("plain",))
    assert text is not None
    assert "no está registrada" in text.get_content()
    async with mail.sessions() as session:
        kept = (
            await session.scalars(
                select(RefusedMail).where(RefusedMail.message_id.in_([first_id, second_id]))
            )
        ).all()
    assert {row.raw for row in kept} == {first, second}

    # An hour later the sender may be answered again (the clock moves; nobody waits).
    mail.clock.now += timedelta(hours=1, minutes=1)
    third, _ = message("Sigo esperando", "Hola.", sender=stranger)
    await mail.send(third, stranger)
    assert len(mail.outbox(stranger)) == 2


async def test_an_inactive_client_is_told_why(mail: Mail) -> None:
    nit = await mail.api.client("901458652", "Textiles Inactivos", active=False)
    await mail.api.contact(nit, "rosa@textiles.co", "Rosa")
    raw, message_id = message("Ayuda", "Impacto: alto", sender="rosa@textiles.co")
    await mail.send(raw, "rosa@textiles.co")
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "refused" and "inactive" in row.reason
    [reply] = mail.outbox("rosa@textiles.co")
    text = reply.get_body(("plain",))
    assert text is not None and "Textiles Inactivos" in text.get_content()


async def test_auto_submitted_mail_is_answered_by_nothing(mail: Mail) -> None:
    raw, message_id = message(
        "Respuesta automática: fuera de la oficina",
        "Estaré fuera hasta el lunes.",
        sender="jefe@andina.com.co",
        headers={"Auto-Submitted": "auto-replied"},
    )
    await mail.send(raw, "jefe@andina.com.co")
    row = await mail.inbound(message_id)
    assert row is not None and (row.outcome, row.number) == ("ignored", None)
    assert "auto-submitted" in row.reason
    async with mail.sessions() as session:
        replies = await session.scalar(
            select(func.count())
            .select_from(AutoReply)
            .where(AutoReply.to_address == "jefe@andina.com.co")
        )
        opened = await session.scalar(
            select(func.count())
            .select_from(TicketIntake)
            .where(TicketIntake.principal == "jefe@andina.com.co")
        )
        kept = await session.scalar(select(RefusedMail).where(RefusedMail.message_id == message_id))
    assert (replies, opened) == (0, 0)
    assert kept is not None and kept.outcome == "ignored"
    assert not [m for m in mail.outbox() if m["In-Reply-To"] == message_id]


async def test_an_automatic_reply_on_a_thread_is_not_the_clients(mail: Mail) -> None:
    number, _ = await open_by_email(mail)
    raw, message_id = message(
        f"Re: [#{number}] Fuera de la oficina",
        "No estoy.",
        headers={"Auto-Submitted": "auto-replied", "Precedence": "bulk"},
    )
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "ignored"
    async with mail.sessions() as session:
        kept = await session.scalar(select(RefusedMail).where(RefusedMail.message_id == message_id))
    assert kept is not None and kept.number == number
    marker, _ = message(f"Re: [#{number}]", "Mensaje real.")
    await mail.send(marker)
    lines = await mail.client_messages(number, "Mensaje real.")
    assert not any("No estoy." in line["body"] for line in lines)


async def test_a_stranger_replying_to_a_real_thread_adds_nothing(mail: Mail) -> None:
    number, opening_id = await open_by_email(mail)
    ack = await acknowledgement(mail, opening_id)
    stranger, stranger_id = message(
        f"RE: [#{number}] No puedo facturar", "Soy otro y cierro esto.", sender="x@otro.com"
    )
    await mail.send(stranger, "x@otro.com")
    foreign, foreign_id = message(
        "RE: No puedo facturar",
        "Luis de otra empresa opina.",
        sender="luis@lacteos.com.co",
        headers={"In-Reply-To": str(ack["Message-ID"])},
    )
    await mail.send(foreign, "luis@lacteos.com.co")
    for message_id in (stranger_id, foreign_id):
        row = await mail.inbound(message_id)
        assert row is not None and row.outcome == "refused" and row.number is None
    row = await mail.inbound(foreign_id)
    assert row is not None and f"#{number}" in row.reason
    assert len(mail.outbox("x@otro.com")) == 1
    assert len(mail.outbox("luis@lacteos.com.co")) == 1

    marker, _ = message(f"Re: [#{number}]", "La clienta sí responde.")
    await mail.send(marker)
    lines = await mail.client_messages(number, "La clienta sí responde.")
    assert [line["actor"] for line in lines] == ["ana@andina.com.co"]


async def test_a_loose_hash_number_of_another_client_opens_a_new_ticket(mail: Mail) -> None:
    number, _ = await open_by_email(mail)  # Ana's ticket
    raw, message_id = message(
        f"Factura #{number} rechazada", "Impacto: alto", sender="luis@lacteos.com.co"
    )
    await mail.send(raw, "luis@lacteos.com.co")
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "ticket_opened" and row.number != number


async def a_ticket_without_workflow(mail: Mail, number: int, *, status: str | None) -> None:
    """A ticket row of Ana's client whose workflow is gone (closed long ago) or not started."""
    now = datetime.now(UTC)
    async with mail.sessions() as session:
        session.add(
            TicketIntake(number=number, principal="ana@andina.com.co", nit=mail.nit, input=None)
        )
        if status is not None:
            session.add(
                Ticket(
                    number=number,
                    kind="support",
                    status=status,
                    priority="P3",
                    nit=mail.nit,
                    subject="Vieja",
                    created_at=now,
                    updated_at=now,
                    view={},
                )
            )
        await session.commit()


async def test_a_reply_to_a_closed_ticket_is_refused_with_the_reason(mail: Mail) -> None:
    number = 999_999_001
    await a_ticket_without_workflow(mail, number, status="closed")
    raw, message_id = message(f"Re: [#{number}] Vieja", "Sigue fallando.")
    await mail.send(raw)
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "refused" and "closed" in row.reason
    [reply] = [m for m in mail.outbox() if m["In-Reply-To"] == message_id]
    assert ticket_number_in(str(reply["Subject"])) == number
    text = reply.get_body(("plain",))
    assert text is not None and "nueva solicitud" in text.get_content()


async def test_a_reply_to_a_ticket_not_yet_running_is_retried(mail: Mail) -> None:
    number = 999_999_002
    await a_ticket_without_workflow(mail, number, status=None)
    raw, message_id = message(f"Re: [#{number}]", "¿Hay novedades?")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await mail.send(raw)
    assert refused.value.smtp_code == 451
    assert await mail.inbound(message_id) is None


# --- Failures and retries ------------------------------------------------------------------


async def test_temporal_down_answers_451_and_the_retry_opens_one_ticket(mail: Mail) -> None:
    async def down() -> TemporalClient:
        raise Unavailable("Temporal is not answering")

    failing = EmailIntake(mail.settings, mail.sessions, down)
    port = free_port()

    async def deliver(raw: bytes, envelope_from: str) -> None:
        await failing.receive(raw, envelope_from)

    server = asyncio.create_task(serve_smtp(HOST, port, deliver, [SUPPORT]))
    raw, message_id = message("Urgente", "Impacto: total\nNo carga nada.")
    try:
        await wait_for_port(port)
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(smtp_send, port, "ana@andina.com.co", raw)
        assert refused.value.smtp_code == 451
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
    assert await mail.inbound(message_id) is None

    await mail.send(raw)  # the sender's retry, now with Temporal up
    row = await mail.inbound(message_id)
    assert row is not None and row.outcome == "ticket_opened"
    await acknowledgement(mail, message_id)
    async with mail.sessions() as session:
        opened = await session.scalar(
            select(func.count())
            .select_from(TicketIntake)
            .where(TicketIntake.idempotency_key == f"email:{message_id}")
        )
    assert opened == 1


# --- The raw-message endpoint ------------------------------------------------------------


async def test_the_endpoint_does_what_smtp_does(mail: Mail) -> None:
    raw, message_id = message("Por la API", "Impacto: medio\nEl módulo de nómina falla.", pdf=True)
    headers = {**ADMIN, "Content-Type": "message/rfc822"}
    first = await mail.api.ok("POST", "/api/v1/inbound-email", 202, content=raw, headers=headers)
    assert first["outcome"] == "ticket_opened" and first["duplicate"] is False
    number = first["number"]
    again = await mail.api.ok("POST", "/api/v1/inbound-email", 202, content=raw, headers=headers)
    assert (again["outcome"], again["number"], again["duplicate"]) == (
        "ticket_opened",
        number,
        True,
    )
    row = await mail.inbound(message_id)
    assert row is not None and row.number == number

    ticket = await mail.api.ok("GET", f"/api/v1/tickets/{number}", headers=ADMIN)
    assert (ticket["channel"], ticket["reporter_email"]) == ("email", "ana@andina.com.co")
    await acknowledgement(mail, message_id)

    reply, _ = message(f"Re: [#{number}]", "Respuesta por la API.")
    added = await mail.api.ok("POST", "/api/v1/inbound-email", 202, content=reply, headers=headers)
    assert (added["outcome"], added["number"]) == ("message_added", number)
    await mail.client_messages(number, "Respuesta por la API.")

    stranger, _ = message("Hola", "¿Quién soy?", sender="nadie@ninguno.org")
    refused = await mail.api.ok(
        "POST", "/api/v1/inbound-email", 202, content=stranger, headers=headers
    )
    assert refused["outcome"] == "refused" and refused.get("number") is None
    assert "not a registered contact" in refused["reason"]


async def test_the_endpoint_refuses_what_it_must(mail: Mail) -> None:
    raw, _ = message("x", "y")
    path = "/api/v1/inbound-email"
    wrong_type = await mail.api.http.post(
        path, content=raw, headers={**ADMIN, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415, wrong_type.text
    assert "message/rfc822" in wrong_type.json()["detail"]
    as_contact = await mail.api.http.post(
        path, content=raw, headers={**mail.contact, "Content-Type": "message/rfc822"}
    )
    assert as_contact.status_code == 403, as_contact.text
    nobody = await mail.api.http.post(path, content=raw, headers={"Content-Type": "message/rfc822"})
    assert nobody.status_code == 401
    empty = await mail.api.http.post(
        path, content=b"", headers={**ADMIN, "Content-Type": "message/rfc822"}
    )
    assert empty.status_code == 422
    huge = raw + b"x" * (MAX_MESSAGE_BYTES + 1)
    too_large = await mail.api.http.post(
        path, content=huge, headers={**ADMIN, "Content-Type": "message/rfc822"}
    )
    assert too_large.status_code == 413, too_large.text[:200]


# --- `soporte smtp`: the listener process ----------------------------------------------------


async def test_soporte_smtp_serves_the_intake_and_stops_on_sigterm(mail: Mail) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SOPORTE_DATA_DIR": str(mail.settings.data_dir),
        "SOPORTE_DATABASE_URL": mail.settings.effective_database_url,
        "SOPORTE_TEMPORAL_ADDRESS": str(mail.settings.temporal_address),
        "SOPORTE_TASK_QUEUE": mail.settings.task_queue,
        "SOPORTE_LOG_LEVEL": "WARNING",
        "SOPORTE_TRUSTED_AUTHSERV_ID": AUTHSERV,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "launcher.cli",
        "smtp",
        "--host",
        HOST,
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for_port(port, timeout=30.0)
        raw, message_id = message("Desde el proceso smtp", "Impacto: bajo\nPrueba.")
        await asyncio.to_thread(smtp_send, port, "ana@andina.com.co", raw)
        row = await mail.inbound(message_id)
        assert row is not None and row.outcome == "ticket_opened"
        await acknowledgement(mail, message_id)
        process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(process.wait(), timeout=15)
        assert process.stderr is not None
        errors = (await process.stderr.read()).decode(errors="replace")
        assert status == 0, errors
        assert "Traceback" not in errors
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    with pytest.raises(OSError):  # the port was released
        _, writer = await asyncio.open_connection(HOST, port)
        writer.close()


async def test_a_reply_to_a_resolved_ticket_reopens_it_with_the_reply_as_reason(
    mail: Mail,
) -> None:
    number, _ = await open_by_email(mail, "Error en el PDF")
    engineer = await mail.api.token("ingrid@btw.com.co")
    resolved = await mail.api.ok(
        "POST",
        f"/api/v1/tickets/{number}/resolve",
        json={"kind": "solution", "body": "Plantilla corregida"},
        headers=engineer,
    )
    assert resolved["status"] == "resolved"

    reply, reply_id = message(f"RE: [#{number}] Error en el PDF", "Sigue saliendo en blanco.")
    await mail.send(reply)
    row = await mail.inbound(reply_id)
    assert row is not None and (row.outcome, row.number) == ("message_added", number)
    ticket = await mail.api.ok("GET", f"/api/v1/tickets/{number}", headers=engineer)
    assert ticket["status"] == "in_progress"
    log = await mail.api.ok("GET", f"/api/v1/tickets/{number}/log", headers=engineer)
    reopened = [line for line in log if line["type"] == "reopened"]
    assert len(reopened) == 1 and "Sigue saliendo en blanco." in reopened[0]["body"]


async def test_the_endpoint_takes_a_message_over_a_megabyte(mail: Mail) -> None:
    raw, _ = message(
        "Registro largo", "Impacto: alto\n" + "línea del registro de errores\n" * 80_000
    )
    assert len(raw) > 2 * 1024 * 1024
    headers = {**ADMIN, "Content-Type": "message/rfc822"}
    opened = await mail.api.ok("POST", "/api/v1/inbound-email", 202, content=raw, headers=headers)
    assert opened["outcome"] == "ticket_opened"


# --- What our mails say (issue 14) ----------------------------------------------------------


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def test_a_score_replied_to_the_rating_invitation_rates_and_never_reopens(
    mail: Mail,
) -> None:
    number, _ = await open_by_email(mail, "Error al imprimir")
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
            if ticket_number_in(str(m["Subject"])) == number
            and "¿Cómo fue nuestra atención?" in str(m["Subject"])
        ]

    [invited] = await eventually(invitation, lambda found: len(found) == 1)
    assert "empezando por un número de 1 a 5" in plain_text(invited)
    reply, reply_id = message(
        f"RE: {invited['Subject']}",
        "5, excelente atención\n\nEl mar., Ana escribió:\n> Nos gustaría saber",
        headers={"In-Reply-To": str(invited["Message-ID"])},
    )
    await mail.send(reply)
    row = await mail.inbound(reply_id)
    assert row is not None and (row.outcome, row.number, row.reason) == (
        "message_added",
        number,
        "rated 5",
    )
    ticket = await mail.api.ok("GET", f"/api/v1/tickets/{number}", headers=engineer)
    assert ticket["status"] == "resolved"
    assert (ticket["rating"]["score"], ticket["rating"]["comment"]) == (5, "excelente atención")
    log = await mail.log(number)
    assert not [line for line in log if line["type"] == "reopened"]

    # A second score to the same invitation: the rating stands, still no reopening.
    again, again_id = message(
        f"RE: {invited['Subject']}",
        "1 mejor no",
        headers={"In-Reply-To": str(invited["Message-ID"])},
    )
    await mail.send(again)
    row = await mail.inbound(again_id)
    assert row is not None and row.outcome == "message_added"
    ticket = await mail.api.ok("GET", f"/api/v1/tickets/{number}", headers=engineer)
    assert ticket["status"] == "resolved" and ticket["rating"]["score"] == 5


async def test_mail_from_a_staff_address_is_refused_with_staff_advice(mail: Mail) -> None:
    staff = "ingrid@btw.com.co"
    raw, message_id = message("RE: [#12] Factura", "Ya quedó resuelto", sender=staff)
    await mail.send(raw, staff)
    row = await mail.inbound(message_id)
    assert row is not None and (row.outcome, row.number) == ("refused", None)
    assert "staff address" in row.reason
    [reply] = [m for m in mail.outbox(staff) if m["In-Reply-To"] == message_id]
    text = plain_text(reply)
    assert "Responda al cliente desde la consola o la API" in text
    assert "registre esta dirección" not in text


async def test_mail_answers_from_the_address_written_to_with_a_display_name(mail: Mail) -> None:
    written = EmailMessage()
    written["Authentication-Results"] = f"{AUTHSERV}; dmarc=pass header.from=andina.com.co"
    written["From"] = "Ana <ana@andina.com.co>"
    written["To"] = "Servicio al cliente <servicioalcliente@btw.com.co>"
    written["Subject"] = "No carga el informe de ventas"
    written["Message-ID"] = message_id = make_msgid(domain="andina.com.co")
    written.set_content("El informe no carga.\nImpacto: no vemos las ventas del día")
    await mail.send(written.as_bytes(policy=SMTP_POLICY))
    ack = await acknowledgement(mail, message_id)
    assert ack["From"] == "Soporte Amazonas ERP <servicioalcliente@btw.com.co>"
    text = plain_text(ack)
    assert "Agende su sesión de asesoría" not in text  # a support ticket books nothing
    assert "Evidencia: capturas de pantalla" in text  # a fault without any evidence

    number, opening = await open_by_email(mail, "Otro error")
    assert (await acknowledgement(mail, opening))["From"] == (
        "Soporte Amazonas ERP <soporte@btw.com.co>"
    )
    assert number


async def test_an_unknown_sender_is_told_the_vendors_channels(mail: Mail) -> None:
    stranger = "marta@nueva.co"
    raw, _ = message("Cotización", "Quiero soporte.", sender=stranger)
    await mail.send(raw, stranger)
    [reply] = mail.outbox(stranger)
    text = plain_text(reply)
    assert "Línea única: (+57 4) 6047282 ext. 121–157" in text
    assert "soporte@btw.com.co o servicioalcliente@btw.com.co" in text
    assert "/contacto" in text and "601 000 0000" not in text
    assert reply["From"] == "Soporte Amazonas ERP <soporte@btw.com.co>"
