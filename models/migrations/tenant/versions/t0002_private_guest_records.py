"""Private guest records: encrypted contact fields with blind indexes, name search, booking
counts, tenant data keys, guest accounts.

Existing plaintext email, phone and notes are encrypted in place; that needs the master key,
which the migration runner passes in `config.attributes["master_key"]`. The revision is frozen: it
repeats here the ciphertext layout, blind index, key wrapping and name folding of `tenancy/crypto.py`,
`tenancy/keyring.py` and `resolvers/guest_fields.py` as they were when it was written, rather than
importing them.

Revision ID: t0002
Revises: t0001
"""

import hashlib
import hmac
import os
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic import context, op
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.dialects import postgresql

revision: str = "t0002"
down_revision: str | None = "t0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tenancy/crypto.py: b"\x01" | key version (4 bytes, big endian) | nonce (12 bytes) | AES-GCM output.
_FORMAT = 1
_HEADER = struct.Struct(">BI")
_NONCE_BYTES = 12
_KEY_BYTES = 32
# resolvers/guest_fields.py: the words a folded name is made of.
_WORD = re.compile(r"[a-z0-9]+")


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
    connection = op.get_bind()
    pending = connection.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM guest) + "
            "(SELECT count(*) FROM booking WHERE stay_guest_email IS NOT NULL OR stay_guest_phone IS NOT NULL)"
        )
    ).scalar_one()
    schema_name = context.config.attributes["schema_name"]
    master = _master_key()
    if pending and master is None:
        raise RuntimeError(f"{schema_name} holds guest data to encrypt: set HOSPES_MASTER_KEY")
    if not pending or master is None:
        return
    keys = _ensure_keys(connection, master, schema_name=schema_name)
    guests = connection.execute(sa.text("SELECT id, name, email, phone, notes FROM guest")).all()
    for row in guests:
        values = {
            **_encrypted_contact(keys, email=row.email, phone=row.phone, notes=row.notes),
            **_name_fields(row.name),
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


@dataclass(frozen=True)
class _Keys:
    """The tenant's unwrapped keys: data keys by version (the highest seals) and the index key."""

    data: dict[int, bytes] = field(repr=False)
    index: bytes = field(repr=False)

    def encrypt_optional(self, value: str | None, *, column: str) -> bytes | None:
        # tenancy/crypto.py TenantKeys.encrypt: the column name is the associated data.
        if value is None:
            return None
        version = max(self.data)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.data[version]).encrypt(nonce, value.encode(), column.encode())
        return _HEADER.pack(_FORMAT, version) + nonce + sealed

    def blind_index(self, normalised: str | None, *, kind: str) -> bytes | None:
        if normalised is None:
            return None
        return hmac.new(self.index, f"{kind}:{normalised}".encode(), hashlib.sha256).digest()


def _encrypted_contact(
    keys: _Keys, *, email: str | None, phone: str | None, notes: str | None
) -> dict[str, bytes | None]:
    return {
        "email_enc": keys.encrypt_optional(email, column="guest.email"),
        "email_bidx": keys.blind_index(email, kind="email"),
        "phone_enc": keys.encrypt_optional(phone, column="guest.phone"),
        "phone_bidx": keys.blind_index(phone, kind="phone"),
        "notes_enc": keys.encrypt_optional(notes, column="guest.notes"),
    }


def _name_fields(name: str) -> dict[str, str]:
    """`name_key` (sort key) and search text: the name lower-cased, without accents, in words."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = " ".join(_WORD.findall(folded))
    return {"name_key": words, "search_text": words}


def _master_key() -> bytes | None:
    """The 32 bytes of the master key the runner passed: tenancy.migrations hands over a
    `MasterKey`, whose `raw` holds them (plain bytes are accepted too)."""
    master = context.config.attributes.get("master_key")
    if master is None:
        return None
    raw = master if isinstance(master, bytes) else getattr(master, "raw", None)
    if not isinstance(raw, bytes) or len(raw) != _KEY_BYTES:
        raise RuntimeError("the master key passed to the migration is not 32 bytes")
    return raw


def _wrap_context(schema_name: str, purpose: str, version: int) -> bytes:
    # tenancy/keyring.py: a wrapped key is bound to its schema, purpose and version.
    return f"{schema_name}/{purpose}/{version}".encode()


def _unwrap(master: bytes, schema_name: str, purpose: str, row: sa.Row) -> bytes:
    wrapped = bytes(row.wrapped)
    try:
        return AESGCM(master).decrypt(
            wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _wrap_context(schema_name, purpose, row.version)
        )
    except InvalidTag as error:  # the tenant's migration then rolls back as a whole
        raise RuntimeError(f"cannot unwrap the {purpose} key of {schema_name}: wrong master key") from error


def _ensure_keys(connection: sa.Connection, master: bytes, *, schema_name: str) -> _Keys:
    """The tenant's keys (tenancy/keyring.py `ensure_keys`): its first ones, data and index,
    are made here if it has none."""
    connection.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"{schema_name}/keys"}
    )
    select = sa.text("SELECT purpose, version, wrapped FROM data_key ORDER BY purpose, version")
    rows = connection.execute(select).all()
    if not {"data", "index"} <= {row.purpose for row in rows}:
        for purpose in ("data", "index"):
            version = 1 + max((row.version for row in rows if row.purpose == purpose), default=0)
            nonce = os.urandom(_NONCE_BYTES)
            wrapped = nonce + AESGCM(master).encrypt(
                nonce, os.urandom(_KEY_BYTES), _wrap_context(schema_name, purpose, version)
            )
            connection.execute(
                sa.text(
                    "INSERT INTO data_key (purpose, version, wrapped) VALUES (:purpose, :version, :wrapped) "
                    "ON CONFLICT (purpose, version) DO NOTHING"
                ),
                {"purpose": purpose, "version": version, "wrapped": wrapped},
            )
        rows = connection.execute(select).all()
    data = {row.version: _unwrap(master, schema_name, "data", row) for row in rows if row.purpose == "data"}
    last_index = [row for row in rows if row.purpose == "index"][-1]
    return _Keys(data, _unwrap(master, schema_name, "index", last_index))


def downgrade() -> None:
    raise NotImplementedError("encrypted guest data cannot be downgraded to plaintext by a migration")
