"""portal: sign-in links, sign-in requests, web sessions

Revision ID: 0006
Revises: 0009 (re-chained after main's 0009_audit_log; the brief gave 0005)
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("next_path", sa.String(500), nullable=False),
        _instant("created_at"),
        _instant("expires_at"),
        _instant("used_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_sign_in_links_email", "sign_in_links", ["email"])
    op.create_table(
        "sign_in_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email_digest", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        _instant("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_requests_email_at", "sign_in_requests", ["email_digest", "at"])
    op.create_index("ix_sign_in_requests_ip_at", "sign_in_requests", ["ip", "at"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        _instant("created_at"),
        _instant("last_seen_at"),
        _instant("expires_at"),
        _instant("ended_at", nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_web_sessions_email", "web_sessions", ["email"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_email", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index("ix_sign_in_requests_ip_at", table_name="sign_in_requests")
    op.drop_index("ix_sign_in_requests_email_at", table_name="sign_in_requests")
    op.drop_table("sign_in_requests")
    op.drop_index("ix_sign_in_links_email", table_name="sign_in_links")
    op.drop_table("sign_in_links")
