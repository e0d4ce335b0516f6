"""Mail at most once where the transport allows: a Maildir delivery retried after a crash
between the write and its record writes nothing; SMTP records `sending_at` first."""

from __future__ import annotations

import mailbox
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from activities.notifications import deliver
from soporte.db.models import Client, Contact, OutboundMail, TicketIntake
from soporte.db.session import create_engine, create_sessionmaker
from soporte.policy.names import MailTemplate
from soporte.policy.tickets import Notification
from soporte.settings import Settings, load_settings
from tests.api_support import database
from tests.stack_support import free_port
from tests.test_outbound_smtp import Inbox

NOTIFICATION = Notification(
    id="77-1-acknowledgement",
    number=77,
    template=MailTemplate.ACKNOWLEDGEMENT,
    to=["ana@tornillo.co"],
    data={"subject": "No puedo facturar", "priority": "P2"},
)


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    with database("sqlite", tmp_path) as url:
        await register_ticket_77(url)
        yield url


async def register_ticket_77(url: str) -> None:
    """Mail about a ticket goes only to its client's active contacts, rechecked at send time."""
    sessions = create_sessionmaker(engine := create_engine(url))
    async with sessions() as session:
        session.add(Client(nit="900123456", name="Tornillos SAS"))
        await session.flush()
        session.add(Contact(email="ana@tornillo.co", client_nit="900123456", name="Ana"))
        session.add(TicketIntake(number=77, principal="ana@tornillo.co", nit="900123456"))
        await session.commit()
    await engine.dispose()


async def crash_before_the_record(url: str) -> None:
    """As if the worker died after sending and before stamping `sent_at`."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(update(OutboundMail).values(sent_at=None))
    await engine.dispose()


async def deliver_with(settings: Settings) -> list[str]:
    engine = create_engine(settings.effective_database_url)
    try:
        return await deliver(create_sessionmaker(engine), settings, NOTIFICATION)
    finally:
        await engine.dispose()


async def test_a_maildir_delivery_retried_after_a_crash_is_written_once(
    tmp_path: Path, db_url: str
) -> None:
    settings = load_settings(data_dir=tmp_path, database_url=db_url)
    assert await deliver_with(settings) == ["ana@tornillo.co"]
    await crash_before_the_record(db_url)
    await deliver_with(settings)
    box = mailbox.Maildir(str(settings.outbox_dir), create=False)
    assert len(box) == 1
    # Once a mail reader moved it to cur/ (and flagged it read) it still counts as sent.
    [key] = box.keys()
    message = box[key]
    message.set_subdir("cur")
    message.add_flag("S")
    box[key] = message
    await crash_before_the_record(db_url)
    await deliver_with(settings)
    assert len(mailbox.Maildir(str(settings.outbox_dir), create=False)) == 1


async def test_smtp_marks_sending_first_and_a_retry_reuses_the_message_id(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = load_settings(
            data_dir=tmp_path, database_url=db_url, smtp_url=f"smtp://127.0.0.1:{port}"
        )
        await deliver_with(settings)
        await deliver_with(settings)  # recorded as sent: nothing
        assert len(inbox.received) == 1
        await crash_before_the_record(db_url)
        await deliver_with(settings)  # the remaining window: sent again, said in the log
    finally:
        controller.stop()
    assert len(inbox.received) == 2
    ids = {raw.split(b"Message-ID: ")[1].split(b"\r\n")[0] for _f, _t, raw in inbox.received}
    assert len(ids) == 1
    assert "was being sent when a worker stopped" in caplog.text
