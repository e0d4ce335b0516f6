"""write_ticket (patch projection-with-mail): a step's projection and its mail in one local
activity; a send that fails is answered, not raised, and the projection stays stored."""

from __future__ import annotations

import asyncio
import dataclasses
import mailbox
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities import TicketActivities
from activities.ticket_writes import write_ticket
from soporte.db.models import OutboundMail, Ticket, TicketEvent
from soporte.db.session import create_engine, create_sessionmaker
from soporte.policy import Priority
from soporte.policy.tickets import NotificationBatch, TicketWrite
from soporte.services.tickets import COMMAND_BOUND
from soporte.settings import Settings, load_settings
from tests.api_support import backends, database
from tests.stack_support import black_hole, free_port
from tests.test_mail_once import NOTIFICATION, deliver_with, register_ticket_77
from tests.ticket_paths import Walk
from tests.workflow_support import at_bogota

MONDAY = date(2026, 11, 23)


@pytest.fixture(params=backends())
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    with database(request.param, tmp_path) as url:
        await register_ticket_77(url)
        yield url


def the_write() -> TicketWrite:
    batch = Walk.open(77, at_bogota(MONDAY, 9), priority=Priority.P3).batch()
    return TicketWrite(view=batch.view, events=batch.events, notifications=[NOTIFICATION])


async def write_with(settings: Settings, write: TicketWrite) -> list[str]:
    engine = create_engine(settings.effective_database_url)
    try:
        return await write_ticket(create_sessionmaker(engine), settings, write)
    finally:
        await engine.dispose()


async def stored(url: str) -> tuple[str | None, int, list[tuple[str, bool]]]:
    """The ticket row's status, its log lines, and each mail row (id, sent)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            status = await session.scalar(select(Ticket.status).where(Ticket.number == 77))
            lines = len((await session.scalars(select(TicketEvent.seq))).all())
            mails = (await session.execute(select(OutboundMail.id, OutboundMail.sent_at))).all()
            return status, lines, [(id_, sent_at is not None) for id_, sent_at in mails]
    finally:
        await engine.dispose()


async def test_the_projection_and_the_mail_go_in_one_write_and_a_retry_repeats_neither(
    tmp_path: Path, db_url: str
) -> None:
    settings = load_settings(data_dir=tmp_path, database_url=db_url)
    write = the_write()
    assert await write_with(settings, write) == [NOTIFICATION.id]
    assert await write_with(settings, write) == [NOTIFICATION.id]  # sent before: done
    status, lines, mails = await stored(db_url)
    assert status == write.view.status.value
    assert lines == len(write.events)
    assert mails == [(NOTIFICATION.id, True)]
    assert len(mailbox.Maildir(str(settings.outbox_dir), create=False)) == 1


async def test_a_send_that_fails_is_answered_not_raised_and_sent_once_later(
    tmp_path: Path, db_url: str
) -> None:
    # Nothing listens on the port: the SMTP server is down.
    down = load_settings(
        data_dir=tmp_path, database_url=db_url, smtp_url=f"smtp://127.0.0.1:{free_port()}"
    )
    write = the_write()
    assert await write_with(down, write) == []
    status, lines, mails = await stored(db_url)
    assert status == write.view.status.value and lines == len(write.events)
    assert mails == [(NOTIFICATION.id, False)]  # claimed, not sent
    # What the workflow does with the ids left out: deliver_notifications, on its own.
    up = load_settings(data_dir=tmp_path, database_url=db_url)
    assert await deliver_with(up) == ["ana@tornillo.co"]
    assert (await stored(db_url))[2] == [(NOTIFICATION.id, True)]
    assert len(mailbox.Maildir(str(up.outbox_dir), create=False)) == 1


async def test_a_send_that_hangs_gives_up_within_the_command_bound(
    tmp_path: Path, db_url: str
) -> None:
    # The command waiting on this step is answered within COMMAND_BOUND; with the usual
    # 30 s SMTP timeout the step would hold it (and the activity) past it.
    with black_hole() as port:
        silent = load_settings(
            data_dir=tmp_path, database_url=db_url, smtp_url=f"smtp://127.0.0.1:{port}"
        )
        write = the_write()
        done = await asyncio.wait_for(write_with(silent, write), COMMAND_BOUND.total_seconds())
    assert done == []
    status, lines, mails = await stored(db_url)
    assert status == write.view.status.value and lines == len(write.events)
    assert mails == [(NOTIFICATION.id, False)]  # claimed, left to deliver_notifications


async def test_a_local_mail_activity_of_a_ticket_from_before_gives_up_within_the_bound(
    tmp_path: Path, db_url: str
) -> None:
    # Tickets started before projection-with-mail send their mail in a local
    # deliver_notifications, inside the task their commands wait on.
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, is_local=True)
    with black_hole() as port:
        silent = load_settings(
            data_dir=tmp_path, database_url=db_url, smtp_url=f"smtp://127.0.0.1:{port}"
        )
        activities = TicketActivities(silent)
        batch = NotificationBatch(notifications=[NOTIFICATION])
        sending = asyncio.ensure_future(environment.run(activities.deliver_notifications, batch))
        try:
            finished, _ = await asyncio.wait({sending}, timeout=COMMAND_BOUND.total_seconds())
        finally:
            sending.cancel()
            await activities.engine.dispose()
    assert sending in finished  # it gave up by itself, within the bound
    assert "timed out" in str(sending.exception())  # raised: the activity retries
    assert (await stored(db_url))[2] == [(NOTIFICATION.id, False)]
