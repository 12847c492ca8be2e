"""Pooled connections are not pinged before each request (that was a round trip per request): a
connection that turns out dead at the first statement of a request is replaced and the request run
once more, so a backend killed by `pg_terminate_backend` (or a PostgreSQL restart) never reaches
the client as an error, and nothing is written twice."""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import OWNER_PASSWORD, GraphQLClient, TenantFixture, login
from tests.factories import CREATE_GUEST
from tests.helpers_db import row_counts
from tests.test_connections import _backend_pid

GUESTS = "query { guests(first: 10) { edges { node { name } } } }"
CREATE_API_KEY = (
    """mutation { createApiKey(input: {name: "dead", scopes: ["guests:read"]}) { key errors { code } } }"""
)


def _terminate(sync_engine: sa.Engine, pid: int) -> None:
    with sync_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        for _ in range(200):  # until the server has closed it: no timing is asserted
            alive = conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if alive.scalar_one() == 0:
                return
            conn.commit()  # pg_stat_activity is a snapshot per transaction
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} still alive")


def _names(api: GraphQLClient) -> list[str]:
    return sorted(edge["node"]["name"] for edge in api.data(GUESTS)["guests"]["edges"])


def test_a_pooled_connection_killed_by_pg_terminate_backend_is_replaced_without_an_error(
    strict: Callable[..., TestClient], tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    client = strict(db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=5)
    token = login(client, tenant=tenant.slug, email=tenant.owner_email, password=OWNER_PASSWORD)
    api = GraphQLClient(client, {"Authorization": f"Bearer {token}"})
    assert _names(api) == []

    killed = _backend_pid(client)
    _terminate(sync_engine, killed)
    assert _names(api) == []  # a read, answered on a fresh connection
    assert _backend_pid(client) != killed

    _terminate(sync_engine, _backend_pid(client))
    before = row_counts(sync_engine, tenant.schema_name)
    body = api(CREATE_GUEST, {"input": {"name": "Anna"}})  # a write: its first statement met the dead one
    assert not body.get("errors"), body["errors"]
    assert body["data"]["createGuest"]["errors"] == []
    after = row_counts(sync_engine, tenant.schema_name)
    assert after["guest"] == before["guest"] + 1  # written exactly once
    assert _names(api) == ["Anna"]


def test_a_killed_connection_met_by_the_credential_lookup_is_replaced_without_an_error(
    strict: Callable[..., TestClient], tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    owner_app = strict()
    token = login(owner_app, tenant=tenant.slug, email=tenant.owner_email, password=OWNER_PASSWORD)
    owner = GraphQLClient(owner_app, {"Authorization": f"Bearer {token}"})
    key = owner.data(CREATE_API_KEY)["createApiKey"]["key"]
    client = strict(db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=5)
    partner = GraphQLClient(client, {"X-Api-Key": key})

    _terminate(sync_engine, _backend_pid(client))  # the key lookup is the request's first statement
    assert _names(partner) == []
