"""The group commit of new tickets, against SQLite and (when set) PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from soporte.db.models import TicketIntake
from soporte.db.session import create_engine
from soporte.services.intake_writer import IntakeWriter
from tests.api_support import backends, database


@pytest.fixture(params=backends())
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    with database(request.param, tmp_path) as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


def row(principal: str, key: str | None, subject: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "request_hash": subject,
        "principal": principal,
        "nit": "800197268-4",
        "created_at": datetime.now(UTC),
        "input": {"subject": subject},
    }


async def stored(engine: AsyncEngine) -> dict[int, dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(TicketIntake.number, TicketIntake.input))
        return {number: data for number, data in rows}


async def test_concurrent_openings_share_commits_and_each_gets_its_own_row(
    engine: AsyncEngine,
) -> None:
    writer = IntakeWriter(engine)
    subjects = [f"ticket {i}" for i in range(60)]
    numbers = await asyncio.gather(*(writer.insert(row("a@x.co", None, s)) for s in subjects))

    assert len(set(numbers)) == 60 and None not in numbers
    rows = await stored(engine)
    # Each opening was told the number of the row that holds its own input.
    assert {number: rows[number]["subject"] for number in numbers} == dict(
        zip(numbers, subjects, strict=True)
    )
    assert 1 <= writer.transactions < 60 / 4, f"{writer.transactions} commits for 60 openings"


async def test_a_key_taken_twice_in_one_batch_gives_one_row_and_none_to_the_later(
    engine: AsyncEngine,
) -> None:
    writer = IntakeWriter(engine)
    results = await asyncio.gather(
        writer.insert(row("a@x.co", None, "sin clave")),
        writer.insert(row("a@x.co", "k-1", "primero")),
        writer.insert(row("a@x.co", "k-1", "segundo")),
        writer.insert(row("b@x.co", "k-1", "otro cliente")),
    )
    without_key, first, second, other = results
    assert second is None  # its key was taken by the opening before it
    assert None not in (without_key, first, other)
    rows = await stored(engine)
    assert sorted(data["subject"] for data in rows.values()) == [
        "otro cliente",
        "primero",
        "sin clave",
    ]


async def test_a_key_already_stored_gives_none_and_changes_nothing(engine: AsyncEngine) -> None:
    writer = IntakeWriter(engine)
    first = await writer.insert(row("a@x.co", "k-2", "original"))
    again = await writer.insert(row("a@x.co", "k-2", "reintento"))
    assert first is not None and again is None
    assert [data["subject"] for data in (await stored(engine)).values()] == ["original"]


async def test_a_fault_reaches_every_opening_of_its_batch_and_the_next_batch_still_runs(
    engine: AsyncEngine,
) -> None:
    writer = IntakeWriter(engine)
    broken = {**row("a@x.co", None, "sin nit"), "nit": None}  # NOT NULL
    results = await asyncio.gather(
        writer.insert(broken), writer.insert(row("a@x.co", None, "bien")), return_exceptions=True
    )
    assert all(isinstance(result, Exception) for result in results)
    assert await writer.insert(row("a@x.co", None, "después")) is not None
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(TicketIntake)) == 1
