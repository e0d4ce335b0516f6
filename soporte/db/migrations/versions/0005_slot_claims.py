"""slot_claims: one advisory slot, one ticket, across API processes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slot_claims",
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("start"),
    )
    op.create_index("ix_slot_claims_number", "slot_claims", ["number"])


def downgrade() -> None:
    op.drop_index("ix_slot_claims_number", table_name="slot_claims")
    op.drop_table("slot_claims")
