"""registry and read model

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("principal_email", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index(op.f("ix_api_tokens_principal_email"), "api_tokens", ["principal_email"])

    op.create_table(
        "assignment_picks",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("engineer", sa.String(length=254), nullable=False),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index(op.f("ix_assignment_picks_engineer"), "assignment_picks", ["engineer"])

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("uploaded_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number", "sha256", name="uq_attachments_number_sha"),
    )
    op.create_index(op.f("ix_attachments_number"), "attachments", ["number"])

    op.create_table(
        "clients",
        sa.Column("nit", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("consultant_email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nit"),
    )
    op.create_table(
        "outbound_mail",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("to", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_outbound_mail_number"), "outbound_mail", ["number"])

    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number", "seq", name="uq_ticket_events_number_seq"),
    )
    op.create_table(
        "ticket_intake",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("principal", sa.String(length=254), nullable=False),
        sa.Column("nit", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("input", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("principal", "idempotency_key", name="uq_intake_principal_key"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_ticket_intake_nit"), "ticket_intake", ["nit"])

    op.create_table(
        "tickets",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("nit", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index("ix_tickets_assignee_status", "tickets", ["assignee", "status"])
    op.create_index("ix_tickets_breached_created", "tickets", ["breached", "created_at"])
    op.create_index("ix_tickets_created", "tickets", ["created_at", "number"])
    op.create_index("ix_tickets_nit_created", "tickets", ["nit", "created_at"])
    op.create_index("ix_tickets_priority_created", "tickets", ["priority", "created_at"])
    op.create_index("ix_tickets_status_created", "tickets", ["status", "created_at"])

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client_nit", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_nit"],
            ["clients.nit"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index(op.f("ix_contacts_client_nit"), "contacts", ["client_nit"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contacts_client_nit"), table_name="contacts")

    op.drop_table("contacts")
    op.drop_index("ix_tickets_status_created", table_name="tickets")
    op.drop_index("ix_tickets_priority_created", table_name="tickets")
    op.drop_index("ix_tickets_nit_created", table_name="tickets")
    op.drop_index("ix_tickets_created", table_name="tickets")
    op.drop_index("ix_tickets_breached_created", table_name="tickets")
    op.drop_index("ix_tickets_assignee_status", table_name="tickets")

    op.drop_table("tickets")
    op.drop_index(op.f("ix_ticket_intake_nit"), table_name="ticket_intake")

    op.drop_table("ticket_intake")
    op.drop_table("ticket_events")
    op.drop_table("staff")
    op.drop_index(op.f("ix_outbound_mail_number"), table_name="outbound_mail")

    op.drop_table("outbound_mail")
    op.drop_table("clients")
    op.drop_index(op.f("ix_attachments_number"), table_name="attachments")

    op.drop_table("attachments")
    op.drop_index(op.f("ix_assignment_picks_engineer"), table_name="assignment_picks")

    op.drop_table("assignment_picks")
    op.drop_index(op.f("ix_api_tokens_principal_email"), table_name="api_tokens")

    op.drop_table("api_tokens")
