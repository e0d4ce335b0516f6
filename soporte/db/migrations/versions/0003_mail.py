"""email channel: inbound_mail, refused_mail, auto_replies

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
# History: 0001 -> 0003 (this) -> 0002 (committee and incidents, chained after this one).
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_mail",
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index(op.f("ix_inbound_mail_number"), "inbound_mail", ["number"])
    op.create_table(
        "refused_mail",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_refused_mail_received", "refused_mail", ["received_at"])
    op.create_table(
        "auto_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inbound_message_id", sa.String(length=500), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_message_id"),
    )
    op.create_index("ix_auto_replies_to_sent", "auto_replies", ["to_address", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_auto_replies_to_sent", table_name="auto_replies")
    op.drop_table("auto_replies")
    op.drop_index("ix_refused_mail_received", table_name="refused_mail")
    op.drop_table("refused_mail")
    op.drop_index(op.f("ix_inbound_mail_number"), table_name="inbound_mail")
    op.drop_table("inbound_mail")
