"""Private guest records: encrypted contact fields with blind indexes, name search, booking
counts, tenant data keys, guest accounts.

Existing plaintext email, phone and notes are encrypted in place; that needs the master key,
which the migration runner passes in `config.attributes["master_key"]`.

Revision ID: t0002
Revises: t0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "t0002"
down_revision: str | None = "t0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_key",
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped", postgresql.BYTEA(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("purpose IN ('data', 'index')", name=op.f("data_key_purpose")),
        sa.PrimaryKeyConstraint("purpose", "version", name=op.f("data_key_pkey")),
    )
    for column in ("email_enc", "email_bidx", "phone_enc", "phone_bidx", "notes_enc"):
        op.add_column("guest", sa.Column(column, postgresql.BYTEA(), nullable=True))
    op.add_column("guest", sa.Column("name_key", sa.Text(), server_default="", nullable=False))
    op.add_column("guest", sa.Column("search_vector", postgresql.TSVECTOR(), nullable=True))
    op.add_column("guest", sa.Column("booking_count", sa.Integer(), server_default="0", nullable=False))
    for column in ("stay_guest_email_enc", "stay_guest_phone_enc"):
        op.add_column("booking", sa.Column(column, postgresql.BYTEA(), nullable=True))
    op.add_column("booking", sa.Column("cancel_reason", sa.Text(), nullable=True))

    _encrypt_existing_rows()

    op.drop_index("guest_lower_name_id", table_name="guest")
    op.drop_index("guest_created_at_id", table_name="guest")
    op.drop_index("guest_last_activity_at_id", table_name="guest")
    for column in ("email", "phone", "notes"):
        op.drop_column("guest", column)
    for column in ("stay_guest_email", "stay_guest_phone"):
        op.drop_column("booking", column)
    live = sa.text("erased_at IS NULL")
    op.create_index("guest_created_at_id", "guest", ["created_at", "id"], postgresql_where=live)
    op.create_index("guest_last_activity_at_id", "guest", ["last_activity_at", "id"], postgresql_where=live)
    op.create_index("guest_name_key_id", "guest", ["name_key", "id"], postgresql_where=live)
    op.create_index("guest_booking_count_id", "guest", ["booking_count", "id"], postgresql_where=live)
    op.create_index("guest_email_bidx", "guest", ["email_bidx"])
    op.create_index("guest_phone_bidx", "guest", ["phone_bidx"])
    op.create_index("guest_search_vector", "guest", ["search_vector"], postgresql_using="gin")
    op.create_index("booking_property_id_guest_id", "booking", ["property_id", "guest_id"])
    op.create_index("booking_guest_id_check_in", "booking", ["guest_id", "check_in"])

    _guest_tally()

    op.create_table(
        "guest_account",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("email_bidx", postgresql.BYTEA(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["guest_id"], ["guest.id"], name=op.f("guest_account_guest_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("guest_account_pkey")),
        sa.UniqueConstraint("email_bidx", name=op.f("guest_account_email_bidx_key")),
        sa.UniqueConstraint("guest_id", name=op.f("guest_account_guest_id_key")),
    )


_TALLY_FUNCTION = """
CREATE FUNCTION guest_tally_apply() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    delta bigint := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        delta := delta + (SELECT count(*) FROM new_rows WHERE erased_at IS NULL);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        delta := delta - (SELECT count(*) FROM old_rows WHERE erased_at IS NULL);
    END IF;
    IF delta <> 0 THEN
        UPDATE guest_tally SET live = live + delta;
    END IF;
    RETURN NULL;
END
$$
"""


def _guest_tally() -> None:
    """A live-guest counter kept by statement-level triggers (one update per statement, so bulk
    intake stays cheap); the function's search_path is pinned to this tenant's schema."""
    op.create_table(
        "guest_tally",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id", name=op.f("guest_tally_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("guest_tally_pkey")),
    )
    op.execute("INSERT INTO guest_tally (id, live) SELECT true, count(*) FROM guest WHERE erased_at IS NULL")
    op.execute(_TALLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER guest_tally_insert AFTER INSERT ON guest REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION guest_tally_apply()"
    )
    op.execute(
        "CREATE TRIGGER guest_tally_update AFTER UPDATE ON guest REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION guest_tally_apply()"
    )
    op.execute(
        "CREATE TRIGGER guest_tally_delete AFTER DELETE ON guest REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION guest_tally_apply()"
    )


def _encrypt_existing_rows() -> None:
    from hospes.resolvers.guest_fields import encrypted_contact, name_fields
    from hospes.tenancy.keyring import ensure_keys

    connection = op.get_bind()
    pending = connection.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM guest) + "
            "(SELECT count(*) FROM booking WHERE stay_guest_email IS NOT NULL OR stay_guest_phone IS NOT NULL)"
        )
    ).scalar_one()
    schema_name = context.config.attributes["schema_name"]
    master = context.config.attributes.get("master_key")
    if pending and master is None:
        raise RuntimeError(f"{schema_name} holds guest data to encrypt: set HOSPES_MASTER_KEY")
    if not pending or master is None:
        return
    keys = ensure_keys(connection, master, schema_name=schema_name)
    guests = connection.execute(sa.text("SELECT id, name, email, phone, notes FROM guest")).all()
    for row in guests:
        values = {
            **encrypted_contact(keys, email=row.email, phone=row.phone, notes=row.notes),
            **name_fields(row.name),
        }
        connection.execute(
            sa.text(
                "UPDATE guest SET email_enc = :email_enc, email_bidx = :email_bidx, phone_enc = :phone_enc, "
                "phone_bidx = :phone_bidx, notes_enc = :notes_enc, name_key = :name_key, "
                "search_vector = to_tsvector('simple', :search_text), "
                "booking_count = (SELECT count(*) FROM booking b WHERE b.guest_id = guest.id AND b.status <> 'cancelled') "
                "WHERE id = :id"
            ),
            {**values, "id": row.id},
        )
    stays = connection.execute(
        sa.text(
            "SELECT id, stay_guest_email, stay_guest_phone FROM booking WHERE stay_guest_email IS NOT NULL OR stay_guest_phone IS NOT NULL"
        )
    ).all()
    for row in stays:
        connection.execute(
            sa.text(
                "UPDATE booking SET stay_guest_email_enc = :email, stay_guest_phone_enc = :phone WHERE id = :id"
            ),
            {
                "id": row.id,
                "email": keys.encrypt_optional(row.stay_guest_email, column="booking.stay_guest_email"),
                "phone": keys.encrypt_optional(row.stay_guest_phone, column="booking.stay_guest_phone"),
            },
        )


def downgrade() -> None:
    raise NotImplementedError("encrypted guest data cannot be downgraded to plaintext by a migration")
