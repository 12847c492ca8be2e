"""Hospes works behind a stock PgBouncer in transaction mode (no `max_prepared_statements`) with
`HOSPES_DB_PREPARED_STATEMENTS=false`: the CLI provisions and migrates, and concurrent requests
over several tenants, sharing a few server connections, succeed and see only their own rows."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.settings import Settings
from tests.conftest import OWNER_PASSWORD, GraphQLClient, Servers, login
from tests.factories import CREATE_GUEST
from tests.helpers_cli import hospes
from tests.tcp_forwarder import free_port

GUESTS = """query { guests(first: 100) { totalCount edges { node { name } } } }"""
# Off: psycopg prepares nothing server-side, which a transaction pooler would hand to other clients.
NO_PREPARE = {"HOSPES_DB_PREPARED_STATEMENTS": "false"}


def _pgbouncer_binary() -> str:
    # Debian installs it in /usr/sbin, often not on a non-root PATH.
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer); PgBouncer test skipped")
    return found


def _wait_until_accepting(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2) as connection:
                connection.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"pgbouncer did not start: {output}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def bouncer_url(servers: Servers) -> Iterator[str]:
    """A PgBouncer in transaction mode in front of the test database; yields its URL."""
    binary = _pgbouncer_binary()
    target = make_url(servers.database_url.replace("postgresql+psycopg://", "postgresql://"))
    # The embedded server listens on a unix socket, named by the `host` query parameter.
    host = target.host or str(target.query.get("host") or "")
    if not host or (host.startswith("/") and os.geteuid() == 0):
        # As root, PgBouncer runs as `nobody`, who cannot enter the embedded server's private folder.
        pytest.skip("PgBouncer test needs a PostgreSQL on TCP: set HOSPES_DATABASE_URL")
    user = target.username or "postgres"
    # PgBouncer refuses to run as root and then switches to `nobody`, who must read the files.
    directory = Path(tempfile.mkdtemp(prefix="hospes-pgbouncer-"))
    directory.chmod(0o755)
    port = free_port()
    password = (target.password or "").replace('"', '""')
    (directory / "userlist.txt").write_text(f'"{user}" "{password}"\n')
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{target.database} = host={host} port={target.port or 5432} dbname={target.database}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'userlist.txt'}\n"
        # Few server connections for many clients: each one serves many tenants and clients in turn.
        "pool_mode = transaction\ndefault_pool_size = 3\nmax_client_conn = 200\n"
    )
    for written in directory.iterdir():
        written.chmod(0o644)
    command = [binary, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
    url = target.set(host="127.0.0.1", port=port, query={}).render_as_string(hide_password=False)
    try:
        _wait_until_accepting(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _through(settings: Settings, bouncer_url: str) -> Settings:
    return settings.model_copy(update={"database_url": bouncer_url})


def test_cli_provisions_and_migrates_tenants_through_pgbouncer(settings: Settings, bouncer_url: str) -> None:
    through = _through(settings, bouncer_url)
    slugs = [f"pgb-{uuid.uuid4().hex[:8]}" for _ in range(8)]

    for slug in slugs:
        created = hospes(through, "tenant", "create", slug, "--name", f"Company {slug}", env=NO_PREPARE)
        assert created.exit_code == 0, created.output
        user = hospes(
            through, "user", "create", "--tenant", slug, "--email", f"owner@{slug}.test",
            "--password", OWNER_PASSWORD, "--role", "owner", env=NO_PREPARE,
        )  # fmt: skip
        assert user.exit_code == 0, user.output
    # Twice: a later process meets server connections an earlier one used.
    migrations = [
        hospes(through, "migrate", env={**NO_PREPARE, "HOSPES_MIGRATE_CONCURRENCY": "2"}) for _ in range(2)
    ]
    checked = hospes(through, "migrate", "--check", env=NO_PREPARE)
    listed = hospes(through, "tenant", "list", env=NO_PREPARE)

    for result in [*migrations, checked]:
        assert result.exit_code == 0, result.output
        assert "0 behind, 0 failed" in result.output
    assert listed.exit_code == 0, listed.output
    assert all(slug in listed.output for slug in slugs)


def _tenant_owner(through: Settings, client: TestClient) -> tuple[str, GraphQLClient]:
    slug = f"pgb-{uuid.uuid4().hex[:8]}"
    for args in (
        ("tenant", "create", slug, "--name", f"Company {slug}"),
        ("user", "create", "--tenant", slug, "--email", f"owner@{slug}.test", "--password", OWNER_PASSWORD,
         "--role", "owner"),
    ):  # fmt: skip
        result = hospes(through, *args, env=NO_PREPARE)
        assert result.exit_code == 0, result.output
    token = login(client, tenant=slug, email=f"owner@{slug}.test", password=OWNER_PASSWORD)
    return slug, GraphQLClient(client, {"Authorization": f"Bearer {token}"})


def _work(owner: tuple[str, GraphQLClient], rounds: int) -> list[str]:
    """Writes and reads as one tenant; returns every problem seen (errors, another tenant's rows)."""
    slug, api = owner
    problems: list[str] = []
    for number in range(rounds):
        created: dict[str, Any] = api(CREATE_GUEST, {"input": {"name": f"{slug} guest {number}"}})
        if created.get("errors") or created["data"]["createGuest"]["errors"]:
            problems.append(f"{slug} create: {created}")
        listed = api(GUESTS)
        if listed.get("errors"):
            problems.append(f"{slug} list: {listed['errors']}")
            continue
        names = [edge["node"]["name"] for edge in listed["data"]["guests"]["edges"]]
        problems += [f"{slug} sees {name!r}" for name in names if not name.startswith(f"{slug} ")]
    return problems


def test_concurrent_requests_over_tenants_through_pgbouncer_see_only_their_own_rows(
    settings: Settings, servers: Servers, bouncer_url: str
) -> None:
    # A small pool, so each pooled connection (and each server connection behind it) serves many
    # tenants in turn; prepared statements would be prepared on one and looked up on another.
    through = _through(settings, bouncer_url).model_copy(
        update={"db_prepared_statements": False, "db_pool_size": 3, "db_max_overflow": 0}
    )
    app = create_app(through, database_url=bouncer_url, redis_url=servers.redis_url)
    with TestClient(app) as client:
        owners = [_tenant_owner(through, client) for _ in range(4)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(_work, owners * 2, [12] * 8))
        counts = {slug: api.data(GUESTS)["guests"]["totalCount"] for slug, api in owners}

    assert [problem for problems in outcomes for problem in problems] == []
    assert counts == {slug: 24 for slug, _ in owners}
