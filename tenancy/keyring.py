"""Each tenant's keys: stored wrapped in its own schema (`data_key`), unwrapped on demand and
cached per process for a short time (so a rotation reaches every process quickly)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from hospes.models.tenant import DataKey
from hospes.settings import Settings
from hospes.tenancy.crypto import CryptoError, MasterKey, TenantKeys, encode_key, new_key, parse_master_key

DATA = "data"
INDEX = "index"

_KEYS = sa.select(col(DataKey.purpose), col(DataKey.version), col(DataKey.wrapped)).order_by(
    col(DataKey.purpose), col(DataKey.version)
)
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))")
# In a session's `info`: the schemas whose first keys it may have written, not yet committed.
_FIRST_KEYS_MADE = "hospes.first_keys_made"


def master_key_from(settings: Settings) -> MasterKey:
    """The configured master key; in development one is generated into the data folder."""
    if settings.master_key is not None:
        return MasterKey(parse_master_key(settings.master_key.get_secret_value()))
    if not settings.is_development:
        raise CryptoError("HOSPES_MASTER_KEY is required in production")
    path = Path(settings.data_dir) / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(encode_key(new_key()) + "\n")
        path.chmod(0o600)
    return MasterKey(parse_master_key(path.read_text()))


def _context(schema_name: str, purpose: str, version: int) -> str:
    return f"{schema_name}/{purpose}/{version}"


def _unwrap(master: MasterKey, schema_name: str, rows: list[sa.Row[str, int, bytes]]) -> TenantKeys | None:
    data = {
        row.version: master.unwrap(bytes(row.wrapped), context=_context(schema_name, DATA, row.version))
        for row in rows
        if row.purpose == DATA
    }
    index = [row for row in rows if row.purpose == INDEX]
    if not data or not index:
        return None
    last = index[-1]
    return TenantKeys(
        data, master.unwrap(bytes(last.wrapped), context=_context(schema_name, INDEX, last.version))
    )


def add_key(connection: Connection, master: MasterKey, *, schema_name: str, purpose: str) -> int:
    """Add the next version of a key inside the caller's transaction (search_path bound)."""
    connection.execute(_LOCK, {"name": f"{schema_name}/keys"})
    version = connection.execute(
        sa.select(sa.func.coalesce(sa.func.max(col(DataKey.version)), 0) + 1).where(
            col(DataKey.purpose) == purpose
        )
    ).scalar_one()
    wrapped = master.wrap(new_key(), context=_context(schema_name, purpose, version))
    connection.execute(
        insert(DataKey)
        .values(purpose=purpose, version=version, wrapped=wrapped)
        .on_conflict_do_nothing(index_elements=["purpose", "version"])
    )
    return int(version)


def ensure_keys(connection: Connection, master: MasterKey, *, schema_name: str) -> TenantKeys:
    """The tenant's keys, creating the first ones inside the caller's transaction if none exist."""
    connection.execute(_LOCK, {"name": f"{schema_name}/keys"})
    keys = _unwrap(master, schema_name, list(connection.execute(_KEYS)))
    if keys is not None:
        return keys
    for purpose in (DATA, INDEX):
        add_key(connection, master, schema_name=schema_name, purpose=purpose)
    keys = _unwrap(master, schema_name, list(connection.execute(_KEYS)))
    assert keys is not None
    return keys


class Keyring:
    """Per-process cache of unwrapped tenant keys."""

    def __init__(self, master: MasterKey, *, ttl_seconds: float) -> None:
        self._master = master
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, TenantKeys]] = {}

    @property
    def master(self) -> MasterKey:
        return self._master

    async def keys(
        self, session: AsyncSession, schema_name: str, *, versions: Iterable[int] = ()
    ) -> TenantKeys:
        """Keys for the session's tenant, holding at least the data key `versions` asked for. A
        version the cache lacks (a rotation began in another process) reloads. A tenant with no
        keys yet gets its first ones inside the session's own transaction (never a second pooled
        connection): they are committed with the work they seal, and a rollback takes both back.
        Until that commit they are not cached, so no other request seals with keys that may vanish."""
        cached = self._cache.get(schema_name)
        if (
            cached is not None
            and cached[0] > time.monotonic()
            and all(version in cached[1].data_keys for version in versions)
        ):
            return cached[1]
        keys = _unwrap(self._master, schema_name, list(await session.execute(_KEYS)))
        if keys is None:
            keys = await session.run_sync(self._first_keys, schema_name)
        if schema_name not in session.info.get(_FIRST_KEYS_MADE, ()):
            self._cache[schema_name] = (time.monotonic() + self._ttl, keys)
        missing = [version for version in versions if version not in keys.data_keys]
        if missing:
            raise CryptoError(f"{schema_name} has no data key version {missing[0]}")
        return keys

    def _first_keys(self, session: Session, schema_name: str) -> TenantKeys:
        # The lock in `ensure_keys` waits for a concurrent first write to end; if it committed,
        # its keys are read, otherwise this transaction makes them.
        session.info.setdefault(_FIRST_KEYS_MADE, set()).add(schema_name)
        return ensure_keys(session.connection(), self._master, schema_name=schema_name)

    def forget(self, schema_name: str | None = None) -> None:
        if schema_name is None:
            self._cache.clear()
        else:
            self._cache.pop(schema_name, None)
