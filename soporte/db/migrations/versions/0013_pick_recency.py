"""assignment picks: indexed by when they were made (the load counts only recent ones)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_assignment_picks_picked_at", "assignment_picks", ["picked_at"])


def downgrade() -> None:
    op.drop_index("ix_assignment_picks_picked_at", table_name="assignment_picks")
