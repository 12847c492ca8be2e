"""Engines and tenant-bound sessions.

A tenant session binds `search_path` with `set_config(..., is_local => true)` at the start of every
transaction it begins, so the binding ends with the transaction: a pooled connection never carries a
tenant to the next request, and the scheme stays safe behind PgBouncer in transaction mode.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

SCHEMA_NAME = re.compile(r"^t_[a-z][a-z0-9_]{1,40}$")
_SEARCH_PATH_KEY = "hospes.search_path"
_TIMEOUT_KEY = "hospes.statement_timeout"
_SET_SEARCH_PATH = sa.text("SELECT set_config('search_path', :path, true)")
# Both transaction-local (never a startup option), so they also work behind PgBouncer.
_BIND = sa.text(
    "SELECT set_config('search_path', :path, true), set_config('statement_timeout', :timeout, true)"
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
    connection.execute(_BIND, {"path": quoted_schema(schema_name), "timeout": f"{int(timeout)}ms"})


def create_engine_async(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 10.0,
    pre_ping: bool = True,
) -> AsyncEngine:
    """An async engine. `pre_ping` tests each pooled connection before use (a round trip); callers
    whose work is retried anyway may skip it and recycle connections instead."""
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=pre_ping,
        pool_recycle=-1 if pre_ping else 300,
    )


def create_engine_sync(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    return sa.create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=30.0,
        pool_pre_ping=True,
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
