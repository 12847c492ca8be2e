"""guest graph

Revision ID: t0001
Revises:
Create Date: 2026-11-23 08:55:06.970693
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "t0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("audit_event_pkey")),
    )
    op.create_index("audit_event_entity", "audit_event", ["entity", "entity_id"], unique=False)
    op.create_table(
        "guest",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("country", sa.CHAR(length=2), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("preferred_channel", sa.String(length=20), nullable=True),
        sa.Column("sms_opt_in", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("marketing_email_consent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_activity_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "preferred_channel IN ('whatsapp', 'email', 'sms')",
            name=op.f("guest_preferred_channel"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("guest_pkey")),
    )
    op.create_index("guest_created_at_id", "guest", ["created_at", "id"], unique=False)
    op.create_index("guest_last_activity_at_id", "guest", ["last_activity_at", "id"], unique=False)
    op.create_index("guest_lower_name_id", "guest", [sa.literal_column("lower(name)"), "id"], unique=False)
    op.create_table(
        "property",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default=sa.text("'UTC'"), nullable=False),
        sa.Column("villa_guide", sa.Text(), nullable=True),
        sa.Column("check_in_instructions", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("property_pkey")),
    )
    op.create_table(
        "service",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("price >= 0", name=op.f("service_price_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("service_pkey")),
    )
    op.create_table(
        "staff_user",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=20), server_default=sa.text("'agent'"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('owner', 'manager', 'agent')", name=op.f("staff_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("staff_user_pkey")),
        sa.UniqueConstraint("email", name=op.f("staff_user_email_key")),
    )
    op.create_table(
        "booking",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("property_id", sa.UUID(), nullable=False),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("stay_guest_name", sa.String(length=200), nullable=True),
        sa.Column("stay_guest_email", sa.String(length=320), nullable=True),
        sa.Column("stay_guest_phone", sa.String(length=20), nullable=True),
        sa.Column("check_in", sa.Date(), nullable=False),
        sa.Column("check_out", sa.Date(), nullable=False),
        sa.Column("adults", sa.SmallInteger(), nullable=False),
        sa.Column("children", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'confirmed'"), nullable=False),
        sa.Column("source", sa.String(length=20), server_default=sa.text("'manual'"), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("created_by_staff_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source IN ('manual', 'ota', 'booking_form', 'inquiry')", name=op.f("booking_source")
        ),
        sa.CheckConstraint(
            "status IN ('inquiry', 'confirmed', 'cancelled', 'completed', 'no_show')",
            name=op.f("booking_status"),
        ),
        sa.CheckConstraint("adults >= 1 AND children >= 0", name=op.f("booking_party_size")),
        sa.CheckConstraint("amount >= 0", name=op.f("booking_amount_not_negative")),
        sa.CheckConstraint("check_out > check_in", name=op.f("booking_dates_ordered")),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"],
            ["staff_user.id"],
            name=op.f("booking_created_by_staff_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["guest_id"], ["guest.id"], name=op.f("booking_guest_id_fkey"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["property.id"],
            name=op.f("booking_property_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("booking_pkey")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("booking_channel_external_id_key")),
    )
    op.create_index(op.f("booking_created_by_staff_id_idx"), "booking", ["created_by_staff_id"], unique=False)
    op.create_index(op.f("booking_guest_id_idx"), "booking", ["guest_id"], unique=False)
    op.create_index(op.f("booking_property_id_idx"), "booking", ["property_id"], unique=False)
    op.create_table(
        "communication",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("template_key", sa.String(length=100), nullable=True),
        sa.Column(
            "message_class",
            sa.String(length=20),
            server_default=sa.text("'transactional'"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("provider_message_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('whatsapp', 'email', 'sms')", name=op.f("communication_channel")),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("communication_direction")),
        sa.CheckConstraint(
            "message_class IN ('transactional', 'marketing')",
            name=op.f("communication_message_class"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'delivered', 'read', 'failed', 'suppressed')",
            name=op.f("communication_status"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("communication_booking_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["guest_id"],
            ["guest.id"],
            name=op.f("communication_guest_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("communication_pkey")),
    )
    op.create_index(op.f("communication_booking_id_idx"), "communication", ["booking_id"], unique=False)
    op.create_index(op.f("communication_guest_id_idx"), "communication", ["guest_id"], unique=False)
    op.create_table(
        "payment",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'paid'"), nullable=False),
        sa.Column("provider_reference", sa.String(length=200), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'refunded', 'failed')", name=op.f("payment_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("payment_amount_positive")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("payment_booking_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("payment_pkey")),
    )
    op.create_index(op.f("payment_booking_id_idx"), "payment", ["booking_id"], unique=False)
    op.create_table(
        "service_request",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("people", sa.SmallInteger(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'requested'"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'confirmed', 'cancelled', 'done')",
            name=op.f("service_request_status"),
        ),
        sa.CheckConstraint("people >= 1", name=op.f("service_request_people_positive")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("service_request_booking_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["guest_id"],
            ["guest.id"],
            name=op.f("service_request_guest_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("service_request_service_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("service_request_pkey")),
    )
    op.create_index(op.f("service_request_booking_id_idx"), "service_request", ["booking_id"], unique=False)
    op.create_index(op.f("service_request_guest_id_idx"), "service_request", ["guest_id"], unique=False)
    op.create_index(op.f("service_request_service_id_idx"), "service_request", ["service_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("service_request_service_id_idx"), table_name="service_request")
    op.drop_index(op.f("service_request_guest_id_idx"), table_name="service_request")
    op.drop_index(op.f("service_request_booking_id_idx"), table_name="service_request")
    op.drop_table("service_request")
    op.drop_index(op.f("payment_booking_id_idx"), table_name="payment")
    op.drop_table("payment")
    op.drop_index(op.f("communication_guest_id_idx"), table_name="communication")
    op.drop_index(op.f("communication_booking_id_idx"), table_name="communication")
    op.drop_table("communication")
    op.drop_index(op.f("booking_property_id_idx"), table_name="booking")
    op.drop_index(op.f("booking_guest_id_idx"), table_name="booking")
    op.drop_index(op.f("booking_created_by_staff_id_idx"), table_name="booking")
    op.drop_table("booking")
    op.drop_table("staff_user")
    op.drop_table("service")
    op.drop_table("property")
    op.drop_index("guest_lower_name_id", table_name="guest")
    op.drop_index("guest_last_activity_at_id", table_name="guest")
    op.drop_index("guest_created_at_id", table_name="guest")
    op.drop_table("guest")
    op.drop_index("audit_event_entity", table_name="audit_event")
    op.drop_table("audit_event")
