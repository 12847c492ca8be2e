"""tenant registry

Revision ID: p0001
Revises:
Create Date: 2026-11-23 08:55:06.906873
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "p0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sa.String(length=41), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("schema_name", sa.String(length=63), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f("tenant_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("tenant_pkey")),
        sa.UniqueConstraint("schema_name", name=op.f("tenant_schema_name_key")),
        sa.UniqueConstraint("slug", name=op.f("tenant_slug_key")),
        schema="public",
    )


def downgrade() -> None:
    op.drop_table("tenant", schema="public")
