"""The read model's log lines follow the history: by (number, seq), the last writer wins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from activities.projection import write_projection
from soporte.db.migrate import sync_url
from soporte.db.models import TicketEvent
from soporte.policy import Priority
from soporte.policy.tickets import EventType, ProjectionBatch
from tests.api_support import backends, database
from tests.ticket_paths import Walk
from tests.workflow_support import at_bogota

MONDAY = date(2026, 11, 23)


@pytest.fixture(params=backends())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database(request.param, tmp_path) as url:
        engine = create_engine(sync_url(url))
        try:
            yield engine
        finally:
            engine.dispose()


def projected(engine: Engine, batch: ProjectionBatch) -> list[int]:
    with Session(engine) as session, session.begin():
        return [event.seq for event in write_projection(session, batch)]


def stored(engine: Engine, number: int) -> list[tuple[int, str, str]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(TicketEvent).where(TicketEvent.number == number).order_by(TicketEvent.seq)
        )
        return [(row.seq, row.type, row.body) for row in rows]


def a_ticket(number: int) -> ProjectionBatch:
    return Walk.open(number, at_bogota(MONDAY, 9), priority=Priority.P3).batch()


def test_a_retried_batch_stores_and_counts_nothing_again(engine: Engine) -> None:
    batch = a_ticket(81)
    assert projected(engine, batch) == [event.seq for event in batch.events]
    assert projected(engine, batch) == []
    assert stored(engine, 81) == [(e.seq, e.type, e.body) for e in batch.events]


def test_a_line_from_a_refused_workflow_task_gives_way_to_the_history(
    engine: Engine,
) -> None:
    # A workflow task that ran the projection was refused (a signal came in as the run
    # completed): the refused attempt had logged another line at the seq where its retry,
    # the one in the history, logged the real one.
    real = a_ticket(82)
    last = real.events[-1]
    refused = real.model_copy(
        update={
            "events": [
                *real.events[:-1],
                last.model_copy(update={"type": EventType.NOTIFICATION, "body": "otra"}),
            ]
        }
    )
    projected(engine, refused)
    assert projected(engine, real) == [last.seq]
    assert stored(engine, 82) == [(e.seq, e.type, e.body) for e in real.events]
