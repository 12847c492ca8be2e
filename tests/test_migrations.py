"""`hospes migrate` brings `public` and every tenant schema to head, one transaction per tenant:
running it again changes nothing, a broken tenant fails alone, and `--check` only looks.

Every xdist worker has its own database, but other tests of the same worker leave their tenants in
it; assertions about single tenants therefore look only at the lines of the tenants made here.
"""

from __future__ import annotations

import ast
import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import Result
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from hospes import models  # noqa: F401  (registers every table on the metadata)
from hospes.notifications.templates import DEFAULT_TEMPLATES
from hospes.schema.ids import encode_id
from hospes.settings import Settings
from hospes.tenancy import rotation
from hospes.tenancy.crypto import encode_key, new_key
from hospes.tenancy.database import bind_search_path, quoted_schema
from hospes.tenancy.keyring import master_key_from
from hospes.tenancy.migrations import head_revision, upgrade_tenant
from hospes.tenancy.provisioning import drop_tenant, schema_name_for
from tests.conftest import OWNER_PASSWORD, GraphQLClient, TenantFixture, login
from tests.dates import AHEAD, days_from_today
from tests.factories import create_guest
from tests.helpers_cli import hospes
from tests.helpers_db import alembic_version, all_versions, plaintext_found, row_counts, run_in_tenant
from tests.test_encryption import PRIVATE_TEXT, PRIVATE_TEXT_COLUMNS

GUEST_NAMES = "{ guests(first: 100) { totalCount edges { node { id name } } } }"


def _migrate(
    settings: Settings, *options: str, concurrency: int = 4, env: dict[str, str] | None = None
) -> Result:
    """`hospes migrate`, with the default parallelism unless told otherwise."""
    return hospes(
        settings, "migrate", *options, env={"HOSPES_MIGRATE_CONCURRENCY": str(concurrency), **(env or {})}
    )


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


# --- t0006: private text written before it was encrypted ------------------------------------------

DOOR_CODE = "Key box code 2468 behind the olive tree"
REFERENCE = "ch_1OldPlainRef7731"
REQUEST_NOTE = "Pick us up at the ferry, we carry a cello"
CONTACT = "my passport is PZ7730019, is that enough?"
REPLY = "Your code for the gate is 9911"
GUIDE = "Wi-Fi: CasaVieja / olive 5150"
CANCELLED = "Cancelled: the guest's mother died"
# Written at t0004, when these columns were still plaintext.
PLAINTEXT_ROWS = [
    "INSERT INTO property (id, name, check_in_instructions, villa_guide) "
    "VALUES (:property, 'Casa Vieja', :door_code, :guide)",
    "INSERT INTO guest (id, name, name_key) VALUES (:guest, 'Olga Old', 'olga old')",
    "INSERT INTO booking (id, property_id, guest_id, check_in, check_out, adults, amount, currency, cancel_reason) "
    "VALUES (:booking, :property, :guest, :check_in, :check_out, 2, 500, 'USD', :cancelled)",
    "INSERT INTO payment (booking_id, amount, currency, method, provider_reference) "
    "VALUES (:booking, 100, 'USD', 'card', :reference)",
    "INSERT INTO service (id, name, price, currency) VALUES (:service, 'Boat trip', 85, 'USD')",
    "INSERT INTO service_request (guest_id, booking_id, service_id, service_date, people, price, currency, notes) "
    "VALUES (:guest, :booking, :service, :check_in, 2, 170, 'USD', :note)",
    "INSERT INTO communication (guest_id, channel, direction, subject, body, status, created_at) VALUES "
    "(:guest, 'email', 'in', 'Contact form', :contact, 'delivered', now() - interval '1 hour'), "
    "(:guest, 'sms', 'out', NULL, :reply, 'sent', now())",
]


def _slug_of(engine: sa.Engine, schema_name: str) -> str:
    with engine.connect() as connection:
        slug: str = connection.execute(
            sa.text("SELECT slug FROM public.tenant WHERE schema_name = :s"), {"s": schema_name}
        ).scalar_one()
    return slug


def _at_revision_with(
    engine: sa.Engine, schema_name: str, *, revision: str, rows: list[str], values: dict[str, Any]
) -> None:
    """The tenant as it was at `revision`, holding `rows` written as they were written then."""
    with engine.begin() as connection:
        upgrade_tenant(connection, schema_name=schema_name, revision=revision)
    run_in_tenant(engine, schema_name, rows, values)


def _at_t0004_with_plaintext(engine: sa.Engine, schema_name: str) -> uuid.UUID:
    """The tenant as it was before t0006, holding private text in plaintext; returns the guest id."""
    arrival = days_from_today(AHEAD)
    guest_id = uuid.uuid4()
    values = {
        "property": uuid.uuid4(),
        "guest": guest_id,
        "booking": uuid.uuid4(),
        "service": uuid.uuid4(),
        "check_in": arrival,
        "check_out": arrival + timedelta(days=4),
        "door_code": DOOR_CODE,
        "reference": REFERENCE,
        "note": REQUEST_NOTE,
        "contact": CONTACT,
        "reply": REPLY,
        "guide": GUIDE,
        "cancelled": CANCELLED,
    }
    _at_revision_with(engine, schema_name, revision="t0004", rows=PLAINTEXT_ROWS, values=values)
    return guest_id


def _plaintext_columns(engine: sa.Engine, schema_name: str) -> set[tuple[str, str]]:
    return {(table, column) for table, column, *_ in _columns(engine, schema_name)} & PRIVATE_TEXT_COLUMNS


def _owner(client: TestClient, settings: Settings, slug: str) -> GraphQLClient:
    email = f"owner@{slug}.test"
    made = hospes(
        settings, "user", "create", "--tenant", slug, "--email", email, "--password", OWNER_PASSWORD
    )
    assert made.exit_code == 0, made.output
    token = login(client, tenant=slug, email=email, password=OWNER_PASSWORD)
    return GraphQLClient(client, {"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("keys_before", ["none", "rotated"])
def test_private_text_written_before_t0006_is_encrypted_and_reads_back_the_same(
    settings: Settings,
    sync_engine: sa.Engine,
    client: TestClient,
    register_tenant: Callable[[str], str],
    keys_before: str,
) -> None:
    schema_name = register_tenant("plain")
    slug = _slug_of(sync_engine, schema_name)
    guest_id = _at_t0004_with_plaintext(sync_engine, schema_name)
    # Fragments too (with a space, so no hex digits of a ciphertext can match them by chance).
    secrets = [DOOR_CODE, "code 2468", REFERENCE, REQUEST_NOTE, CONTACT, "PZ7730019", REPLY, "is 9911"]
    secrets += [GUIDE, "olive 5150", CANCELLED, "mother died"]
    assert {secret for _, secret in plaintext_found(sync_engine, schema_name, secrets)} == set(secrets)
    master = master_key_from(settings)
    if keys_before == "rotated":
        # Keys made (v1) and rotated (v2) before the upgrade: the migration seals under the current one.
        assert rotation.add_data_key(sync_engine, master, schema_name=schema_name) == 1
        assert rotation.add_data_key(sync_engine, master, schema_name=schema_name) == 2
        before = _columns(sync_engine, schema_name)
        wrong = _migrate(settings, env={"HOSPES_MASTER_KEY": encode_key(new_key())})
        assert wrong.exit_code != 0
        assert "wrong master key" in _line_of(wrong, schema_name)
        assert _columns(sync_engine, schema_name) == before  # rolled back: still plaintext, at t0004
        assert alembic_version(sync_engine, schema_name) == "t0004"

    result = _migrate(settings)
    assert result.exit_code == 0, result.output
    assert _line_of(result, schema_name) == "upgraded (from t0004)"
    assert plaintext_found(sync_engine, schema_name, secrets) == []
    assert _plaintext_columns(sync_engine, schema_name) == set()
    assert _drift(sync_engine, schema_name) == []
    current = 2 if keys_before == "rotated" else 1
    keys = rotation.load_keys(sync_engine, master, schema_name=schema_name)
    assert keys.current_version == current  # a tenant without keys got its first ones
    assert all_versions(sync_engine, schema_name) == {current}

    api = _owner(client, settings, slug)
    guest = api.data(PRIVATE_TEXT, {"id": encode_id("Guest", guest_id)})["guest"]
    assert guest == {
        "communications": [
            {"direction": "OUT", "subject": None, "body": REPLY},
            {"direction": "IN", "subject": "Contact form", "body": CONTACT},
        ],
        "serviceRequests": [{"notes": REQUEST_NOTE}],
        "payments": [{"providerReference": REFERENCE}],
        "bookings": [
            {"cancelReason": CANCELLED, "property": {"checkInInstructions": DOOR_CODE, "villaGuide": GUIDE}}
        ],
    }


# What a send interrupted by a killed worker was marked with before t0007.
T0006_INTERRUPTED = "interrupted during the provider call; not retried, so the guest is never contacted twice"


def test_messages_failed_as_interrupted_before_t0007_become_unknown_and_other_failures_stay(
    settings: Settings, sync_engine: sa.Engine, register_tenant: Callable[[str], str]
) -> None:
    schema_name = register_tenant("unknown")
    with sync_engine.begin() as connection:
        upgrade_tenant(connection, schema_name=schema_name, revision="t0006")
    interrupted, bounced = uuid.uuid4(), uuid.uuid4()
    run_in_tenant(
        sync_engine,
        schema_name,
        [
            "INSERT INTO guest (id, name, name_key) VALUES (:guest, 'Una Known', 'una known')",
            "INSERT INTO communication (id, guest_id, channel, direction, status, error) VALUES "
            "(:interrupted, :guest, 'email', 'out', 'failed', :reason), "
            "(:bounced, :guest, 'email', 'out', 'failed', 'bounce')",
            "INSERT INTO communication_event (communication_id, step, detail) VALUES "
            "(:interrupted, 'sending', NULL), (:interrupted, 'failed', :reason), (:bounced, 'failed', 'bounce')",
        ],
        {"guest": uuid.uuid4(), "interrupted": interrupted, "bounced": bounced, "reason": T0006_INTERRUPTED},
    )
    result = _migrate(settings)
    assert result.exit_code == 0, result.output
    assert _line_of(result, schema_name) == "upgraded (from t0006)"
    with sync_engine.connect() as connection:
        bind_search_path(connection, schema_name)
        statuses = {
            row.id: row.status for row in connection.execute(sa.text("SELECT id, status FROM communication"))
        }
        steps = connection.execute(
            sa.text("SELECT communication_id, step FROM communication_event ORDER BY at, step")
        ).all()
    assert statuses == {interrupted: "unknown", bounced: "failed"}
    assert sorted((row.communication_id == interrupted, row.step) for row in steps) == [
        (False, "failed"),
        (True, "sending"),
        (True, "unknown"),
    ]
    assert _drift(sync_engine, schema_name) == []


# --- frozen revisions --------------------------------------------------------------------------

VERSIONS = sorted((Path(__file__).resolve().parent.parent / "models" / "migrations").glob("*/versions/*.py"))


@pytest.mark.parametrize("revision", VERSIONS, ids=lambda path: path.stem)
def test_a_revision_imports_no_app_code(revision: Path) -> None:
    """A revision that imported live code would change what it did whenever that code changed."""
    imported: list[str] = []
    for node in ast.walk(ast.parse(revision.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append("." * node.level + (node.module or ""))
    app = [name for name in imported if name.split(".")[0] == "hospes" or name.startswith(".")]
    assert app == [], f"{revision.name} imports {app}"


def _templates_at(engine: sa.Engine, schema_name: str, revision: str) -> set[tuple[Any, ...]]:
    with engine.begin() as connection:
        upgrade_tenant(connection, schema_name=schema_name, revision=revision)
        bind_search_path(connection, schema_name)
        rows = connection.execute(
            sa.text("SELECT key, language, channel, message_class, subject, body FROM message_template")
        ).all()
    return {tuple(row) for row in rows}


# What t0004 seeded when it was written (24 templates): a digest, so that an edit of the live
# default copy cannot pass for it.
T0004_SEEDED_SHA256 = "f37290c4ec9d864b160b2d4651e4a6da0d25b6bcf13bdbb2f0286ff6cf956c37"


def test_t0004_seeds_the_default_copy_it_was_written_with(
    sync_engine: sa.Engine, register_tenant: Callable[[str], str]
) -> None:
    seeded = sorted(_templates_at(sync_engine, register_tenant("seed"), "t0004"), key=repr)
    assert len(seeded) == 24
    assert hashlib.sha256(repr(seeded).encode()).hexdigest() == T0004_SEEDED_SHA256


def test_a_new_tenant_starts_with_the_default_templates(
    sync_engine: sa.Engine, register_tenant: Callable[[str], str]
) -> None:
    defaults = {
        (t.key, t.language, t.channel.value if t.channel else None, t.message_class.value, t.subject, t.body)
        for t in DEFAULT_TEMPLATES
    }
    assert _templates_at(sync_engine, register_tenant("new"), "head") == defaults


# Written at t0001, when guest contact data was still plaintext.
T0001_ROWS = [
    "INSERT INTO property (id, name) VALUES (:property, 'Casa Vieja')",
    "INSERT INTO guest (id, name, email, phone, notes) VALUES (:guest, 'Lucía Ñúñez-Ortiz', :email, :phone, :notes)",
    "INSERT INTO booking (property_id, guest_id, check_in, check_out, adults, amount, currency, status, "
    "stay_guest_name, stay_guest_email, stay_guest_phone) VALUES "
    "(:property, :guest, :check_in, :check_out, 2, 500, 'USD', 'confirmed', 'Pablo Ortiz', :stay_email, :stay_phone), "
    "(:property, :guest, :check_in, :check_out, 1, 300, 'USD', 'cancelled', NULL, NULL, NULL)",
]
GUEST_AND_STAY = """query ($id: ID!) { guest(id: $id) { name email phone notes bookingCount
  bookings { status stayGuest { name email phone } } } }"""
SEARCH = "query ($search: String!) { guests(search: $search) { edges { node { id } } } }"


def test_contact_data_written_before_t0002_is_encrypted_and_found_as_the_live_code_finds_it(
    settings: Settings, sync_engine: sa.Engine, client: TestClient, register_tenant: Callable[[str], str]
) -> None:
    schema_name = register_tenant("t0001")
    arrival = days_from_today(AHEAD)
    guest_id = uuid.uuid4()
    values = {
        "property": uuid.uuid4(),
        "guest": guest_id,
        "email": "lucia@example.com",
        "phone": "+34600111222",
        "notes": "allergic to nuts",
        "check_in": arrival,
        "check_out": arrival + timedelta(days=3),
        "stay_email": "pablo@example.com",
        "stay_phone": "+34600333444",
    }
    _at_revision_with(sync_engine, schema_name, revision="t0001", rows=T0001_ROWS, values=values)

    result = _migrate(settings)
    assert result.exit_code == 0, result.output
    assert _line_of(result, schema_name) == "upgraded (from t0001)"
    secrets = ["lucia@example.com", "+34600111222", "allergic to nuts", "pablo@example.com", "+34600333444"]
    assert plaintext_found(sync_engine, schema_name, secrets) == []
    assert all_versions(sync_engine, schema_name) == {1}

    api = _owner(client, settings, _slug_of(sync_engine, schema_name))
    guest = api.data(GUEST_AND_STAY, {"id": encode_id("Guest", guest_id)})["guest"]
    # Both bookings were written in one statement, so their order is not part of the check.
    bookings = sorted(guest.pop("bookings"), key=lambda booking: booking["status"])
    assert guest == {
        "name": "Lucía Ñúñez-Ortiz",
        "email": "lucia@example.com",
        "phone": "+34600111222",
        "notes": "allergic to nuts",
        "bookingCount": 1,
    }
    stay = {"name": "Pablo Ortiz", "email": "pablo@example.com", "phone": "+34600333444"}
    assert bookings == [
        {"status": "CANCELLED", "stayGuest": None},
        {"status": "CONFIRMED", "stayGuest": stay},
    ]
    # The blind indexes and the folded name are the ones the live code computes.
    for search in ("lucia@example.com", "+34600111222", "nunez", "lucia ortiz"):
        found = api.data(SEARCH, {"search": search})["guests"]["edges"]
        assert [edge["node"]["id"] for edge in found] == [encode_id("Guest", guest_id)], search
