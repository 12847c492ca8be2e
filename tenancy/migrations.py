"""Runs the two Alembic streams: `public` once, then `tenant` into every tenant schema.

Each tenant migrates in its own transaction (DDL is transactional in PostgreSQL, so a failure leaves
that schema exactly as it was), under an advisory lock so two migrators never collide, with bounded
parallelism. A tenant already at head costs one query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from hospes.models import migrations as migration_streams
from hospes.models.public import Tenant
from hospes.tenancy.crypto import MasterKey
from hospes.tenancy.database import quoted_schema

STREAMS = Path(migration_streams.__file__).parent
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))")
# Alembic's `context` and `op` are process-wide proxies, so two upgrades may not run at once in
# one process. Checking versions stays parallel; the (rare) upgrades take turns.
_ALEMBIC = threading.Lock()


class Outcome(StrEnum):
    UP_TO_DATE = "up to date"
    UPGRADED = "upgraded"
    BEHIND = "behind"  # --check only
    FAILED = "failed"


@dataclass(frozen=True)
class TenantMigration:
    slug: str
    schema_name: str
    outcome: Outcome
    detail: str = ""


def _config(stream: str, **attributes: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(STREAMS / stream))
    config.attributes.update(attributes)
    return config


@lru_cache(maxsize=2)
def head_revision(stream: str) -> str:
    head = ScriptDirectory.from_config(_config(stream)).get_current_head()
    if head is None:
        raise RuntimeError(f"the {stream} migration stream has no revisions")
    return head


def current_revision(connection: Connection, *, schema_name: str) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema_name})
    return context.get_current_revision()


def upgrade_public(connection: Connection) -> None:
    """Upgrade `public` to head inside the caller's transaction."""
    connection.execute(_LOCK, {"name": "public"})
    with _ALEMBIC:
        command.upgrade(_config("public", connection=connection), "head")


def upgrade_tenant(
    connection: Connection, *, schema_name: str, master_key: MasterKey | None = None, revision: str = "head"
) -> None:
    """Upgrade one tenant schema to head (or to `revision`) inside the caller's transaction. Data
    migrations that encrypt need `master_key`; without it they fail on a tenant that holds such data."""
    quoted_schema(schema_name)
    connection.execute(_LOCK, {"name": schema_name})
    config = _config("tenant", connection=connection, schema_name=schema_name, master_key=master_key)
    with _ALEMBIC:
        command.upgrade(config, revision)


def migrate_tenant(
    engine: Engine, *, slug: str, schema_name: str, check: bool = False, master_key: MasterKey | None = None
) -> TenantMigration:
    """Bring one tenant to head in its own transaction; never raises, reports instead."""
    try:
        with engine.begin() as connection:
            before = current_revision(connection, schema_name=schema_name)
            if before == head_revision("tenant"):
                return TenantMigration(slug, schema_name, Outcome.UP_TO_DATE)
            if check:
                return TenantMigration(slug, schema_name, Outcome.BEHIND, f"at {before or 'nothing'}")
            upgrade_tenant(connection, schema_name=schema_name, master_key=master_key)
            return TenantMigration(slug, schema_name, Outcome.UPGRADED, f"from {before or 'nothing'}")
    except Exception as error:  # one broken tenant must not stop the others
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        detail = f"{type(error).__name__}: {message}" if message else type(error).__name__
        return TenantMigration(slug, schema_name, Outcome.FAILED, detail[:300])


def list_tenants(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(Tenant.slug, Tenant.schema_name).order_by(Tenant.slug))  # type: ignore[call-overload]
        return [(row.slug, row.schema_name) for row in rows]


def migrate_all(
    engine: Engine,
    *,
    concurrency: int = 4,
    check: bool = False,
    master_key: MasterKey | None = None,
    on_result: Callable[[int, int, TenantMigration], None] | None = None,
) -> list[TenantMigration]:
    """Upgrade `public`, then every tenant with bounded parallelism. Raises only if `public` fails
    (tenants depend on it); tenant failures are returned."""
    if not check:
        with engine.begin() as connection:
            upgrade_public(connection)
    tenants = list_tenants(engine)
    results: list[TenantMigration] = []
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [
            pool.submit(
                migrate_tenant, engine, slug=slug, schema_name=schema, check=check, master_key=master_key
            )
            for slug, schema in tenants
        ]
        for index, future in enumerate(futures, start=1):
            result = future.result()
            results.append(result)
            if on_result is not None:
                on_result(index, len(tenants), result)
    return results
