"""tickets: the queue's next due instant and filters, the SLA report's facts

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01

Chained after 0006 (main's head when this branch merged it: 0005, 0009, 0007, 0006): those
touch other tables, and a database already at 0006 simply gains this one. One head.

Adds the columns soporte.policy.sla_report.SlaFacts describes (plus category and the folded search
text) and fills them for the tickets already projected, from each one's view and log, the
way the projection computes them from now on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("category", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("search_text", sa.Text(), nullable=False, server_default=""),
        sa.Column("next_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "first_response_outcome", sa.String(length=10), nullable=False, server_default="pending"
        ),
        sa.Column(
            "resolution_outcome", sa.String(length=10), nullable=False, server_default="pending"
        ),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rating", sa.Integer(), nullable=True),
    )


INDEXES = (
    ("ix_tickets_next_due", ["next_due", "number"]),
    ("ix_tickets_kind_created", ["kind", "created_at"]),
    ("ix_tickets_category_created", ["category", "created_at"]),
    # Covers the SLA report's range scan (soporte.db.models.REPORT_COLUMNS, as of 0008).
    (
        "ix_tickets_report",
        [
            "opened_on",
            "priority",
            "nit",
            "assignee",
            "first_response_outcome",
            "first_response_due",
            "resolution_outcome",
            "resolution_due",
            "first_response_seconds",
            "resolution_seconds",
            "paused_seconds",
            "reopen_count",
            "rating",
        ],
    ),
)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for column in _columns():
            batch.add_column(column)
    for name, columns in INDEXES:
        op.create_index(name, "tickets", columns)
    _backfill()


def downgrade() -> None:
    for name, _indexed in INDEXES:
        op.drop_index(name, table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        for column in _columns():
            batch.drop_column(column.name)


def _backfill() -> None:
    # Imported here, and the models' own tables used: their UTC column types read and write
    # instants as the app does. (A later migration that changes these tables must not
    # run this one's backfill against newer models: it runs only from 0005 to 0008.)
    from soporte.db.models import Ticket, TicketEvent
    from soporte.db.ticket_facts import facts_row
    from soporte.policy.tickets import LogEvent, TicketView

    bind = op.get_bind()
    tickets, events = Ticket.__table__, TicketEvent.__table__
    for number, view_json in bind.execute(sa.select(tickets.c.number, tickets.c.view)).all():
        view = TicketView.model_validate(view_json)
        rows = bind.execute(
            sa.select(events).where(events.c.number == number).order_by(events.c.seq)
        ).mappings()
        log = [LogEvent.model_validate({**row, "data": row["data"] or {}}) for row in rows]
        bind.execute(
            sa.update(Ticket).where(Ticket.number == number).values(**facts_row(view, log))
        )
