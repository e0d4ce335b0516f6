"""Advisory slots claimed in SQL: one ticket per start, across API processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from soporte.db.models import SlotClaim, Ticket
from soporte.db.session import create_engine
from soporte.services.slot_claims import CLAIM_IN_FLIGHT, Claim, claim, release
from tests.api_support import backends, database

START = datetime(2027, 2, 3, 14, 0, tzinfo=UTC)


@pytest.fixture(params=backends())
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def age_claim(engine: AsyncEngine, start: datetime) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(SlotClaim)
            .where(SlotClaim.start == start)
            .values(claimed_at=datetime.now(UTC) - CLAIM_IN_FLIGHT - timedelta(seconds=1))
        )


async def project_scheduled(engine: AsyncEngine, number: int, booked: datetime | None) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Ticket).values(
                number=number,
                kind="advisory",
                status="scheduled",
                priority="advisory",
                nit="800197268-4",
                subject="Asesoría",
                created_at=now,
                updated_at=now,
                booked_slot=booked,
                view={},
            )
        )


async def test_a_start_is_one_tickets_until_released(engine: AsyncEngine) -> None:
    assert await claim(engine, START, 1) is Claim.CLAIMED
    assert await claim(engine, START, 2) is Claim.TAKEN
    assert await claim(engine, START, 1) is Claim.ALREADY_OURS
    await release(engine, START, 2)  # not its claim: changes nothing
    assert await claim(engine, START, 2) is Claim.TAKEN
    await release(engine, START, 1)
    assert await claim(engine, START, 2) is Claim.CLAIMED


async def test_an_old_claim_holds_only_while_its_ticket_is_scheduled_there(
    engine: AsyncEngine,
) -> None:
    assert await claim(engine, START, 1) is Claim.CLAIMED
    await project_scheduled(engine, 1, START)
    await age_claim(engine, START)
    assert await claim(engine, START, 2) is Claim.TAKEN

    other = START + timedelta(hours=1)
    assert await claim(engine, other, 3) is Claim.CLAIMED
    await project_scheduled(engine, 3, START + timedelta(days=1))  # rebooked elsewhere
    await age_claim(engine, other)
    assert await claim(engine, other, 4) is Claim.CLAIMED


async def test_two_processes_claiming_one_start_at_once_get_it_once(url: str) -> None:
    engines = [create_engine(url) for _ in range(2)]  # as two API processes would
    try:
        for attempt in range(5):
            start = START + timedelta(days=attempt)
            results = await asyncio.gather(
                *(claim(engine, start, 10 + i) for i, engine in enumerate(engines))
            )
            assert sorted(results) == [Claim.CLAIMED, Claim.TAKEN], results
    finally:
        for engine in engines:
            await engine.dispose()
