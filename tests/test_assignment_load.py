"""The assignment's load: open tickets per engineer, plus recent picks not projected yet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from activities.assignment import UNSEEN_PICK_WINDOW, least_loaded, open_load
from soporte.db.migrate import sync_url
from soporte.db.models import AssignmentPick, Ticket
from tests.api_support import backends, database

NOW = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
ANA, BETO = "ana@btw.com.co", "beto@btw.com.co"


@pytest.fixture(params=backends())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database(request.param, tmp_path) as url:
        engine = create_engine(sync_url(url))
        try:
            yield engine
        finally:
            engine.dispose()


def picked(engine: Engine, number: int, engineer: str, at: datetime) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            insert(AssignmentPick).values(number=number, engineer=engineer, picked_at=at)
        )


def projected(engine: Engine, number: int, assignee: str, status: str = "in_progress") -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            insert(Ticket).values(
                number=number,
                kind="support",
                status=status,
                priority="P3",
                nit="800197268-4",
                subject="Factura",
                assignee=assignee,
                created_at=NOW,
                updated_at=NOW,
                view={},
            )
        )


def load(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return dict(open_load(session, [ANA, BETO], NOW))


def test_open_tickets_and_recent_unprojected_picks_count_as_load(engine: Engine) -> None:
    projected(engine, 1, ANA)
    projected(engine, 2, ANA, status="resolved")  # done: not load
    picked(engine, 3, BETO, NOW - timedelta(minutes=1))  # not projected yet: load
    picked(engine, 4, BETO, NOW - timedelta(minutes=2))
    assert load(engine) == {ANA: 1, BETO: 2}


def test_a_pick_older_than_the_window_is_no_longer_read(engine: Engine) -> None:
    # A pick the projection never followed (its ticket row is missing) stops counting once
    # it is older than the window, so the load query never reads the whole season's picks.
    picked(engine, 5, ANA, NOW - UNSEEN_PICK_WINDOW - timedelta(seconds=1))
    picked(engine, 6, BETO, NOW - UNSEEN_PICK_WINDOW + timedelta(seconds=1))
    assert load(engine) == {ANA: 0, BETO: 1}
    with Session(engine) as session:
        assert least_loaded(open_load(session, [ANA, BETO], NOW)) == ANA


def test_a_projected_pick_counts_once(engine: Engine) -> None:
    picked(engine, 7, ANA, NOW - timedelta(minutes=1))
    projected(engine, 7, ANA)
    assert load(engine) == {ANA: 1, BETO: 0}
