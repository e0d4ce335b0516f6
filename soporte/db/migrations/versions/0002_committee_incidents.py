"""committee sessions, incidents, tickets.booked_slot

Revision ID: 0002
Revises: 0003
Create Date: 2026-11-30

Chained after 0003 (the email tables, already in the history): the two revisions touch
different tables, so the order does not matter, and a database already at 0003 simply
gains this one. Keep the history linear: one head.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "committee_sessions",
        sa.Column("session_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=254), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index(
        "ix_committee_sessions_status_started", "committee_sessions", ["status", "started_at"]
    )
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id"),
    )
    op.create_index("ix_incidents_status_opened", "incidents", ["status", "opened_at"])
    op.add_column("tickets", sa.Column("booked_slot", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_tickets_booked_slot", "tickets", ["booked_slot"])


def downgrade() -> None:
    op.drop_index("ix_tickets_booked_slot", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("booked_slot")
    op.drop_index("ix_incidents_status_opened", table_name="incidents")
    op.drop_table("incidents")
    op.drop_index("ix_committee_sessions_status_started", table_name="committee_sessions")
    op.drop_table("committee_sessions")
