"""Engines and tenant-bound sessions.

A tenant session binds `search_path` with `set_config(..., is_local => true)` at the start of every
transaction it begins, so the binding ends with the transaction: a pooled connection never carries a
tenant to the next request, and the scheme stays safe behind PgBouncer in transaction mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from hospes.settings import Settings

SCHEMA_NAME = re.compile(r"^t_[a-z][a-z0-9_]{1,40}$")
_SEARCH_PATH_KEY = "hospes.search_path"
_TIMEOUT_KEY = "hospes.statement_timeout"
_DIED_AT_BEGIN_KEY = "hospes.connection_died_at_begin"
_SET_SEARCH_PATH = sa.text("SELECT set_config('search_path', :path, true)")
# All transaction-local (never a startup option), so they also work behind PgBouncer. The lock
# timeout also bounds COMMIT, where PostgreSQL starts no statement timer but deferred triggers may
# still wait for locks.
_BIND = sa.text(
    "SELECT set_config('search_path', :path, true), set_config('statement_timeout', :timeout, true),"
    " set_config('lock_timeout', :timeout, true)"
)


class UnboundTenantError(RuntimeError):
    """A tenant session was used without a tenant: refuse rather than fall back to any schema."""


def sqlalchemy_url(url: str) -> str:
    """Accept the usual `postgresql://` spellings and select the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("the database URL must be a postgresql:// URL")


def quoted_schema(schema_name: str) -> str:
    """The schema name as a quoted identifier; refuses anything that is not a tenant schema name."""
    if not SCHEMA_NAME.fullmatch(schema_name):
        raise ValueError(f"not a tenant schema name: {schema_name!r}")
    return f'"{schema_name}"'


def bind_search_path(connection: Connection, schema_name: str) -> None:
    """Bind `search_path` to one tenant schema for the connection's current transaction only."""
    connection.execute(_SET_SEARCH_PATH, {"path": quoted_schema(schema_name)})


class TenantBoundSession(Session):
    """A session whose every transaction runs inside exactly one tenant schema."""


@event.listens_for(TenantBoundSession, "after_begin")
def _bind_tenant(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    schema_name = session.info.get(_SEARCH_PATH_KEY)
    if schema_name is None:
        raise UnboundTenantError("tenant session used without a tenant")
    timeout = session.info.get(_TIMEOUT_KEY, 0)
    try:
        connection.execute(_BIND, {"path": quoted_schema(schema_name), "timeout": f"{int(timeout)}ms"})
    except sqlalchemy.exc.DBAPIError as error:
        # The transaction's first statement found its pooled connection dead (SQLAlchemy has
        # invalidated it and the pool's older connections): nothing of this transaction ran, so
        # its work may be started again on a fresh connection (`died_at_begin`).
        if error.connection_invalidated:
            session.info[_DIED_AT_BEGIN_KEY] = True
        raise


def died_at_begin(session: AsyncSession) -> bool:
    """Whether `session`'s transaction failed at its first statement because its pooled connection
    was dead: no statement of it ran, so nothing was written and the work may be retried once."""
    return bool(session.info.get(_DIED_AT_BEGIN_KEY))


async def first_row(engine: AsyncEngine, statement: sa.Executable) -> sa.Row[Any] | None:
    """The first row of one read on a pooled connection. Pooled connections are not pinged before
    use: when this read, the connection's first statement, finds it dead, it is sent once more on
    a fresh one (a read writes nothing)."""
    for attempt in (1, 2):
        try:
            async with engine.connect() as conn:
                return (await conn.execute(statement)).first()
        except sqlalchemy.exc.DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
    raise AssertionError("unreachable")


class Role(StrEnum):
    """The `application_name` of every connection a process makes, to tell them apart in
    `pg_stat_activity` (and in PgBouncer's `SHOW CLIENTS`)."""

    API = "hospes-api"
    WORKER = "hospes-worker"
    SCHEDULER = "hospes-scheduler"
    CLI = "hospes-cli"


@dataclass(frozen=True)
class ConnectionPolicy:
    """How every connection of one process is made and how long it is kept."""

    role: Role
    # Off: psycopg prepares nothing server-side, so a transaction pooler that hands each
    # transaction to any server connection (PgBouncer before 1.21) never meets a statement that
    # was prepared on another one. Nothing else Hospes does outlives its transaction.
    prepared_statements: bool = True
    recycle_seconds: int = 600

    @classmethod
    def of(cls, settings: Settings, *, role: Role) -> ConnectionPolicy:
        return cls(
            role=role,
            prepared_statements=settings.db_prepared_statements,
            recycle_seconds=settings.db_pool_recycle_seconds,
        )

    def connect_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"application_name": self.role.value}
        if not self.prepared_statements:
            args["prepare_threshold"] = None  # psycopg 3: never prepare
        return args


def create_engine_async(
    url: str,
    *,
    policy: ConnectionPolicy,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 10.0,
    pre_ping: bool = True,
) -> AsyncEngine:
    """An async engine. `pre_ping` tests each pooled connection before use (a round trip); callers
    whose work is retried anyway skip it and rely on recycling alone. The API skips it: a request
    whose connection was dead before any of its statements ran is retried once on a fresh one
    (`died_at_begin`, `first_row`)."""
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=pre_ping,
        pool_recycle=policy.recycle_seconds,
        connect_args=policy.connect_args(),
    )


def create_engine_sync(
    url: str, *, policy: ConnectionPolicy, pool_size: int = 5, max_overflow: int = 10
) -> Engine:
    return sa.create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=30.0,
        pool_pre_ping=True,
        pool_recycle=policy.recycle_seconds,
        connect_args=policy.connect_args(),
    )


class TenantSessions:
    """Makes sessions bound to one tenant schema each."""

    def __init__(self, engine: AsyncEngine, *, statement_timeout_ms: int = 0) -> None:
        self._maker = async_sessionmaker(
            engine, sync_session_class=TenantBoundSession, expire_on_commit=False, autoflush=False
        )
        self._timeout = statement_timeout_ms

    def open(self, schema_name: str) -> AsyncSession:
        quoted_schema(schema_name)  # validate now, not at the first statement
        return self._maker(info={_SEARCH_PATH_KEY: schema_name, _TIMEOUT_KEY: self._timeout})


def tenant_sync_session(engine: Engine, schema_name: str) -> Session:
    """A synchronous tenant-bound session, for the CLI and maintenance jobs."""
    quoted_schema(schema_name)
    return TenantBoundSession(bind=engine, info={_SEARCH_PATH_KEY: schema_name}, expire_on_commit=False)
