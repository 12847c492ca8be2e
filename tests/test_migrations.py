"""`hospes migrate` brings `public` and every tenant schema to head, one transaction per tenant:
running it again changes nothing, a broken tenant fails alone, and `--check` only looks.

Every xdist worker has its own database, but other tests of the same worker leave their tenants in
it; assertions about single tenants therefore look only at the lines of the tenants made here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import Result
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from settings import Settings
from tenancy.database import bind_search_path, quoted_schema
from tenancy.migrations import head_revision
from tenancy.provisioning import drop_tenant, schema_name_for
from tests.conftest import TenantFixture
from tests.factories import create_guest
from tests.helpers_cli import hospes
from tests.helpers_db import alembic_version, row_counts

GUEST_NAMES = "{ guests(first: 100) { totalCount edges { node { id name } } } }"


def _migrate(settings: Settings, *options: str, concurrency: int = 4) -> Result:
    """`hospes migrate`, with the default parallelism unless told otherwise."""
    return hospes(settings, "migrate", *options, env={"HOSPES_MIGRATE_CONCURRENCY": str(concurrency)})


def _line_of(result: Result, schema_name: str) -> str:
    """The one progress line `migrate` printed for a schema: `[i/N schema] outcome (detail)`."""
    lines = [line for line in result.output.splitlines() if re.match(rf"^\[\d+/\d+ {schema_name}\] ", line)]
    assert len(lines) == 1, result.output
    return lines[0].split("] ", 1)[1]


def _catalogue(engine: sa.Engine) -> dict[str, Any]:
    """What migrations control, for `public` and every tenant schema: recorded revisions, columns,
    indexes and constraints."""
    with engine.connect() as connection:
        schemas = connection.execute(sa.text("SELECT schema_name FROM public.tenant")).scalars().all()
        versions = {
            "public": connection.execute(sa.text("SELECT version_num FROM public.alembic_version")).all()
        }
        for schema in schemas:
            table = f"{quoted_schema(schema)}.alembic_version"
            if connection.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None:
                versions[schema] = connection.execute(sa.text(f"SELECT version_num FROM {table}")).all()
        columns = connection.execute(
            sa.text(
                "SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default, "
                "character_maximum_length, numeric_precision, numeric_scale FROM information_schema.columns "
                "WHERE table_schema = 'public' OR table_schema LIKE 't\\_%' ORDER BY 1, 2, ordinal_position"
            )
        ).all()
        indexes = connection.execute(
            sa.text(
                "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' OR schemaname LIKE 't\\_%' ORDER BY 1, 2, 3"
            )
        ).all()
        constraints = connection.execute(
            sa.text(
                "SELECT n.nspname, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE n.nspname = 'public' OR n.nspname LIKE 't\\_%' "
                "ORDER BY 1, 2, 3"
            )
        ).all()
    return {"versions": versions, "columns": columns, "indexes": indexes, "constraints": constraints}


def _include_tenant_tables(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """The tenant stream's view of the metadata (as in its env.py): tables without a schema."""
    if type_ == "table":
        return name != "alembic_version" and (reflected or obj.schema is None)
    return True


def _drift(engine: sa.Engine, schema_name: str) -> list[Any]:
    """Differences between a tenant schema in the database and the tenant tables of the models."""
    with engine.connect() as connection, connection.begin():
        bind_search_path(connection, schema_name)
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": _include_tenant_tables,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        return list(compare_metadata(context, SQLModel.metadata))


def _columns(engine: sa.Engine, schema_name: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT table_name, column_name, data_type, is_nullable, column_default, "
                "character_maximum_length FROM information_schema.columns WHERE table_schema = :schema "
                "ORDER BY 1, ordinal_position"
            ),
            {"schema": schema_name},
        )
        return [tuple(row) for row in rows]


@pytest.fixture
def register_tenant(sync_engine: sa.Engine) -> Iterator[Callable[[str], str]]:
    """Registers a tenant with an empty schema (as if registered before the tenant stream's first
    revision existed), so `migrate` has real work; returns its schema name. Removed afterwards."""
    made: list[str] = []

    def register(prefix: str) -> str:
        slug = f"{prefix}-{uuid.uuid4().hex[:10]}"
        schema_name = schema_name_for(slug)
        with sync_engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO public.tenant (slug, name, schema_name) VALUES (:slug, :name, :schema)"),
                {"slug": slug, "name": f"Company {slug}", "schema": schema_name},
            )
            connection.execute(sa.text(f"CREATE SCHEMA {quoted_schema(schema_name)}"))
        made.append(slug)
        return schema_name

    yield register
    for slug in made:
        drop_tenant(sync_engine, slug=slug)


def test_a_lagging_tenant_is_upgraded_and_a_second_run_changes_nothing(
    settings: Settings, sync_engine: sa.Engine, tenant: TenantFixture, register_tenant: Callable[[str], str]
) -> None:
    lagging = register_tenant("lag")
    first = _migrate(settings)
    assert first.exit_code == 0, first.output
    assert _line_of(first, lagging) == "upgraded (from nothing)"
    assert _line_of(first, tenant.schema_name) == "up to date"
    after_first = _catalogue(sync_engine)

    second = _migrate(settings)
    assert second.exit_code == 0, second.output
    for schema_name in (lagging, tenant.schema_name):
        assert _line_of(second, schema_name) == "up to date"
    assert "upgraded" not in second.output
    assert re.search(r"^(\d+) tenant\(s\): \1 at head, 0 behind, 0 failed$", second.output, re.MULTILINE), (
        second.output
    )
    assert _catalogue(sync_engine) == after_first
    # The upgraded schema is exactly a new tenant's schema, and exactly what the models describe.
    assert _columns(sync_engine, lagging) == _columns(sync_engine, tenant.schema_name)
    assert _drift(sync_engine, lagging) == []


def test_lagging_tenants_upgraded_in_parallel_each_get_their_own_schema(
    settings: Settings, sync_engine: sa.Engine, register_tenant: Callable[[str], str]
) -> None:
    lagging = [register_tenant("lag") for _ in range(6)]
    result = _migrate(settings, concurrency=4)
    assert result.exit_code == 0, result.output
    assert {schema: _line_of(result, schema) for schema in lagging} == dict.fromkeys(
        lagging, "upgraded (from nothing)"
    )
    for schema_name in lagging:
        assert alembic_version(sync_engine, schema_name) == head_revision("tenant")
        assert _drift(sync_engine, schema_name) == [], schema_name


def test_a_tenant_created_now_has_exactly_the_schema_the_models_describe(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    slug = f"fresh-{uuid.uuid4().hex[:10]}"
    created = hospes(settings, "tenant", "create", slug, "--name", "Fresh Villas")
    assert created.exit_code == 0, created.output
    schema_name = schema_name_for(slug)
    assert alembic_version(sync_engine, schema_name) == head_revision("tenant")
    assert _drift(sync_engine, schema_name) == []
    tables = {table for table, *_ in _columns(sync_engine, schema_name)}
    model_tables = {table.name for table in SQLModel.metadata.sorted_tables if table.schema is None}
    assert tables == model_tables | {"alembic_version"}


def _unknown_revision(engine: sa.Engine, schema_name: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"UPDATE {quoted_schema(schema_name)}.alembic_version SET version_num = 'nonexistent'")
        )


def _version_table_dropped(engine: sa.Engine, schema_name: str) -> None:
    # The tables are all there but nothing records it: the first revision collides with them.
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE {quoted_schema(schema_name)}.alembic_version"))


def _conflicting_table(engine: sa.Engine, schema_name: str) -> None:
    # A hand-made table in the way of the first revision, in a schema that never ran a migration.
    with engine.begin() as connection:
        schema = quoted_schema(schema_name)
        connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        connection.execute(sa.text(f"CREATE TABLE {schema}.guest (id integer PRIMARY KEY, nickname text)"))


BREAKAGES: dict[str, tuple[Callable[[sa.Engine, str], None], str]] = {
    "unknown revision": (_unknown_revision, "nonexistent"),
    "version table dropped": (_version_table_dropped, "already exists"),
    "conflicting table": (_conflicting_table, "already exists"),
}


# Each breakage with tenants migrated one at a time, and with the default parallelism operators run.
MIGRATE_CASES = [(breakage, concurrency) for breakage in BREAKAGES for concurrency in (1, 4)]


@pytest.mark.parametrize(
    "case", MIGRATE_CASES, ids=[f"{b}, {'serial' if c == 1 else 'parallel'}" for b, c in MIGRATE_CASES]
)
def test_a_broken_tenant_fails_alone_and_the_others_migrate(
    settings: Settings,
    sync_engine: sa.Engine,
    make_tenant: Callable[..., TenantFixture],
    register_tenant: Callable[[str], str],
    case: tuple[str, int],
) -> None:
    breakage, concurrency = case
    intact = make_tenant("intact")
    guest = create_guest(intact.api, name="Still Here")
    # Two tenants with real work, so that in parallel the broken one migrates alongside others.
    lagging = [register_tenant("lag"), register_tenant("lag")]
    broken = make_tenant("broken")
    break_schema, reason = BREAKAGES[breakage]
    try:
        break_schema(sync_engine, broken.schema_name)
        intact_before = (intact.api.data(GUEST_NAMES), row_counts(sync_engine, intact.schema_name))
        broken_before = _columns(sync_engine, broken.schema_name)

        result = _migrate(settings, concurrency=concurrency)

        assert result.exit_code != 0
        failed = _line_of(result, broken.schema_name)
        assert re.fullmatch(r"failed \(.+\)", failed), failed
        assert reason in failed
        assert _line_of(result, intact.schema_name) == "up to date"
        for schema_name in lagging:
            assert _line_of(result, schema_name) == "upgraded (from nothing)"
        [named] = [line for line in result.output.splitlines() if line.startswith("Error: failed: ")]
        failed_slugs = named.removeprefix("Error: failed: ").split(", ")
        assert broken.slug in failed_slugs
        assert intact.slug not in failed_slugs
        # The others are whole, and the failed one was left exactly as it was (DDL rolled back).
        assert (intact.api.data(GUEST_NAMES), row_counts(sync_engine, intact.schema_name)) == intact_before
        assert guest["id"] in {edge["node"]["id"] for edge in intact_before[0]["guests"]["edges"]}
        assert alembic_version(sync_engine, intact.schema_name) == head_revision("tenant")
        for schema_name in lagging:
            assert alembic_version(sync_engine, schema_name) == head_revision("tenant")
            assert _drift(sync_engine, schema_name) == []
        assert _columns(sync_engine, broken.schema_name) == broken_before
    finally:
        # A broken tenant left behind would fail every later `migrate` of this worker.
        drop_tenant(sync_engine, slug=broken.slug)


def test_migrate_check_reports_a_lagging_tenant_and_changes_nothing(
    settings: Settings, sync_engine: sa.Engine, tenant: TenantFixture, register_tenant: Callable[[str], str]
) -> None:
    lagging = register_tenant("lag")
    before = _catalogue(sync_engine)
    check = _migrate(settings, "--check")
    assert check.exit_code == 1, check.output
    assert _line_of(check, lagging) == "behind (at nothing)"
    assert _line_of(check, tenant.schema_name) == "up to date"
    assert re.search(r"^\d+ tenant\(s\): \d+ at head, [1-9]\d* behind, 0 failed$", check.output, re.MULTILINE)
    assert _catalogue(sync_engine) == before
    assert _columns(sync_engine, lagging) == []

    assert _migrate(settings).exit_code == 0
    again = _migrate(settings, "--check")
    assert again.exit_code == 0, again.output
    assert _line_of(again, lagging) == "up to date"


def test_migrate_check_flags_a_broken_tenant_and_changes_nothing(
    settings: Settings, sync_engine: sa.Engine, make_tenant: Callable[..., TenantFixture]
) -> None:
    broken = make_tenant("broken")
    try:
        _unknown_revision(sync_engine, broken.schema_name)
        before = _catalogue(sync_engine)
        check = _migrate(settings, "--check")
        assert check.exit_code != 0, check.output
        assert _line_of(check, broken.schema_name) != "up to date"
        assert "nonexistent" in _line_of(check, broken.schema_name)
        assert _catalogue(sync_engine) == before
    finally:
        drop_tenant(sync_engine, slug=broken.slug)
