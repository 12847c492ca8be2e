"""A throw-away tenant with a realistic guest graph, bulk-loaded with COPY.

The rows come from bench.seed_data; this module streams them into the tenant schema with
`COPY ... FROM STDIN`: no value is ever formatted into SQL, and identifiers are quoted with
`psycopg.sql.Identifier`.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import Engine, make_url

from hospes.bench.seed_data import Generator, Table
from hospes.tenancy.crypto import MasterKey, TenantKeys
from hospes.tenancy.database import bind_search_path, sqlalchemy_url
from hospes.tenancy.keyring import ensure_keys
from hospes.tenancy.migrations import upgrade_public
from hospes.tenancy.passwords import Passwords
from hospes.tenancy.provisioning import create_tenant, drop_tenant


def libpq_url(database_url: str) -> str:
    """A URL psycopg accepts, from any spelling the settings accept."""
    return "postgresql://" + sqlalchemy_url(database_url).removeprefix("postgresql+psycopg://")


@contextlib.contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new database on the configured server, dropped (WITH FORCE) whatever happens."""
    server = make_url(libpq_url(server_url))
    name = f"hospes_bench_{secrets.token_hex(4)}"
    admin = server.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass(frozen=True)
class SeededTenant:
    slug: str
    schema_name: str
    owner_email: str
    owner_password: str
    guest_ids: tuple[uuid.UUID, ...]
    counts: dict[str, int]
    seconds: float


def copy_rows(cursor: psycopg.Cursor[Any], *, schema_name: str, table: Table) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema_name, table.name), sql.SQL(", ").join(map(sql.Identifier, table.columns))
    )
    with cursor.copy(statement) as copy:
        for row in table.rows:
            copy.write_row(row)


def tenant_keys(engine: Engine, master: MasterKey, *, schema_name: str) -> TenantKeys:
    """The tenant's data keys (created if the tenant has none yet), as the API will unwrap them."""
    with engine.begin() as connection:
        bind_search_path(connection, schema_name)
        return ensure_keys(connection, master, schema_name=schema_name)


def derived_columns(cursor: psycopg.Cursor[Any], *, schema_name: str) -> None:
    """The columns the API maintains beside the guest row: the search vector (from the folded name,
    as `guest_fields.set_name` builds it) and the count of non-cancelled bookings
    (`guests.refresh_booking_count`). One statement each; the tally triggers see no change."""
    guest = sql.Identifier(schema_name, "guest")
    cursor.execute(
        sql.SQL("UPDATE {} SET search_vector = to_tsvector('simple'::regconfig, name_key)").format(guest)
    )
    cursor.execute(
        sql.SQL(
            "UPDATE {} g SET booking_count = c.live FROM (SELECT guest_id, count(*) AS live FROM {} "
            "WHERE status <> 'cancelled' GROUP BY guest_id) c WHERE c.guest_id = g.id"
        ).format(guest, sql.Identifier(schema_name, "booking"))
    )


def seed_tenant(
    engine: Engine,
    *,
    database_url: str,
    guests: int,
    passwords: Passwords,
    master: MasterKey,
    seed: int = 2026,
) -> SeededTenant:
    """Create `bench-<random>` and fill it; the caller drops it with `drop_seeded`."""
    started = time.perf_counter()
    with engine.begin() as connection:
        upgrade_public(connection)  # a fresh database has no tenant registry yet
    slug = f"bench-{secrets.token_hex(4)}"
    tenant = create_tenant(engine, slug=slug, name=f"Benchmark {slug}")
    try:
        password = secrets.token_urlsafe(18)
        email = f"owner@{slug}.bench.test"
        keys = tenant_keys(engine, master, schema_name=tenant.schema_name)
        generator = Generator(seed=seed, now=datetime.now(UTC).replace(microsecond=0), keys=keys)
        owner_id = generator.owner(email=email, password_hash=passwords.hash(password))
        property_ids, services = generator.catalogue()
        guest_ids = tuple(
            generator.guest(index, owner_id=owner_id, property_ids=property_ids, services=services)
            for index in range(guests)
        )
        with psycopg.connect(libpq_url(database_url)) as conn, conn.cursor() as cursor:
            for table in generator.tables():
                copy_rows(cursor, schema_name=tenant.schema_name, table=table)
            derived_columns(cursor, schema_name=tenant.schema_name)
            conn.commit()
            # Fresh statistics, so the planner sees 1,000 guests and not an empty table.
            conn.autocommit = True
            for table in generator.tables():
                cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(tenant.schema_name, table.name)))
    except BaseException:
        drop_tenant(engine, slug=slug)
        raise
    return SeededTenant(
        slug=slug,
        schema_name=tenant.schema_name,
        owner_email=email,
        owner_password=password,
        guest_ids=guest_ids,
        counts={table.name: len(table.rows) for table in generator.tables()},
        seconds=time.perf_counter() - started,
    )


def drop_seeded(engine: Engine, tenant: SeededTenant) -> None:
    drop_tenant(engine, slug=tenant.slug)
