"""Private text encrypted at rest: message subjects and bodies, service-request notes, payment
provider references, booking cancellation reasons, villa guides and check-in instructions move to `*_enc` columns sealed with the tenant's
data key; the plaintext columns are dropped.

Existing rows are encrypted in place. That needs the master key, which the migration runner passes
in `config.attributes["master_key"]` (as for t0002). The revision is frozen: it repeats here the
ciphertext layout and key wrapping of `tenancy/crypto.py` and `tenancy/keyring.py` as they were
when it was written, rather than importing them.

Revision ID: t0006
Revises: t0005
"""

import os
import struct
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.dialects import postgresql

revision: str = "t0006"
down_revision: str | None = "t0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (plaintext column, encrypted column, associated data)
PRIVATE_TEXT: dict[str, tuple[tuple[str, str, str], ...]] = {
    "communication": (
        ("subject", "subject_enc", "communication.subject"),
        ("body", "body_enc", "communication.body"),
    ),
    "service_request": (("notes", "notes_enc", "service_request.notes"),),
    "payment": (("provider_reference", "provider_reference_enc", "payment.provider_reference"),),
    "booking": (("cancel_reason", "cancel_reason_enc", "booking.cancel_reason"),),
    "property": (
        ("villa_guide", "villa_guide_enc", "property.villa_guide"),
        ("check_in_instructions", "check_in_instructions_enc", "property.check_in_instructions"),
    ),
}
BATCH = 1000

# tenancy/crypto.py: b"\x01" | key version (4 bytes, big endian) | nonce (12 bytes) | AES-GCM output.
_FORMAT = 1
_HEADER = struct.Struct(">BI")
_NONCE_BYTES = 12
_KEY_BYTES = 32


def upgrade() -> None:
    for table, columns in PRIVATE_TEXT.items():
        for _, encrypted, _ in columns:
            op.add_column(table, sa.Column(encrypted, postgresql.BYTEA(), nullable=True))
    _encrypt_existing_rows()
    for table, columns in PRIVATE_TEXT.items():
        for plain, _, _ in columns:
            op.drop_column(table, plain)


def downgrade() -> None:
    raise NotImplementedError("encrypted private text cannot be downgraded to plaintext by a migration")


def _encrypt_existing_rows() -> None:
    connection = op.get_bind()
    schema_name: str = context.config.attributes["schema_name"]
    pending = [table for table in PRIVATE_TEXT if _has_plaintext(connection, table)]
    if not pending:
        return
    master = _master_key()
    if master is None:
        raise RuntimeError(f"{schema_name} holds private text to encrypt: set HOSPES_MASTER_KEY")
    version, data_key = _current_data_key(connection, master, schema_name=schema_name)
    sealer = AESGCM(data_key)

    def seal(value: str | None, associated: str) -> bytes | None:
        if value is None:
            return None
        nonce = os.urandom(_NONCE_BYTES)
        return (
            _HEADER.pack(_FORMAT, version)
            + nonce
            + sealer.encrypt(nonce, value.encode(), associated.encode())
        )

    for name in pending:
        columns = PRIVATE_TEXT[name]
        table = _table(name)
        select = (
            sa.select(table.c.id, *(table.c[plain] for plain, _, _ in columns))
            .where(_any_plaintext(table), table.c.id > sa.bindparam("after"))
            .order_by(table.c.id)
            .limit(BATCH)
        )
        update = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({enc: sa.bindparam(f"new_{enc}", type_=postgresql.BYTEA) for _, enc, _ in columns})
        )
        after = uuid.UUID(int=0)
        while rows := connection.execute(select, {"after": after}).all():
            changes = [
                {
                    "row_id": row.id,
                    **{f"new_{enc}": seal(row._mapping[plain], ad) for plain, enc, ad in columns},
                }
                for row in rows
            ]
            connection.execute(update, changes)
            after = rows[-1].id


def _table(name: str) -> sa.TableClause:
    """A bare view of one table at this revision: its id and its plaintext and encrypted columns."""
    names = [column for plain, enc, _ in PRIVATE_TEXT[name] for column in (plain, enc)]
    return sa.table(name, sa.column("id", postgresql.UUID(as_uuid=True)), *(sa.column(n) for n in names))


def _any_plaintext(table: sa.TableClause) -> sa.ColumnElement[bool]:
    return sa.or_(*(table.c[plain].is_not(None) for plain, _, _ in PRIVATE_TEXT[table.name]))


def _has_plaintext(connection: sa.Connection, name: str) -> bool:
    table = _table(name)
    return bool(connection.execute(sa.select(sa.exists().where(_any_plaintext(table)))).scalar_one())


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


def _current_data_key(connection: sa.Connection, master: bytes, *, schema_name: str) -> tuple[int, bytes]:
    """The tenant's current data key (version, raw key), unwrapped with the master key. A tenant
    without keys gets its first ones (data and index, version 1), as tenancy/keyring.py makes them."""
    connection.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"{schema_name}/keys"}
    )
    rows = connection.execute(sa.text("SELECT purpose, version, wrapped FROM data_key")).all()
    purposes = {row.purpose for row in rows}
    if not {"data", "index"} <= purposes:
        for purpose in ("data", "index"):
            version = 1 + max((row.version for row in rows if row.purpose == purpose), default=0)
            nonce = os.urandom(_NONCE_BYTES)
            wrapped = nonce + AESGCM(master).encrypt(
                nonce, os.urandom(_KEY_BYTES), _wrap_context(schema_name, purpose, version)
            )
            connection.execute(
                sa.text(
                    "INSERT INTO data_key (purpose, version, wrapped) VALUES (:purpose, :version, :wrapped)"
                ),
                {"purpose": purpose, "version": version, "wrapped": wrapped},
            )
        rows = connection.execute(sa.text("SELECT purpose, version, wrapped FROM data_key")).all()
    current = max((row for row in rows if row.purpose == "data"), key=lambda row: row.version)
    wrapped = bytes(current.wrapped)
    try:
        key = AESGCM(master).decrypt(
            wrapped[:_NONCE_BYTES],
            wrapped[_NONCE_BYTES:],
            _wrap_context(schema_name, "data", current.version),
        )
    except InvalidTag as error:  # the tenant's migration then rolls back as a whole
        raise RuntimeError(f"cannot unwrap the data key of {schema_name}: wrong master key") from error
    return int(current.version), key
