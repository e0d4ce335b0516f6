"""console: saved replies (plantillas de respuesta); refused mail handled from the console

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-01

Chained after 0008 when reports merged main (0005, 0009, 0007, 0006, 0008): it touches
other tables, so the order does not matter. One head.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("updated_by", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("title", name="uq_saved_replies_title"),
    )
    with op.batch_alter_table("refused_mail") as table:
        table.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("handled_by", sa.String(254), nullable=True))
        table.add_column(sa.Column("ticket_number", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refused_mail") as table:
        table.drop_column("ticket_number")
        table.drop_column("handled_by")
        table.drop_column("handled_at")
    op.drop_table("saved_replies")
