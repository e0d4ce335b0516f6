"""Group commit of new tickets: openings that arrive together share one INSERT and one commit.

SQLite has one writer, so a transaction per ticket made concurrent openings queue behind
the process's write turn: at 50 concurrent requests they waited 600-950 ms (p50) for it
while each turn took two thread hops of the SQLite driver (bench/open_tickets.py). Here an
opening joins the next batch instead; one task writes each batch with a multi-row
`INSERT ... RETURNING` and a single commit, and each opening is answered only after that
commit, so what it was told is durable. PostgreSQL gets the same, with fewer commits.

Rows carry a `request_id` so the numbers RETURNING hands back are matched to their
openings whatever order the database returns them in. A batch that breaks the unique
(principal, Idempotency-Key) constraint, because another process or another opening of
the same batch used that key, is written again row by row: each row then gets its number,
or None when its key was taken first.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from soporte.db.models import TicketIntake
from soporte.db.session import write_in_one_go

MAX_BATCH = 200


@dataclass
class _Opening:
    values: dict[str, Any]
    answer: asyncio.Future[int | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class IntakeWriter:
    """Writes `ticket_intake` rows for one engine, in batches; one per engine and process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiting: list[_Opening] = []
        self._flusher: asyncio.Task[None] | None = None
        self.transactions = 0  # batches committed: fewer than openings under load

    async def insert(self, values: dict[str, Any]) -> int | None:
        """The new row's number, or None if a row with its (principal, key) exists."""
        opening = _Opening({**values, "request_id": uuid.uuid4().hex})
        self._waiting.append(opening)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # A caller that goes away must not cancel the batch the others wait for.
        return await asyncio.shield(opening.answer)

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            await self._answer(batch)

    async def _answer(self, batch: list[_Opening]) -> None:
        rows = [opening.values for opening in batch]
        try:
            numbers = await write_in_one_go(self._engine, lambda db: _insert_all(db, rows))
        except IntegrityError as error:
            if all(row.get("idempotency_key") is None for row in rows):
                _fail(batch, error)  # not a key taken twice: a real fault
                return
            for opening in batch:
                await self._answer_alone(opening)
            return
        except Exception as error:  # every opening of the batch hears of it
            _fail(batch, error)
            return
        self.transactions += 1
        for opening, number in zip(batch, numbers, strict=True):
            opening.answer.set_result(number)

    async def _answer_alone(self, opening: _Opening) -> None:
        try:
            number = await write_in_one_go(
                self._engine, lambda session: _insert_all(session, [opening.values])[0]
            )
        except IntegrityError as error:
            if opening.values.get("idempotency_key") is None:
                opening.answer.set_exception(error)
            else:
                opening.answer.set_result(None)
        except Exception as error:
            opening.answer.set_exception(error)
        else:
            opening.answer.set_result(number)


def _insert_all(session: Session, rows: list[dict[str, Any]]) -> list[int | None]:
    """One multi-row INSERT; the numbers in the order of `rows`."""
    statement = insert(TicketIntake).returning(TicketIntake.request_id, TicketIntake.number)
    numbers = {request_id: number for request_id, number in session.execute(statement, rows)}
    return [numbers[row["request_id"]] for row in rows]


def _fail(batch: list[_Opening], error: Exception) -> None:
    for opening in batch:
        opening.answer.set_exception(error)


_WRITERS: weakref.WeakKeyDictionary[Any, IntakeWriter] = weakref.WeakKeyDictionary()


def intake_writer(engine: AsyncEngine) -> IntakeWriter:
    """The writer of this engine in this process (batches form per engine)."""
    writer = _WRITERS.get(engine.sync_engine)
    if writer is None:
        writer = _WRITERS[engine.sync_engine] = IntakeWriter(engine)
    return writer
