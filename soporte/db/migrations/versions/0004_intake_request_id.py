"""ticket_intake.request_id: match the rows of one multi-row INSERT to their requests

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_intake") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_intake") as batch:
        batch.drop_column("request_id")
