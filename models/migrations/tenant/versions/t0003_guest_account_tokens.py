"""guest account tokens

Revision ID: t0003
Revises: t0002
Create Date: 2026-11-23 09:37:38.478414
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "t0003"
down_revision: str | None = "t0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_token",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("new_email_enc", postgresql.BYTEA(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('reset_password', 'set_password', 'change_email')",
            name=op.f("account_token_purpose"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["guest_account.id"],
            name=op.f("account_token_account_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("account_token_pkey")),
        sa.UniqueConstraint("token_hash", name=op.f("account_token_token_hash_key")),
    )
    op.create_index(op.f("account_token_account_id_idx"), "account_token", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("account_token_account_id_idx"), table_name="account_token")
    op.drop_table("account_token")
