"""messaging: templates, delivery timeline, lifecycle schedule, provider settings

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-23 13:40:00
"""

import tomllib
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "t0004"
down_revision: str | None = "t0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen with this revision (it imports no app code): the default copy as it was when written.
DEFAULT_TEMPLATES_FILE = Path(__file__).with_name("t0004_default_templates.toml")


def upgrade() -> None:
    template = op.create_table(
        "message_template",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column(
            "message_class", sa.String(length=20), server_default=sa.text("'transactional'"), nullable=False
        ),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_staff_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("channel IN ('whatsapp', 'email', 'sms')", name=op.f("message_template_channel")),
        sa.CheckConstraint(
            "message_class IN ('transactional', 'marketing')", name=op.f("message_template_message_class")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("message_template_pkey")),
        sa.UniqueConstraint(
            "key",
            "language",
            "channel",
            name=op.f("message_template_key_language_channel_key"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "provider_settings",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("config_enc", postgresql.BYTEA(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id", name=op.f("provider_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("provider_settings_pkey")),
    )
    op.create_table(
        "scheduled_message",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("template_key", sa.String(length=50), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'scheduled'"), nullable=False),
        sa.Column("communication_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('scheduled', 'done', 'cancelled')", name=op.f("scheduled_message_status")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("scheduled_message_booking_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("scheduled_message_pkey")),
        sa.UniqueConstraint(
            "booking_id", "template_key", name=op.f("scheduled_message_booking_id_template_key_key")
        ),
    )
    op.create_index(
        op.f("scheduled_message_booking_id_idx"), "scheduled_message", ["booking_id"], unique=False
    )
    op.create_table(
        "communication_event",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("communication_id", sa.UUID(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "step IN ('queued', 'suppressed', 'sending', 'sent', 'retrying', 'rerouted', 'failed', "
            "'delivered', 'read', 'received')",
            name=op.f("communication_event_step"),
        ),
        sa.ForeignKeyConstraint(
            ["communication_id"],
            ["communication.id"],
            name=op.f("communication_event_communication_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("communication_event_pkey")),
    )
    op.create_index(
        op.f("communication_event_communication_id_idx"),
        "communication_event",
        ["communication_id"],
        unique=False,
    )
    op.add_column("communication", sa.Column("language", sa.String(length=35), nullable=True))
    op.add_column(
        "communication",
        sa.Column("channel_requested", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("communication", sa.Column("recipient_enc", postgresql.BYTEA(), nullable=True))
    op.add_column("communication", sa.Column("secrets_enc", postgresql.BYTEA(), nullable=True))
    op.add_column("communication", sa.Column("provider", sa.String(length=20), nullable=True))
    op.add_column(
        "communication", sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.add_column("communication", sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("communication", sa.Column("created_by_staff_id", sa.UUID(), nullable=True))
    op.add_column("communication", sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "communication_provider_message_id",
        "communication",
        ["provider_message_id"],
        unique=True,
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )
    # Every company starts with good default texts in English and Spanish; later edits are theirs.
    op.bulk_insert(
        template,
        [
            {
                "key": default["key"],
                "language": default["language"],
                "channel": default.get("channel"),
                "message_class": default["message_class"],
                "subject": default.get("subject"),
                "body": default["body"],
            }
            for default in tomllib.loads(DEFAULT_TEMPLATES_FILE.read_text(encoding="utf-8"))["template"]
        ],
    )


def downgrade() -> None:
    op.drop_index("communication_provider_message_id", table_name="communication")
    for column in (
        "status_at",
        "created_by_staff_id",
        "sending_since",
        "attempts",
        "provider",
        "secrets_enc",
        "recipient_enc",
        "channel_requested",
        "language",
    ):
        op.drop_column("communication", column)
    op.drop_index(op.f("communication_event_communication_id_idx"), table_name="communication_event")
    op.drop_table("communication_event")
    op.drop_index(op.f("scheduled_message_booking_id_idx"), table_name="scheduled_message")
    op.drop_table("scheduled_message")
    op.drop_table("provider_settings")
    op.drop_table("message_template")
