"""account verification: pending registrations, mail to an address no guest holds yet

Revision ID: t0005
Revises: t0004
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "t0005"
down_revision: str | None = "t0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_registration",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email_bidx", postgresql.BYTEA(), nullable=False),
        sa.Column("email_enc", postgresql.BYTEA(), nullable=False),
        sa.Column("name_enc", postgresql.BYTEA(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("account_registration_pkey")),
        sa.UniqueConstraint("token_hash", name=op.f("account_registration_token_hash_key")),
    )
    op.create_index("account_registration_email_bidx", "account_registration", ["email_bidx"], unique=False)
    op.create_index("account_registration_expires_at", "account_registration", ["expires_at"], unique=False)
    # A registration's link goes to an address before any guest record holds it.
    op.alter_column("communication", "guest_id", existing_type=sa.UUID(), nullable=True)
    op.create_check_constraint(
        op.f("communication_addressed"), "communication", "guest_id IS NOT NULL OR recipient_enc IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("communication_addressed"), "communication", type_="check")
    # Their timelines go with them (ON DELETE CASCADE); their outbox work then finds nothing to send.
    op.execute("DELETE FROM communication WHERE guest_id IS NULL")
    op.alter_column("communication", "guest_id", existing_type=sa.UUID(), nullable=False)
    op.drop_index("account_registration_expires_at", table_name="account_registration")
    op.drop_index("account_registration_email_bidx", table_name="account_registration")
    op.drop_table("account_registration")
