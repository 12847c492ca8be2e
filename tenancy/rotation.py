"""Data key rotation: re-encrypt one tenant's private data under a new data key, without downtime.

`rotate_tenant` is the whole procedure; its steps are public too (`add_data_key`, `load_keys`,
`reencrypt_pass`, `count_stale`) so that maintenance code and tests can run them one at a time.

What is promised:

- The new data key version is committed in its own transaction before anything is re-encrypted,
  and old wrapped keys are never deleted: a value written under any version stays readable.
- Before the first ciphertext under the new version is written, the rotation waits one key cache
  period (`tenant_cache_seconds`), so every API process has loaded the new version by then
  (it reads it and starts writing with it) — readers never meet a version they do not know.
- Re-encryption runs in batches, each its own short transaction; rows are locked
  `FOR UPDATE SKIP LOCKED`, so the rotation never waits for (or deadlocks with) a request; a row
  a request holds is picked up by a later pass. Only cells under an *older* version are
  rewritten, each bound to its column by the associated data `tenancy.encrypted_columns` names.
- Passes repeat, one cache period apart, until a pass that began at least two cache periods
  after the key was committed finds nothing left under older versions (late writes by processes
  that still held the old key are caught), or `max_passes` is reached (`RotationResult.complete`
  is then False; everything stays readable).
- A cell that cannot be decrypted (tampered, or copied from another column) is left exactly as
  it is and reported in `RotationResult.unreadable`; it never blocks the other rows.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from hospes.models.public import Tenant
from hospes.tenancy import encrypted_columns
from hospes.tenancy.crypto import CryptoError, MasterKey, TenantKeys, version_of
from hospes.tenancy.database import bind_search_path
from hospes.tenancy.encrypted_columns import EncryptedColumn
from hospes.tenancy.keyring import _KEYS, DATA, _unwrap, add_key, ensure_keys

DEFAULT_BATCH_SIZE = 500
DEFAULT_MAX_PASSES = 5

# Every encrypted column, by table (tenancy/encrypted_columns.py names each with its associated data).
ENCRYPTED_COLUMNS: dict[str, tuple[EncryptedColumn[Any], ...]] = encrypted_columns.by_table()


class RotationError(Exception):
    """The rotation cannot start or go on; the message is one line fit for the operator."""


class UnknownTenantError(RotationError):
    pass


@dataclass(frozen=True)
class Cell:
    """One encrypted value: table, row id and column."""

    table: str
    row_id: object  # a UUID; provider_settings' single row is keyed `true`
    column: str

    def __str__(self) -> str:
        return f"{self.table} {self.row_id} {self.column}"


def describe(rows: Mapping[str, int]) -> str:
    """Counts per table for an operator, `guest=2, communication=5` (tables with none left out)."""
    listed = [f"{table}={count}" for table, count in rows.items() if count]
    return ", ".join(listed) if listed else "nothing"


@dataclass(frozen=True)
class PassResult:
    """One sweep: rows rewritten per table and cells that could not be decrypted."""

    rows: Mapping[str, int] = field(default_factory=dict)
    unreadable: tuple[Cell, ...] = ()

    @property
    def rewritten(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True)
class StaleCount:
    """Rows per table that still hold a value under an older data key version (unreadable cells
    excluded)."""

    rows: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True)
class PassReport:
    number: int
    result: PassResult
    left: StaleCount


@dataclass
class RotationResult:
    slug: str
    schema_name: str
    version: int
    rows: dict[str, int] = field(default_factory=dict)  # rows rewritten per table over all passes
    passes: list[PassReport] = field(default_factory=list)
    unreadable: list[Cell] = field(default_factory=list)
    left: StaleCount = field(default_factory=StaleCount)

    @property
    def complete(self) -> bool:
        """True when the last pass found nothing readable left under an older version."""
        return self.left.total == 0


def tenant_schema(engine: Engine, *, slug: str) -> str:
    """The schema of the tenant `slug`; UnknownTenantError if there is none."""
    with engine.connect() as connection:
        schema_name = connection.execute(
            sa.select(col(Tenant.schema_name)).where(col(Tenant.slug) == slug)
        ).scalar_one_or_none()
    if schema_name is None:
        raise UnknownTenantError(f"unknown tenant {slug!r}")
    return str(schema_name)


def _bind(connection: Connection, schema_name: str) -> None:
    bind_search_path(connection, schema_name)
    if connection.execute(sa.text("SELECT to_regclass('data_key')")).scalar_one() is None:
        raise RotationError(f"schema {schema_name} has no data_key table: run `hospes migrate` first")


def add_data_key(engine: Engine, master: MasterKey, *, schema_name: str) -> int:
    """Commit the next `data` key version in its own transaction and return it. Every existing key
    is unwrapped first, so a wrong master key (CryptoError) changes nothing. A tenant that has no
    keys yet gets its first ones (version 1): there is nothing under an older key to rotate."""
    with engine.begin() as connection:
        _bind(connection, schema_name)
        rows = list(connection.execute(_KEYS))
        if _unwrap(master, schema_name, rows) is None:
            return ensure_keys(connection, master, schema_name=schema_name).current_version
        return add_key(connection, master, schema_name=schema_name, purpose=DATA)


def load_keys(
    engine: Engine, master: MasterKey, *, schema_name: str, version: int | None = None
) -> TenantKeys:
    """The tenant's keys, unwrapped. With `version`, data keys newer than it are left out, so
    `encrypt` seals under exactly `version` even if another rotation has added a newer one."""
    with engine.connect() as connection, connection.begin():
        _bind(connection, schema_name)
        keys = _unwrap(master, schema_name, list(connection.execute(_KEYS)))
    if keys is None:
        raise RotationError(f"schema {schema_name} has no keys yet")
    if version is None:
        return keys
    if version not in keys.data_keys:
        raise RotationError(f"schema {schema_name} has no data key version {version}")
    data = {number: key for number, key in keys.data_keys.items() if number <= version}
    return TenantKeys(data, keys.index_key)


def _stale(column: sa.ColumnElement[bytes], version: int) -> sa.ColumnElement[bool]:
    """The cell holds a ciphertext sealed under a version older than `version`. Bytes 2-5 of a
    ciphertext are the version, big endian, so bytea order is version order."""
    target = sa.literal(struct.pack(">I", version), pg.BYTEA)
    return sa.and_(column.is_not(None), sa.func.substring(column, 2, 4) < target)


def _reseal(keys: TenantKeys, blob: bytes, *, column: str) -> bytes | None:
    """The value re-encrypted under the keys' current version, or None if it cannot be read."""
    try:
        return keys.encrypt(keys.decrypt(blob, column=column), column=column)
    except (CryptoError, ValueError, struct.error):
        return None


def _batch(
    engine: Engine,
    keys: TenantKeys,
    *,
    schema_name: str,
    table_name: str,
    after: object | None,
    batch_size: int,
) -> tuple[object | None, int, list[Cell]]:
    """Re-encrypt one batch in its own transaction; returns (last id seen, rows rewritten,
    unreadable cells). A None last id means the table is done."""
    columns = ENCRYPTED_COLUMNS[table_name]
    table = columns[0].table
    version = keys.current_version
    condition = sa.or_(*(_stale(column.column, version) for column in columns))
    query = sa.select(table.c.id, *(column.column for column in columns)).where(condition)
    if after is not None:
        # A bound value, as provider_settings' single row is keyed `true` (not comparable literally).
        query = query.where(table.c.id > sa.bindparam("after", after, type_=table.c.id.type))
    query = query.order_by(table.c.id).limit(batch_size).with_for_update(skip_locked=True)
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values(
            {column.attribute: sa.bindparam(f"new_{column.attribute}", type_=pg.BYTEA) for column in columns}
        )
    )
    unreadable: list[Cell] = []
    with engine.begin() as connection:
        bind_search_path(connection, schema_name)
        rows = connection.execute(query).all()
        changes: list[dict[str, object]] = []
        for row in rows:
            values: dict[str, object] = {"row_id": row.id}
            changed = False
            for column in columns:
                blob = row._mapping[column.attribute]
                new = blob
                if blob is not None and _older(bytes(blob), version):
                    new = _reseal(keys, bytes(blob), column=column.associated)
                    if new is None:
                        unreadable.append(Cell(table_name, row.id, column.attribute))
                        new = blob
                    else:
                        changed = True
                values[f"new_{column.attribute}"] = new
            if changed:
                changes.append(values)
        if changes:
            connection.execute(update, changes)
    last = rows[-1].id if rows else None
    return last, len(changes), unreadable


def _older(blob: bytes, version: int) -> bool:
    try:
        return version_of(blob) < version
    except (CryptoError, struct.error):
        return True  # malformed: selected by the query, reported as unreadable


def reencrypt_pass(
    engine: Engine,
    keys: TenantKeys,
    *,
    schema_name: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> PassResult:
    """One sweep over every table holding encrypted columns (keyset by id, batches of `batch_size`,
    each its own transaction): every cell sealed under a version older than `keys.current_version` is
    decrypted and sealed again under it. Rows locked by others are skipped (a later pass gets
    them); unreadable cells are left untouched and returned."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    counts: dict[str, int] = {}
    unreadable: list[Cell] = []
    for table_name in ENCRYPTED_COLUMNS:
        after: object | None = None
        counts[table_name] = 0
        while True:
            after, rewritten, bad = _batch(
                engine,
                keys,
                schema_name=schema_name,
                table_name=table_name,
                after=after,
                batch_size=batch_size,
            )
            counts[table_name] += rewritten
            unreadable.extend(bad)
            if after is None:
                break
    return PassResult(rows=counts, unreadable=tuple(unreadable))


def count_stale(
    engine: Engine, *, schema_name: str, version: int, ignore: frozenset[Cell] = frozenset()
) -> StaleCount:
    """Rows holding a cell under a version older than `version`, locked or not; the cells in
    `ignore` (known unreadable) do not count."""
    counts: dict[str, int] = {}
    with engine.connect() as connection, connection.begin():
        bind_search_path(connection, schema_name)
        for table_name, columns in ENCRYPTED_COLUMNS.items():
            table = columns[0].table
            conditions = []
            for column in columns:
                skipped = [
                    cell.row_id
                    for cell in ignore
                    if cell.table == table_name and cell.column == column.attribute
                ]
                condition = _stale(column.column, version)
                if skipped:
                    condition = sa.and_(condition, table.c.id.not_in(skipped))
                conditions.append(condition)
            counts[table_name] = connection.execute(
                sa.select(sa.func.count()).select_from(table).where(sa.or_(*conditions))
            ).scalar_one()
    return StaleCount(rows=counts)


def rotate_tenant(
    engine: Engine,
    master: MasterKey,
    *,
    slug: str,
    cache_seconds: float,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_passes: int = DEFAULT_MAX_PASSES,
    sleep: Callable[[float], None] = time.sleep,
    on_key_added: Callable[[int], None] | None = None,
    on_pass: Callable[[PassReport], None] | None = None,
) -> RotationResult:
    """Rotate tenant `slug` to a new data key (see the module docstring for the guarantees).

    `cache_seconds` is the API processes' key cache period (`tenant_cache_seconds`): the rotation
    waits that long after committing the key and between passes. Raises UnknownTenantError,
    RotationError or CryptoError (wrong master key) before changing anything; afterwards it
    returns a result even if passes ran out (`complete` False) or cells were unreadable."""
    if max_passes < 2:
        raise ValueError("max_passes must be at least 2")
    wait = max(float(cache_seconds), 0.0)
    schema_name = tenant_schema(engine, slug=slug)
    version = add_data_key(engine, master, schema_name=schema_name)
    committed = time.monotonic()
    if on_key_added is not None:
        on_key_added(version)
    result = RotationResult(slug=slug, schema_name=schema_name, version=version)
    unreadable: dict[Cell, None] = {}
    sleep(wait)  # every process's key cache now holds `version`
    keys = load_keys(engine, master, schema_name=schema_name, version=version)
    for number in range(1, max_passes + 1):
        started = time.monotonic()
        outcome = reencrypt_pass(engine, keys, schema_name=schema_name, batch_size=batch_size)
        unreadable.update(dict.fromkeys(outcome.unreadable))
        left = count_stale(engine, schema_name=schema_name, version=version, ignore=frozenset(unreadable))
        report = PassReport(number=number, result=outcome, left=left)
        result.passes.append(report)
        for table_name, rewritten in outcome.rows.items():
            result.rows[table_name] = result.rows.get(table_name, 0) + rewritten
        result.left = left
        if on_pass is not None:
            on_pass(report)
        # Finished when a pass that began two cache periods after the key was committed (so
        # requests that still held the old key have committed) found nothing to do.
        settled = started - committed >= 2 * wait and number >= 2
        if settled and outcome.rewritten == 0 and left.total == 0:
            break
        if number < max_passes:
            sleep(wait)
    result.unreadable = list(unreadable)
    return result
