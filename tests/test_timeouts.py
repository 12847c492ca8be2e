"""A statement timeout is a clean `TIMEOUT` error: the request's transaction is rolled back, the
answer says nothing was written, the connection is never handed back broken, and even a pool of
one connection keeps serving. Timeouts are provoked deterministically: another connection holds a
lock on one tenant table, so any statement touching it waits until the timeout cancels it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.tenancy.database import quoted_schema
from tests.conftest import OWNER_PASSWORD, GraphQLClient, TenantFixture, error_codes, login
from tests.factories import create_booking, create_guest, create_property
from tests.helpers_db import add_trigger, table_contents

GUESTS = "query { guests(first: 10) { edges { node { name } } } }"
GUESTS_WITH_BOOKINGS = "query { guests(first: 10) { edges { node { name bookings { id } } } } }"
PROPERTIES = "query { properties(first: 10) { edges { node { name } } } }"
PROPERTY_THEN_GUEST = """mutation {
  p: createProperty(input: {name: "Casa Kept", timezone: "America/Costa_Rica"}) { property { id } errors { code } }
  g: createGuest(input: {name: "Waits"}) { guest { id } errors { code } }
}"""


@contextmanager
def locked(sync_engine: sa.Engine, schema_name: str, table: str) -> Iterator[None]:
    """Hold an exclusive lock on one tenant table from another connection for the block."""
    with sync_engine.connect() as connection, connection.begin():
        connection.execute(
            sa.text(f"LOCK TABLE {quoted_schema(schema_name)}.{table} IN ACCESS EXCLUSIVE MODE")
        )
        yield


@pytest.fixture
def tight(strict: Callable[..., TestClient], tenant: TenantFixture) -> tuple[TestClient, GraphQLClient]:
    """An app with a short statement timeout and a pool of one connection, and the owner on it."""
    client = strict(db_statement_timeout_ms=300, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=5)
    token = login(client, tenant=tenant.slug, email=tenant.owner_email, password=OWNER_PASSWORD)
    return client, GraphQLClient(client, {"Authorization": f"Bearer {token}"})


def _post(client: TestClient, api: GraphQLClient, query: str) -> dict[str, object]:
    response = client.post("/graphql", json={"query": query}, headers=api.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _timed_out(body: dict[str, object]) -> None:
    codes = error_codes(body)
    assert codes and set(codes) == {"TIMEOUT"}, body
    for error in body["errors"]:  # type: ignore[attr-defined]
        assert error["extensions"]["written"] is False
        assert "cancel" not in error["message"].lower() or "timeout" in error["message"].lower()
        assert "statement" not in error["message"].lower()


def _writes_nothing_while_locked(
    client: TestClient, api: GraphQLClient, tenant: TenantFixture, sync_engine: sa.Engine, table: str
) -> None:
    """PROPERTY_THEN_GUEST times out while `table` is locked, and leaves no row behind."""
    before = table_contents(sync_engine, tenant.schema_name)
    with locked(sync_engine, tenant.schema_name, table):
        body = _post(client, api, PROPERTY_THEN_GUEST)
    _timed_out(body)
    assert body["data"] is None
    assert table_contents(sync_engine, tenant.schema_name) == before


def _anna_with_a_booking(api: GraphQLClient) -> None:
    guest = create_guest(api, name="Anna")
    create_booking(api, property_id=create_property(api)["id"], guest_id=guest["id"])


def test_a_timeout_in_a_top_level_query_is_a_clean_timeout_error(
    tight: tuple[TestClient, GraphQLClient], tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    client, api = tight
    create_guest(api, name="Anna")
    with locked(sync_engine, tenant.schema_name, "guest"):
        body = _post(client, api, GUESTS)
    _timed_out(body)
    assert body["data"] is None
    # The pool's one connection came back usable.
    assert api.data(GUESTS)["guests"]["edges"] == [{"node": {"name": "Anna"}}]


def test_a_timeout_in_a_nested_loader_is_a_clean_timeout_error(
    tight: tuple[TestClient, GraphQLClient], tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    client, api = tight
    _anna_with_a_booking(api)
    with locked(sync_engine, tenant.schema_name, "booking"):
        body = _post(client, api, GUESTS_WITH_BOOKINGS)
    _timed_out(body)
    [edge] = api.data(GUESTS_WITH_BOOKINGS)["guests"]["edges"]
    assert edge["node"]["name"] == "Anna" and len(edge["node"]["bookings"]) == 1


def test_a_timeout_in_a_mutation_writes_nothing(
    tight: tuple[TestClient, GraphQLClient], tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    client, api = tight
    _writes_nothing_while_locked(client, api, tenant, sync_engine, "guest")
    # The same request succeeds once the lock is gone: nothing left over, nothing duplicated.
    assert not _post(client, api, PROPERTY_THEN_GUEST).get("errors")
    assert api.data(PROPERTIES)["properties"]["edges"] == [{"node": {"name": "Casa Kept"}}]


def test_a_lock_wait_at_commit_is_a_clean_timeout_error(
    tight: tuple[TestClient, GraphQLClient], tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    """A deferred trigger that needs a lock another transaction holds waits at COMMIT, where
    PostgreSQL starts no statement timer: the lock timeout bounds it, and nothing is written."""
    client, api = tight
    add_trigger(
        sync_engine,
        tenant.schema_name,
        name="lock_at_commit",
        body="BEGIN LOCK TABLE booking IN SHARE MODE; RETURN NULL; END",
        when="AFTER INSERT ON property DEFERRABLE INITIALLY DEFERRED FOR EACH ROW",
        constraint=True,
    )
    _writes_nothing_while_locked(client, api, tenant, sync_engine, "booking")


def test_a_pool_of_one_serves_every_request_after_timeouts(
    tight: tuple[TestClient, GraphQLClient], tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    client, api = tight
    _anna_with_a_booking(api)
    for table, query in [("guest", GUESTS), ("booking", GUESTS_WITH_BOOKINGS)] * 3:
        with locked(sync_engine, tenant.schema_name, table):
            assert set(error_codes(_post(client, api, query))) == {"TIMEOUT"}
        assert api.data(GUESTS_WITH_BOOKINGS)["guests"]["edges"][0]["node"]["name"] == "Anna"
    pool = client.app.state.resources.engine.pool  # type: ignore[attr-defined]
    assert pool.checkedout() == 0
