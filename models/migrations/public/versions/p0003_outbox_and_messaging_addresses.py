"""outbox and messaging addresses

Revision ID: p0003
Revises: p0002
Create Date: 2026-11-23 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0003"
down_revision: str | None = "p0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messaging_address",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("channel IN ('whatsapp', 'email', 'sms')", name=op.f("messaging_address_channel")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["public.tenant.id"], name=op.f("messaging_address_tenant_id_fkey")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("messaging_address_pkey")),
        sa.UniqueConstraint("channel", "address", name=op.f("messaging_address_channel_address_key")),
        schema="public",
    )
    op.create_index(
        op.f("messaging_address_tenant_id_idx"),
        "messaging_address",
        ["tenant_id"],
        unique=False,
        schema="public",
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.UUID(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('deliver', 'lifecycle')", name=op.f("outbox_kind")),
        sa.ForeignKeyConstraint(["tenant_id"], ["public.tenant.id"], name=op.f("outbox_tenant_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("outbox_pkey")),
        sa.UniqueConstraint("tenant_id", "kind", "ref_id", name=op.f("outbox_tenant_id_kind_ref_id_key")),
        schema="public",
    )
    op.create_index("outbox_due_at", "outbox", ["due_at"], unique=False, schema="public")


def downgrade() -> None:
    op.drop_index("outbox_due_at", table_name="outbox", schema="public")
    op.drop_table("outbox", schema="public")
    op.drop_index(op.f("messaging_address_tenant_id_idx"), table_name="messaging_address", schema="public")
    op.drop_table("messaging_address", schema="public")
