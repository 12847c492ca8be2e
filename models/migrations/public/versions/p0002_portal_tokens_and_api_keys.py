"""portal tokens and api keys

Revision ID: p0002
Revises: p0001
Create Date: 2026-11-23 09:37:38.104712
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "p0002"
down_revision: str | None = "p0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["public.tenant.id"], name=op.f("api_key_tenant_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("api_key_pkey")),
        sa.UniqueConstraint("prefix", name=op.f("api_key_prefix_key")),
        schema="public",
    )
    op.create_index(op.f("api_key_tenant_id_idx"), "api_key", ["tenant_id"], unique=False, schema="public")
    op.create_table(
        "portal_token",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("token_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["public.tenant.id"], name=op.f("portal_token_tenant_id_fkey")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("portal_token_pkey")),
        sa.UniqueConstraint("token_hash", name=op.f("portal_token_token_hash_key")),
        schema="public",
    )
    op.create_index(
        "portal_token_tenant_booking",
        "portal_token",
        ["tenant_id", "booking_id"],
        unique=False,
        schema="public",
    )


def downgrade() -> None:
    op.drop_index("portal_token_tenant_booking", table_name="portal_token", schema="public")
    op.drop_table("portal_token", schema="public")
    op.drop_index(op.f("api_key_tenant_id_idx"), table_name="api_key", schema="public")
    op.drop_table("api_key", schema="public")
