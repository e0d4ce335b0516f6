"""Refused mail is capped (bytes kept per message) and expired (by age and by count)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soporte.db.mail_models import MailOutcome, RefusedMail
from soporte.db.session import create_engine, create_sessionmaker
from soporte.services.refused_mail import RefusedMailLimits, keep_refused
from tests.api_support import backends, database

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


@pytest.fixture(params=backends())
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    with database(request.param, tmp_path) as url:
        engine = create_engine(url)
        try:
            yield create_sessionmaker(engine)
        finally:
            await engine.dispose()


def refused(n: int, at: datetime, raw: bytes = b"Subject: x\r\n\r\nhola") -> RefusedMail:
    return RefusedMail(message_id=f"<r{n}@x>", received_at=at, outcome=MailOutcome.REFUSED, raw=raw)


async def test_refused_mail_is_capped_and_expired(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    limits = RefusedMailLimits(max_bytes=1000, max_age=timedelta(days=30), max_rows=3)
    async with sessions() as session:
        await keep_refused(session, refused(0, NOW - timedelta(days=31)), limits)
        await session.commit()
        await keep_refused(session, refused(1, NOW, b"x" * 5000), limits)
        await session.commit()
        kept = await session.scalar(select(RefusedMail).where(RefusedMail.message_id == "<r1@x>"))
        assert kept is not None and kept.raw.startswith(b"x" * 1000)
        assert kept.raw.endswith(b"[soporte: refused message cut, 1000 of 5000 bytes kept]\r\n")
        names = await session.scalars(select(RefusedMail.message_id))
        assert set(names) == {"<r1@x>"}  # the 31-day-old one expired
        for n in range(2, 6):
            await keep_refused(session, refused(n, NOW + timedelta(minutes=n)), limits)
            await session.commit()
        names = await session.scalars(select(RefusedMail.message_id).order_by(RefusedMail.id))
        assert list(names) == ["<r3@x>", "<r4@x>", "<r5@x>"]  # the newest three


async def test_a_held_request_keeps_its_bytes_and_outlives_the_row_count(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A pending row's confirmation link opens the ticket from its raw bytes: the cap and
    the count spare it; only its age expires it."""
    limits = RefusedMailLimits(max_bytes=1000, max_age=timedelta(days=30), max_rows=3)
    held = refused(0, NOW, b"Subject: x\r\n\r\n" + b"y" * 5000)
    held.outcome = MailOutcome.PENDING
    whole = bytes(held.raw)
    async with sessions() as session:
        await keep_refused(session, held, limits)
        await session.commit()
        for n in range(1, 8):
            await keep_refused(session, refused(n, NOW + timedelta(minutes=n)), limits)
            await session.commit()
        names = await session.scalars(select(RefusedMail.message_id).order_by(RefusedMail.id))
        assert list(names) == ["<r0@x>", "<r5@x>", "<r6@x>", "<r7@x>"]
        kept = await session.scalar(select(RefusedMail).where(RefusedMail.message_id == "<r0@x>"))
        assert kept is not None and kept.raw == whole
        await keep_refused(session, refused(8, NOW + timedelta(days=31)), limits)
        await session.commit()
        names = await session.scalars(select(RefusedMail.message_id))
        assert "<r0@x>" not in set(names)  # by age, a held request expires too
