"""The `hospes` command refuses bad input with one clear line and leaves nothing behind."""

from __future__ import annotations

import base64
import pathlib
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from click.testing import Result
from starlette.testclient import TestClient

from hospes.settings import Settings
from hospes.tenancy.migrations import head_revision
from hospes.tenancy.provisioning import schema_name_for
from tests.conftest import OWNER_PASSWORD, GraphQLClient, TenantFixture, login
from tests.helpers_cli import error_line, hospes
from tests.helpers_db import alembic_version, row_counts, schema_names, tenant_slugs


def _unique(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _tenant_row(engine: sa.Engine, slug: str) -> sa.Row[tuple[str, str, str]] | None:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT name, schema_name, status FROM public.tenant WHERE slug = :slug"), {"slug": slug}
        ).first()


# --- tenant create ---------------------------------------------------------------------------------


def test_tenant_create_registers_the_company_and_provisions_its_schema(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    slug = _unique()
    result = hospes(settings, "tenant", "create", slug, "--name", "Casa Azul Rentals")
    assert result.exit_code == 0, result.output
    schema_name = schema_name_for(slug)
    assert f"created tenant {slug} (schema {schema_name})" in result.output
    row = _tenant_row(sync_engine, slug)
    assert row is not None
    assert (row.name, row.schema_name, row.status) == ("Casa Azul Rentals", schema_name, "active")
    assert schema_name in schema_names(sync_engine)
    assert alembic_version(sync_engine, schema_name) == head_revision("tenant")
    assert row_counts(sync_engine, schema_name)["guest"] == 0


# `{}` becomes a random suffix, so a slug that wrongly got through could not collide with another test.
@pytest.mark.parametrize(
    "template",
    [
        pytest.param("Acme-{}", id="uppercase"),
        pytest.param("a", id="too-short"),
        pytest.param("9acme-{}", id="starts-with-digit"),
        pytest.param("acme_{}", id="underscore"),
        pytest.param("a" + "b" * 41, id="too-long"),
        pytest.param("-acme-{}", id="starts-with-dash"),
        pytest.param("acme {}", id="space"),
        pytest.param('acme-{}";drop', id="quote"),
        pytest.param("", id="empty"),
    ],
)
def test_tenant_create_refuses_a_bad_slug_and_creates_nothing(
    settings: Settings, sync_engine: sa.Engine, template: str
) -> None:
    slug = template.format(uuid.uuid4().hex[:8])
    slugs_before, schemas_before = tenant_slugs(sync_engine), schema_names(sync_engine)
    # `--` so that a slug starting with a dash reaches the command instead of being read as an option.
    result = hospes(settings, "tenant", "create", "--name", "Bad Slug Inc", "--", slug)
    assert result.exit_code != 0
    line = error_line(result)
    assert line.startswith("Error: invalid slug"), line
    assert repr(slug) in line
    assert tenant_slugs(sync_engine) == slugs_before
    assert schema_names(sync_engine) == schemas_before


def test_tenant_create_refuses_a_taken_slug_and_keeps_the_first_company(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    slug = _unique()
    assert hospes(settings, "tenant", "create", slug, "--name", "First Owner").exit_code == 0
    schemas_before = schema_names(sync_engine)
    result = hospes(settings, "tenant", "create", slug, "--name", "Second Owner")
    assert result.exit_code != 0
    assert error_line(result) == f"Error: tenant {slug!r} already exists"
    row = _tenant_row(sync_engine, slug)
    assert row is not None and row.name == "First Owner"
    assert schema_names(sync_engine) == schemas_before


def _created_lines(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("created tenant ")]


def _assert_provisioned(engine: sa.Engine, slug: str, name: str) -> None:
    row = _tenant_row(engine, slug)
    assert row is not None and row.name == name
    assert alembic_version(engine, schema_name_for(slug)) == head_revision("tenant")


def test_tenant_create_provisions_several_slugs_in_one_call(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    slugs = [_unique() for _ in range(3)]
    result = hospes(settings, "tenant", "create", *slugs)
    assert result.exit_code == 0, result.output
    assert _created_lines(result) == [
        f"created tenant {slug} (schema {schema_name_for(slug)})" for slug in slugs
    ]
    for slug in slugs:
        _assert_provisioned(sync_engine, slug, slug)  # named after its slug: no --name for several


def test_tenant_create_reads_slugs_and_names_from_a_file(
    settings: Settings, sync_engine: sa.Engine, tmp_path: pathlib.Path
) -> None:
    named, plain = _unique(), _unique()
    listing = tmp_path / "tenants.txt"
    listing.write_text(
        f"# companies moving over\n\n{named}  Casa Azul Rentals\n   \n{plain}\n", encoding="utf-8"
    )
    result = hospes(settings, "tenant", "create", "--from-file", str(listing))
    assert result.exit_code == 0, result.output
    assert len(_created_lines(result)) == 2
    _assert_provisioned(sync_engine, named, "Casa Azul Rentals")
    _assert_provisioned(sync_engine, plain, plain)


def test_tenant_create_reads_the_list_from_standard_input(settings: Settings, sync_engine: sa.Engine) -> None:
    first, second = _unique(), _unique()
    result = hospes(
        settings, "tenant", "create", "--from-file", "-", stdin=f"{first}\tFirst Villas\n{second}\n"
    )
    assert result.exit_code == 0, result.output
    _assert_provisioned(sync_engine, first, "First Villas")
    _assert_provisioned(sync_engine, second, second)


def test_tenant_create_refuses_a_list_with_a_bad_slug_and_creates_none_of_it(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    good, also_good = _unique(), _unique()
    slugs_before, schemas_before = tenant_slugs(sync_engine), schema_names(sync_engine)
    result = hospes(
        settings, "tenant", "create", "--from-file", "-", stdin=f"{good}\nNot_A_Slug\n{also_good}\n9nope\n"
    )
    assert result.exit_code != 0
    assert result.output.splitlines() == [
        "Error: stdin:2: invalid slug 'Not_A_Slug': use 2-41 characters, lower-case letters, digits and '-', "
        "starting with a letter",
        "Error: stdin:4: invalid slug '9nope': use 2-41 characters, lower-case letters, digits and '-', "
        "starting with a letter",
    ]
    assert tenant_slugs(sync_engine) == slugs_before
    assert schema_names(sync_engine) == schemas_before


def test_tenant_create_refuses_a_slug_listed_twice_and_creates_nothing(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    twice, other = _unique(), _unique()
    slugs_before = tenant_slugs(sync_engine)
    result = hospes(settings, "tenant", "create", twice, other, twice)
    assert result.exit_code != 0
    assert error_line(result) == (
        f"Error: argument {twice!r}: slug {twice!r} is listed twice (first at argument {twice!r})"
    )
    assert tenant_slugs(sync_engine) == slugs_before


def test_tenant_create_reports_an_existing_tenant_keeps_it_and_creates_the_others(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    taken, before, after = _unique(), _unique(), _unique()
    assert hospes(settings, "tenant", "create", taken, "--name", "First Owner").exit_code == 0
    result = hospes(settings, "tenant", "create", before, taken, after)
    assert result.exit_code != 0
    assert _created_lines(result) == [
        f"created tenant {slug} (schema {schema_name_for(slug)})" for slug in (before, after)
    ]
    assert f"not created: {taken}: tenant {taken!r} already exists" in result.stderr
    assert result.stderr.splitlines()[-1] == f"Error: 1 of 3 tenants not created: {taken}"
    row = _tenant_row(sync_engine, taken)
    assert row is not None and row.name == "First Owner"
    _assert_provisioned(sync_engine, before, before)
    _assert_provisioned(sync_engine, after, after)


def test_tenant_create_refuses_a_file_that_is_not_utf8(settings: Settings, tmp_path: pathlib.Path) -> None:
    listing = tmp_path / "tenants.txt"
    listing.write_bytes(b"caf\xe9-villas\n")
    result = hospes(settings, "tenant", "create", "--from-file", str(listing))
    assert result.exit_code != 0
    assert error_line(result).startswith(f"Error: {listing} is not UTF-8 text")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "tenant name must not be empty"),
        ("   ", "tenant name must not be empty"),
        ("Casa\x01Sol", "tenant name must not contain control characters"),
        ("Casa\x1b[31mSol", "tenant name must not contain control characters"),
        ("Casa\u200eSol", "tenant name must not contain control characters"),
    ],
    ids=["empty", "blank", "SOH", "ESC", "LRM"],
)
def test_tenant_create_refuses_a_bad_name_and_creates_nothing(
    settings: Settings, sync_engine: sa.Engine, name: str, error: str
) -> None:
    slug = _unique()
    result = hospes(settings, "tenant", "create", slug, "--name", name)
    assert result.exit_code != 0
    assert error_line(result) == f"Error: {error}"
    assert _tenant_row(sync_engine, slug) is None
    assert schema_name_for(slug) not in schema_names(sync_engine)


def test_tenant_create_refuses_an_overlong_name_and_creates_nothing(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    slug = _unique()
    result = hospes(settings, "tenant", "create", slug, "--name", "N" * 201)
    assert result.exit_code != 0
    assert "at most 200 characters" in error_line(result)
    assert _tenant_row(sync_engine, slug) is None
    assert schema_name_for(slug) not in schema_names(sync_engine)


def test_a_database_url_of_another_kind_is_one_line_of_error(
    settings: Settings, sync_engine: sa.Engine
) -> None:
    before = tenant_slugs(sync_engine)
    result = hospes(
        settings,
        "tenant",
        "create",
        _unique(),
        "--name",
        "X",
        env={"HOSPES_DATABASE_URL": "mysql://x@127.0.0.1/db"},
    )
    assert result.exit_code != 0
    assert "HOSPES_DATABASE_URL" in error_line(result) and "postgresql://" in error_line(result)
    assert tenant_slugs(sync_engine) == before


@pytest.mark.parametrize(
    "args",
    [
        ("tenant", "list"),
        ("tenant", "create", "nowhere-co", "--name", "X"),
        ("keys", "rotate", "--tenant", "x"),
    ],
    ids=["tenant list", "tenant create", "keys rotate"],
)
def test_a_database_that_does_not_exist_is_one_line_of_error(
    settings: Settings, args: tuple[str, ...]
) -> None:
    assert settings.database_url
    missing = settings.database_url.rsplit("/", 1)[0] + f"/hospes_missing_{uuid.uuid4().hex[:8]}"
    result = hospes(settings, *args, env={"HOSPES_DATABASE_URL": missing})
    assert result.exit_code != 0
    line = error_line(result)
    assert line.startswith("Error: cannot use the database:") and "does not exist" in line


def test_tenant_list_shows_a_created_company(settings: Settings) -> None:
    slug = _unique()
    assert hospes(settings, "tenant", "create", slug, "--name", "Listed Villas").exit_code == 0
    result = hospes(settings, "tenant", "list")
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith(f"{slug}\t")]
    fields = line.split("\t")
    assert fields[0] == slug
    assert fields[1] == "active"
    assert fields[-1] == "Listed Villas"


# --- user create -----------------------------------------------------------------------------------


def _create_user(
    settings: Settings, *, tenant: str, email: str, password: str, role: str = "agent"
) -> Result:
    options = ["--tenant", tenant, "--email", email, "--password", password, "--role", role]
    return hospes(settings, "user", "create", *options)


def test_user_create_for_an_unknown_tenant_fails_with_one_line(settings: Settings) -> None:
    slug = _unique("nobody")
    result = _create_user(settings, tenant=slug, email="someone@example.com", password="long-enough-pass")
    assert result.exit_code != 0
    assert error_line(result) == f"Error: unknown tenant {slug!r}"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("short1!", "at least 10 characters"),
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("password123", "too easy to guess"),
        ("x" * 513, "at most 512 characters"),
    ],
    ids=["empty", "blank", "short", "repetitive", "common", "overlong"],
)
def test_user_create_refuses_a_weak_password_and_writes_nothing(
    settings: Settings, sync_engine: sa.Engine, tenant: TenantFixture, password: str, reason: str
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    result = _create_user(settings, tenant=tenant.slug, email="new.agent@example.com", password=password)
    assert result.exit_code != 0
    line = error_line(result)
    assert line.startswith("Error: password:"), line
    assert reason in line
    assert row_counts(sync_engine, tenant.schema_name) == before


@pytest.mark.parametrize("email", ["not-an-email", "two@@example.com", "", "   ", "agent@", "@example.com"])
def test_user_create_refuses_a_malformed_email_and_writes_nothing(
    settings: Settings, sync_engine: sa.Engine, tenant: TenantFixture, email: str
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    result = _create_user(settings, tenant=tenant.slug, email=email, password="long-enough-pass")
    assert result.exit_code != 0
    line = error_line(result)
    assert line.startswith("Error: email:"), line
    assert row_counts(sync_engine, tenant.schema_name) == before


@pytest.mark.parametrize("spelling", [str.lower, str.upper], ids=["same-case", "other-case"])
def test_user_create_refuses_a_taken_email_and_writes_nothing(
    settings: Settings,
    sync_engine: sa.Engine,
    client: TestClient,
    tenant: TenantFixture,
    spelling: Callable[[str], str],
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    result = _create_user(
        settings, tenant=tenant.slug, email=spelling(tenant.owner_email), password="another-pass-123"
    )
    assert result.exit_code != 0
    assert error_line(result) == "Error: email: A staff user with this email exists."
    assert row_counts(sync_engine, tenant.schema_name) == before
    # The first user's password still works: nothing was overwritten.
    assert login(client, tenant=tenant.slug, email=tenant.owner_email, password=OWNER_PASSWORD)


def test_a_user_created_on_the_command_line_can_log_in(
    settings: Settings, sync_engine: sa.Engine, client: TestClient, tenant: TenantFixture
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)["staff_user"]
    result = _create_user(
        settings,
        tenant=tenant.slug,
        email="  Maria.Manager@Example.com ",
        password="a-fine-password",
        role="manager",
    )
    assert result.exit_code == 0, result.output
    assert f"created manager maria.manager@example.com in {tenant.slug}" in result.output
    assert row_counts(sync_engine, tenant.schema_name)["staff_user"] == before + 1
    token = login(client, tenant=tenant.slug, email="maria.manager@example.com", password="a-fine-password")
    me = GraphQLClient(client, {"Authorization": f"Bearer {token}"}).data(
        "{ me { email role tenant { slug } } }"
    )
    assert me["me"] == {
        "email": "maria.manager@example.com",
        "role": "MANAGER",
        "tenant": {"slug": tenant.slug},
    }


def test_a_user_of_one_company_cannot_log_in_to_another(
    settings: Settings, client: TestClient, make_tenant: Callable[..., TenantFixture]
) -> None:
    first, second = make_tenant("cli"), make_tenant("cli")
    assert (
        _create_user(
            settings, tenant=first.slug, email="agent@example.com", password="first-secret-1"
        ).exit_code
        == 0
    )
    body = GraphQLClient(client).data(
        'mutation($t: String!) { login(input: {tenant: $t, email: "agent@example.com", '
        'password: "first-secret-1"}) { token errors { code } } }',
        {"t": second.slug},
    )
    assert body["login"] == {"token": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}


# --- keys ------------------------------------------------------------------------------------------


def test_keys_generate_prints_a_fresh_32_byte_base64url_key(settings: Settings) -> None:
    outputs = [hospes(settings, "keys", "generate") for _ in range(2)]
    keys = []
    for result in outputs:
        assert result.exit_code == 0, result.output
        [key] = result.output.splitlines()
        assert set(key) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
        assert len(base64.urlsafe_b64decode(key)) == 32
        keys.append(key)
    assert keys[0] != keys[1]


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        ("worker", "HOSPES_WORKER_THREADS", "0"),
        ("worker", "HOSPES_OUTBOX_LEASE_SECONDS", "-1"),
        ("scheduler", "HOSPES_SCHEDULER_INTERVAL_SECONDS", "soon"),
        ("scheduler", "HOSPES_SCHEDULER_BATCH_SIZE", "0"),
    ],
)
def test_worker_and_scheduler_refuse_bad_settings_in_one_line(
    settings: Settings, command: str, variable: str, value: str
) -> None:
    result = hospes(settings, command, env={variable: value})
    assert result.exit_code != 0
    assert error_line(result).startswith(f"Error: invalid settings: {variable}")


def test_worker_refuses_a_thread_count_out_of_range(settings: Settings) -> None:
    result = hospes(settings, "worker", "--threads", "0")
    assert result.exit_code == 2 and "--threads" in result.output
