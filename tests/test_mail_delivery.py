"""The delivery activity's part of what our mails say (issue 14), on the real read model
(SQLite; PostgreSQL too with SOPORTE_TEST_POSTGRES_URL) and the real Maildir outbox: an agenda
no committee member receives goes to the admins and is logged; the Message-ID a reply names
is kept; a consultant routing that falls back is logged."""

from __future__ import annotations

import logging
import mailbox
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities import notifications
from activities.assignment import pick
from soporte.db.models import Client, Contact, OutboundMail, Staff, TicketIntake
from soporte.db.session import create_engine, create_sessionmaker
from soporte.policy import Kind
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification, PickAssigneeInput
from soporte.settings import Settings, load_settings
from tests.api_support import backends, database

AGENDA = Notification(
    id="committee-session-1-agenda",
    number=0,
    template=MailTemplate.COMMITTEE_AGENDA,
    to=["@committee"],
    data={"session_id": "committee-session-1", "items": [{"number": 7, "subject": "Informe"}]},
)


@pytest.fixture(params=backends())
async def db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], Settings]]:
    with database(request.param, tmp_path) as url:
        engine = create_engine(url)
        try:
            yield create_sessionmaker(engine), load_settings(data_dir=tmp_path, database_url=url)
        finally:
            await engine.dispose()


async def add_staff(sessions: async_sessionmaker[AsyncSession], email: str, *roles: str) -> None:
    async with sessions() as session:
        session.add(Staff(email=email, name=email, roles=list(roles), active=True))
        await session.commit()


def outbox(settings: Settings) -> list[EmailMessage]:
    box = mailbox.Maildir(str(settings.outbox_dir), create=True)
    parser = BytesParser(policy=default_policy)
    parsed = [parser.parsebytes(box.get_bytes(key)) for key in box.iterkeys()]
    return [message for message in parsed if isinstance(message, EmailMessage)]


async def test_an_agenda_without_committee_members_goes_to_the_admins_and_is_logged(
    db: tuple[async_sessionmaker[AsyncSession], Settings], caplog: pytest.LogCaptureFixture
) -> None:
    sessions, settings = db
    await add_staff(sessions, "jefa@btw.com.co", "admin")
    await add_staff(sessions, "ana@btw.com.co", "engineer")
    with caplog.at_level(logging.WARNING, logger="soporte.mail"):
        sent = await notifications.deliver(sessions, settings, AGENDA)
    assert sent == ["jefa@btw.com.co"]
    [message] = outbox(settings)
    assert message["To"] == "jefa@btw.com.co"
    assert message["Subject"] == "Comité Operativo: agenda sin destinatarios"
    body = message.get_body(("plain",))
    assert body is not None and "no hay miembros activos del Comité Operativo" in body.get_content()
    assert "#7" in body.get_content()
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "no active committee member is registered; told 1 admin(s)" in logged


async def test_an_agenda_reaches_the_committee_when_there_is_one(
    db: tuple[async_sessionmaker[AsyncSession], Settings],
) -> None:
    sessions, settings = db
    await add_staff(sessions, "jefa@btw.com.co", "admin")
    await add_staff(sessions, "comite@btw.com.co", "committee")
    assert await notifications.deliver(sessions, settings, AGENDA) == ["comite@btw.com.co"]
    [message] = outbox(settings)
    assert message["Subject"] == "Comité Operativo: agenda de la sesión"


async def test_a_sent_mail_keeps_the_message_id_a_reply_names(
    db: tuple[async_sessionmaker[AsyncSession], Settings],
) -> None:
    sessions, settings = db
    async with sessions() as session:  # recipients are rechecked against the registry
        session.add(Client(nit="900123456-8", name="Tornillos SAS"))
        await session.flush()
        session.add(Contact(email="a@b.co", client_nit="900123456-8", name="Ana"))
        session.add(TicketIntake(number=41, principal="a@b.co", nit="900123456-8"))
        await session.commit()
    invitation = Notification(
        id="41-9-rating_invitation",
        number=41,
        template=MailTemplate.RATING_INVITATION,
        to=["a@b.co"],
    )
    assert await notifications.deliver(sessions, settings, invitation) == ["a@b.co"]
    async with sessions() as session:
        row = await session.get(OutboundMail, invitation.id)
    [message] = outbox(settings)
    assert row is not None and row.message_id == message["Message-ID"]
    assert message["From"] == "Soporte Amazonas ERP <soporte@btw.com.co>"


async def test_a_consultant_who_is_not_active_staff_falls_back_and_is_logged(
    db: tuple[async_sessionmaker[AsyncSession], Settings], caplog: pytest.LogCaptureFixture
) -> None:
    sessions, _ = db
    await add_staff(sessions, "ana@btw.com.co", "engineer")
    request = PickAssigneeInput(
        number=55, nit="900123456-8", kind=Kind.SUPPORT, consultant_email="ido@btw.com.co"
    )
    with caplog.at_level(logging.WARNING, logger="soporte.assignment"):
        assert await pick(sessions, request) == "ana@btw.com.co"
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "consultant ido@btw.com.co is not active staff; routed to ana@btw.com.co" in logged
