"""When PostgreSQL or Redis is down, every request is a 503 with `Retry-After` and the code
`UNAVAILABLE`, naming nothing internal; `/healthz` names the dependency that is down; and once it
is back the same app serves again by itself. The outages are real: a Redis server of the test's
own is killed and restarted, and PostgreSQL is reached through a TCP forwarder that is cut."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.settings import Settings
from tests.conftest import OWNER_PASSWORD, GraphQLClient, Servers, TenantFixture, login
from tests.factories import CREATE_GUEST, create_guest
from tests.helpers_db import row_counts
from tests.own_redis import OwnRedis
from tests.tcp_forwarder import TcpForwarder
from tests.test_timeouts import locked

GUESTS = "query { guests(first: 10) { edges { node { name } } } }"
CREATE_API_KEY = (
    """mutation { createApiKey(input: {name: "cm", scopes: ["guests:read"]}) { key errors { code } } }"""
)


@pytest.fixture
def postgres_link(servers: Servers) -> Iterator[TcpForwarder]:
    url = sa.engine.make_url(servers.database_url)
    socket_dir = url.query.get("host")  # the embedded server listens on a unix socket only
    forwarder = TcpForwarder(
        f"{socket_dir}/.s.PGSQL.{url.port or 5432}"
        if isinstance(socket_dir, str)
        else (url.host or "127.0.0.1", url.port or 5432)
    )
    forwarder.start()
    yield forwarder
    forwarder.stop()


@pytest.fixture
def app_on(settings: Settings, servers: Servers) -> Iterator[Callable[..., TestClient]]:
    """Apps wired to the given servers, each with its own Redis namespace."""
    opened: list[TestClient] = []

    def make(
        *, database_url: str = servers.database_url, redis_url: str = servers.redis_url, **overrides: Any
    ) -> TestClient:
        own = settings.model_copy(update={"redis_namespace": f"outage-{time.monotonic_ns()}", **overrides})
        client = TestClient(create_app(own, database_url=database_url, redis_url=redis_url)).__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _through(servers: Servers, forwarder: TcpForwarder) -> str:
    url = sa.engine.make_url(servers.database_url).difference_update_query(["host"])
    url = url.set(host="127.0.0.1", port=forwarder.port)
    return url.render_as_string(hide_password=False)


def _owner(client: TestClient, tenant: TenantFixture) -> GraphQLClient:
    token = login(client, tenant=tenant.slug, email=tenant.owner_email, password=OWNER_PASSWORD)
    return GraphQLClient(client, {"Authorization": f"Bearer {token}"})


def _assert_unavailable(response: Any, *internals: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    [error] = response.json()["errors"]
    assert error["message"] == "The service is temporarily unavailable; retry shortly."
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert error["extensions"]["requestId"] == response.headers["X-Request-Id"]
    for internal in ("127.0.0.1", "localhost", "psycopg", "redis", "connect", *internals):
        assert internal.lower() not in response.text.lower()


def _answered(call: Callable[[], Any], what: str) -> Any:
    """`call()` in a thread joined with a deadline: a request that hangs fails the test instead of
    stalling it."""
    answer: list[Any] = []
    worker = threading.Thread(target=lambda: answer.append(call()), daemon=True)
    worker.start()
    worker.join(30)
    assert answer, f"{what} hung"
    return answer[0]


def _health(client: TestClient) -> tuple[int, dict[str, Any], str | None]:
    response = _answered(lambda: client.get("/healthz"), "/healthz")
    return response.status_code, response.json(), response.headers.get("Retry-After")


def _names(api: GraphQLClient) -> list[str]:
    return [edge["node"]["name"] for edge in api.data(GUESTS)["guests"]["edges"]]


def test_a_redis_outage_is_a_503_and_the_app_recovers_by_itself(
    app_on: Callable[..., TestClient], own_redis: OwnRedis, tenant: TenantFixture
) -> None:
    client = app_on(redis_url=own_redis.url)
    api = _owner(client, tenant)
    create_guest(api, name="Anna")

    own_redis.kill()
    response = client.post("/graphql", json={"query": GUESTS}, headers=api.headers)
    _assert_unavailable(response, str(own_redis.port))
    assert _health(client) == (503, {"status": "degraded", "database": "ok", "redis": "unavailable"}, "5")

    own_redis.start()  # AOF: the staff session survived the restart
    assert _names(api) == ["Anna"]
    assert _health(client)[:2] == (200, {"status": "ok", "database": "ok", "redis": "ok"})


def test_a_redis_that_stops_answering_is_a_503_not_a_hang(
    app_on: Callable[..., TestClient], own_redis: OwnRedis, tenant: TenantFixture
) -> None:
    link = TcpForwarder(("127.0.0.1", own_redis.port))
    link.start()
    try:
        client = app_on(redis_url=f"redis://127.0.0.1:{link.port}/0", redis_timeout_seconds=0.5)
        api = _owner(client, tenant)
        link.stop()
        link.start(hang=True)  # a host that takes connections and never answers
        # The first request finds its connection cut; the second connects to the silent host.
        for _ in range(2):
            response = _answered(
                lambda: client.post("/graphql", json={"query": GUESTS}, headers=api.headers), "the request"
            )
            _assert_unavailable(response, str(link.port))
    finally:
        link.stop()


def test_a_postgres_outage_is_a_503_and_the_app_recovers_by_itself(
    app_on: Callable[..., TestClient],
    postgres_link: TcpForwarder,
    servers: Servers,
    tenant: TenantFixture,
    sync_engine: sa.Engine,
) -> None:
    client = app_on(database_url=_through(servers, postgres_link))
    api = _owner(client, tenant)
    create_guest(api, name="Anna")
    partner = GraphQLClient(client, {"X-Api-Key": api.data(CREATE_API_KEY)["createApiKey"]["key"]})
    before = row_counts(sync_engine, tenant.schema_name)

    postgres_link.stop()  # the pool's connections are cut, new ones refused
    internals = (str(postgres_link.port), "5432", "sqlalchemy")
    for caller, query in [(api, GUESTS), (partner, GUESTS), (api, CREATE_GUEST)]:
        variables = {"input": {"name": "Lost"}}
        response = client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=caller.headers
        )
        _assert_unavailable(response, *internals)
    assert row_counts(sync_engine, tenant.schema_name) == before
    assert _health(client) == (503, {"status": "degraded", "database": "unavailable", "redis": "ok"}, "5")

    postgres_link.start()
    assert _names(api) == ["Anna"]
    assert _names(partner) == ["Anna"]
    assert _health(client)[:2] == (200, {"status": "ok", "database": "ok", "redis": "ok"})


def test_healthz_answers_when_postgres_hangs(
    app_on: Callable[..., TestClient], postgres_link: TcpForwarder, servers: Servers
) -> None:
    client = app_on(database_url=_through(servers, postgres_link))
    assert _health(client)[0] == 200
    postgres_link.stop()
    postgres_link.start(hang=True)  # connections are accepted and never answered
    assert _health(client) == (503, {"status": "degraded", "database": "unavailable", "redis": "ok"}, "5")


def test_a_request_that_finds_no_free_connection_is_a_503(
    app_on: Callable[..., TestClient], tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    client = app_on(db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.5, db_statement_timeout_ms=0)
    api = _owner(client, tenant)
    create_guest(api, name="Anna")
    answers: list[Any] = []
    with locked(sync_engine, tenant.schema_name, "guest"):
        # The first request holds the pool's only connection, waiting on the lock.
        holder = threading.Thread(target=lambda: answers.append(_names(api)), daemon=True)
        holder.start()
        _wait_for_a_lock_waiter(sync_engine)
        response = client.post("/graphql", json={"query": GUESTS}, headers=api.headers)
        _assert_unavailable(response)
    holder.join(30)
    assert answers == [["Anna"]]
    assert _names(api) == ["Anna"]


def _wait_for_a_lock_waiter(sync_engine: sa.Engine) -> None:
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(600):
        with sync_engine.connect() as connection:
            if connection.execute(query).scalar_one():
                return
        time.sleep(0.05)
    raise AssertionError("the first request never reached the lock")
