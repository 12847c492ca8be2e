"""inquiries: the pipeline from a guest's first question to a booking, with quotes, reminders and history

Revision ID: t0008
Revises: t0007
Create Date: 2027-01-20 12:00:00
"""

import tomllib
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "t0008"
down_revision: str | None = "t0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen with this revision (it imports no app code): the values and default copy as written.
STAGES = "'new', 'responded', 'quoted', 'confirmed', 'lost'"
SOURCES = "'email', 'contact_form', 'phone', 'whatsapp', 'sms'"
LOST_REASONS = "'price', 'dates_unavailable', 'no_answer', 'booked_elsewhere', 'other'"
REMINDER_STATUSES = "'scheduled', 'sent', 'cancelled'"
EVENT_KINDS = (
    "'received', 'message_in', 'message_out', 'reminder_scheduled', 'reminder_sent', "
    "'reminder_cancelled', 'quoted', 'stage_changed', 'assigned', 'updated'"
)
ACTORS = "'staff', 'guest', 'system'"
DEFAULT_TEMPLATES_FILE = Path(__file__).with_name("t0008_default_templates.toml")


def _id() -> sa.Column:
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str = "RESTRICT") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"{table}_{column}_fkey"), ondelete=ondelete
    )


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"{table}_{column}_idx"), table, [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "inquiry",
        _id(),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("property_id", sa.UUID(), nullable=True),
        sa.Column("check_in", sa.Date(), nullable=True),
        sa.Column("check_out", sa.Date(), nullable=True),
        sa.Column("adults", sa.SmallInteger(), nullable=True),
        sa.Column("children", sa.SmallInteger(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), server_default=sa.text("'new'"), nullable=False),
        sa.Column("needs_action", sa.Boolean(), nullable=False),
        sa.Column("subject_enc", postgresql.BYTEA(), nullable=True),
        sa.Column("message_enc", postgresql.BYTEA(), nullable=True),
        sa.Column("notes_enc", postgresql.BYTEA(), nullable=True),
        sa.Column("lost_reason", sa.String(length=30), nullable=True),
        sa.Column("lost_note_enc", postgresql.BYTEA(), nullable=True),
        sa.Column("assignee_id", sa.UUID(), nullable=True),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.Column("reply_token", sa.String(length=40), nullable=False),
        _now("received_at"),
        _now("last_activity_at"),
        sa.Column("guest_wrote_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_staff_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(f"stage IN ({STAGES})", name=op.f("inquiry_stage")),
        sa.CheckConstraint(f"source IN ({SOURCES})", name=op.f("inquiry_source")),
        sa.CheckConstraint(f"lost_reason IN ({LOST_REASONS})", name=op.f("inquiry_lost_reason")),
        sa.CheckConstraint(
            "check_out IS NULL OR check_in IS NULL OR check_out > check_in",
            name=op.f("inquiry_dates_ordered"),
        ),
        sa.CheckConstraint("adults IS NULL OR adults >= 1", name=op.f("inquiry_adults")),
        sa.CheckConstraint("children IS NULL OR children >= 0", name=op.f("inquiry_children")),
        _fk("inquiry", "guest_id", "guest"),
        _fk("inquiry", "property_id", "property"),
        _fk("inquiry", "assignee_id", "staff_user", "SET NULL"),
        _fk("inquiry", "booking_id", "booking"),
        _fk("inquiry", "created_by_staff_id", "staff_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("inquiry_pkey")),
        sa.UniqueConstraint("reply_token", name=op.f("inquiry_reply_token_key")),
        sa.UniqueConstraint("booking_id", name=op.f("inquiry_booking_id_key")),
    )
    _indexes("inquiry", "guest_id", "property_id", "assignee_id", "booking_id", "created_by_staff_id")
    op.create_index("inquiry_guest_id_stage", "inquiry", ["guest_id", "stage"], unique=False)
    op.create_index(
        "inquiry_stage_needs_action_last_activity_at",
        "inquiry",
        ["stage", "needs_action", "last_activity_at"],
        unique=False,
    )

    op.create_table(
        "inquiry_quote",
        _id(),
        sa.Column("inquiry_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("communication_id", sa.UUID(), nullable=True),
        sa.Column("created_by_staff_id", sa.UUID(), nullable=True),
        _now("created_at"),
        sa.CheckConstraint("amount >= 0", name=op.f("inquiry_quote_amount_not_negative")),
        _fk("inquiry_quote", "inquiry_id", "inquiry", "CASCADE"),
        _fk("inquiry_quote", "communication_id", "communication"),
        _fk("inquiry_quote", "created_by_staff_id", "staff_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("inquiry_quote_pkey")),
    )
    _indexes("inquiry_quote", "inquiry_id", "communication_id", "created_by_staff_id")
    op.create_index(
        "inquiry_quote_inquiry_id_created_at", "inquiry_quote", ["inquiry_id", "created_at"], unique=False
    )

    op.create_table(
        "inquiry_reminder",
        _id(),
        sa.Column("inquiry_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.SmallInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'scheduled'"), nullable=False),
        sa.Column("communication_id", sa.UUID(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(f"status IN ({REMINDER_STATUSES})", name=op.f("inquiry_reminder_status")),
        sa.CheckConstraint("sequence BETWEEN 1 AND 3", name=op.f("inquiry_reminder_sequence")),
        _fk("inquiry_reminder", "inquiry_id", "inquiry", "CASCADE"),
        _fk("inquiry_reminder", "communication_id", "communication"),
        sa.PrimaryKeyConstraint("id", name=op.f("inquiry_reminder_pkey")),
    )
    _indexes("inquiry_reminder", "inquiry_id", "communication_id")
    op.create_index(
        "inquiry_reminder_scheduled_sequence",
        "inquiry_reminder",
        ["inquiry_id", "sequence"],
        unique=True,
        postgresql_where=sa.text("status = 'scheduled'"),
    )

    op.create_table(
        "inquiry_event",
        _id(),
        sa.Column("inquiry_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=10), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=True),
        sa.Column("communication_id", sa.UUID(), nullable=True),
        sa.Column("reminder_id", sa.UUID(), nullable=True),
        sa.Column("quote_id", sa.UUID(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        _now("at"),
        sa.CheckConstraint(f"kind IN ({EVENT_KINDS})", name=op.f("inquiry_event_kind")),
        sa.CheckConstraint(f"actor IN ({ACTORS})", name=op.f("inquiry_event_actor")),
        _fk("inquiry_event", "inquiry_id", "inquiry", "CASCADE"),
        _fk("inquiry_event", "staff_id", "staff_user", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("inquiry_event_pkey")),
    )
    _indexes("inquiry_event", "inquiry_id", "staff_id")
    op.create_index("inquiry_event_inquiry_id_at", "inquiry_event", ["inquiry_id", "at"], unique=False)

    op.add_column("communication", sa.Column("inquiry_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("communication_inquiry_id_fkey"),
        "communication",
        "inquiry",
        ["inquiry_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_index(op.f("communication_inquiry_id_idx"), "communication", ["inquiry_id"], unique=False)

    # The quote mail's default copy, in English and Spanish; later edits are the company's own rows.
    template = sa.table(
        "message_template",
        sa.column("key", sa.String),
        sa.column("language", sa.String),
        sa.column("channel", sa.String),
        sa.column("message_class", sa.String),
        sa.column("subject", sa.String),
        sa.column("body", sa.Text),
    )
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
    op.execute("DELETE FROM message_template WHERE key = 'inquiry_quote'")
    op.drop_index(op.f("communication_inquiry_id_idx"), table_name="communication")
    op.drop_constraint(op.f("communication_inquiry_id_fkey"), "communication", type_="foreignkey")
    op.drop_column("communication", "inquiry_id")
    op.drop_table("inquiry_event")
    op.drop_table("inquiry_reminder")
    op.drop_table("inquiry_quote")
    op.drop_table("inquiry")
