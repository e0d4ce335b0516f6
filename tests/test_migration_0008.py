"""Migration 0008 fills the new SLA columns of the tickets already projected, from each
one's view and log, exactly as the projection computes them from then on."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from activities.projection import event_row
from soporte.db.migrate import MIGRATIONS, alembic_config, run_migrations, sync_url
from soporte.db.models import Ticket, TicketEvent
from soporte.db.ticket_facts import facts_row
from soporte.policy import Priority
from tests.api_support import backends, database
from tests.ticket_paths import Walk
from tests.workflow_support import bogota

REVISION = ScriptDirectory(str(MIGRATIONS)).get_revision("0008")
NEW_COLUMNS = {
    "category",
    "search_text",
    "next_due",
    "opened_on",
    "first_responded_at",
    "resolved_at",
    "first_response_outcome",
    "resolution_outcome",
    "first_response_seconds",
    "resolution_seconds",
    "paused_seconds",
    "reopen_count",
    "rating",
}


def walks() -> list[Walk]:
    late = Walk.open(1, bogota(2026, 11, 23, 9)).reply(bogota(2026, 11, 23, 11))
    waiting = Walk.open(2, bogota(2026, 11, 27, 15), priority=Priority.P3)
    waiting.request_info(bogota(2026, 11, 27, 16)).client_reply(bogota(2026, 11, 30, 9))
    reopened = Walk.open(3, bogota(2026, 11, 24, 8), priority=Priority.P1, category="nómina")
    reopened.reply(bogota(2026, 11, 24, 8, 10)).resolve(bogota(2026, 11, 24, 9))
    reopened.reopen(bogota(2026, 11, 25, 9)).resolve(bogota(2026, 11, 25, 9, 30))
    reopened.rate(bogota(2026, 11, 25, 10), 5)
    return [late, waiting, reopened]


@pytest.mark.parametrize("backend", backends())
def test_the_backfill_equals_the_projection(backend: str, tmp_path: Path) -> None:
    from activities.projection import ticket_row

    with database(backend, tmp_path) as url:
        # The helper migrated it to the head: back to the database as it was before 0008.
        command.downgrade(alembic_config(url), REVISION.down_revision)
        engine = sa.create_engine(sync_url(url))
        old = sa.Table(
            "tickets",
            sa.MetaData(),
            *(
                sa.Column(c.name, c.type)
                for c in Ticket.__table__.columns
                if c.name not in NEW_COLUMNS
            ),
        )
        tickets = walks()
        with engine.begin() as connection:
            for walk in tickets:
                row = {k: v for k, v in ticket_row(walk.view).items() if k not in NEW_COLUMNS}
                connection.execute(old.insert().values(**row))
                events = [event_row(e) for e in walk.state.pending_events]
                connection.execute(TicketEvent.__table__.insert(), events)
        run_migrations(url)
        with engine.connect() as connection:
            stored = {
                row.number: row._mapping for row in connection.execute(sa.select(Ticket.__table__))
            }
        engine.dispose()
    for walk in tickets:
        expected = facts_row(walk.view, walk.state.pending_events)
        got = stored[walk.view.number]
        assert {k: got[k] for k in expected} == expected
    assert stored[3]["reopen_count"] == 1 and stored[3]["rating"] == 5
    assert stored[2]["paused_seconds"] == 9000  # Fri 16:00-17:00, Mon 07:30-09:00
    assert stored[1]["first_response_outcome"] == "breached"
