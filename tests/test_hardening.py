"""The endpoint holds against the abuse a public GraphQL API meets: limits refuse before any
resolver runs, introspection is for staff, and errors never leak internals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from app import create_app
from settings import Environment, Settings
from tests.conftest import GraphQLClient, Servers, TenantFixture, error_codes


@contextmanager
def statements(client: TestClient) -> Iterator[list[str]]:
    engine = client.app.state.resources.engine.sync_engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def deep_query(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"guest {{ bookings {{ {inner} }} }}"
    return f'{{ booking(id: "x") {{ {inner} }} }}'


def test_a_fifty_level_query_is_refused_before_any_resolver(
    tenant: TenantFixture, client: TestClient
) -> None:
    with statements(client) as seen:
        body = tenant.api(deep_query(25))  # 50 levels of nesting
    assert set(error_codes(body)) == {"QUERY_TOO_COMPLEX"}
    assert body.get("data") is None
    assert seen == []  # refused during validation: no statement reached the database


def test_a_thousand_aliases_are_refused_before_any_resolver(
    tenant: TenantFixture, client: TestClient
) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(1000)) + " }"
    with statements(client) as seen:
        body = tenant.api(query)
    assert set(error_codes(body)) == {"QUERY_TOO_COMPLEX"}
    assert seen == []


def test_an_alias_flood_is_refused_from_its_text(tenant: TenantFixture, client: TestClient) -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"  # fits the token cap
    with statements(client) as seen:
        body = tenant.api(query)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert seen == []


def test_alias_estimate_counts_aliases_only() -> None:
    from schema.limits import alias_estimate

    assert alias_estimate('{ a: me { email } b: guests(first: 5, search: "x: y") { totalCount } }') == 2
    assert alias_estimate("query($id: ID!) { guest(id: $id) { name } }") == 0


def test_list_fields_cost_by_their_page_size(tenant: TenantFixture) -> None:
    fine = "{ guests(first: 50) { edges { node { bookings { payments { amount } } } } } }"
    assert not tenant.api(fine).get("errors")
    # 100 guests x 10 bookings x 10 payments x 10 service requests... blows the budget.
    costly = (
        "{ guests(first: 100) { edges { node { bookings { payments { booking { serviceRequests { "
        "booking { payments { amount } } } } } } } } } }"
    )
    body = tenant.api(costly)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["cost"] > body["errors"][0]["extensions"]["budget"]


def test_variable_page_sizes_are_costed_at_the_maximum(tenant: TenantFixture) -> None:
    costly = (
        "query($n: Int) { guests(first: $n) { edges { node { bookings { payments { booking { "
        "serviceRequests { booking { payments { amount } } } } } } } } } }"
    )
    assert error_codes(tenant.api(costly, {"n": 1})) == ["QUERY_TOO_COMPLEX"]


def test_first_is_capped_at_one_hundred(tenant: TenantFixture) -> None:
    assert error_codes(tenant.api("{ guests(first: 101) { totalCount } }")) == ["BAD_USER_INPUT"]


INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture(scope="module")
def production(settings: Settings, servers: Servers) -> Iterator[TestClient]:
    app = create_app(
        settings.model_copy(update={"env": Environment.PRODUCTION}),
        database_url=servers.database_url,
        redis_url=servers.redis_url,
    )
    with TestClient(app) as client:
        yield client


def test_introspection_in_production_is_for_staff_only(
    production: TestClient, tenant: TenantFixture, anonymous: GraphQLClient
) -> None:
    staff = GraphQLClient(production, tenant.api.headers)
    assert staff.data(INTROSPECTION)["__schema"]["queryType"]["name"] == "Query"
    for headers in ({}, {"X-Tenant": tenant.slug}, {"Authorization": "Bearer garbage"}):
        body = GraphQLClient(production, headers)(INTROSPECTION)
        assert set(error_codes(body)) == {"FORBIDDEN"}, body
    # __typename is not introspection of the schema and stays available.
    assert GraphQLClient(production, {"X-Tenant": tenant.slug}).data("{ __typename }") == {
        "__typename": "Query"
    }


def test_graphiql_is_served_only_in_development(production: TestClient, client: TestClient) -> None:
    html = {"Accept": "text/html"}
    assert client.get("/graphql", headers=html).status_code == 200
    assert production.get("/graphql", headers=html).status_code == 404


def test_batches_are_capped(tenant: TenantFixture, client: TestClient, settings: Settings) -> None:
    one = {"query": "{ me { email } }"}
    small = client.post("/graphql", json=[one, one], headers=tenant.api.headers)
    assert small.status_code == 200 and len(small.json()) == 2
    too_many = client.post(
        "/graphql", json=[one] * (settings.graphql_max_batch + 1), headers=tenant.api.headers
    )
    assert too_many.status_code == 400


def test_request_bodies_are_capped(tenant: TenantFixture, client: TestClient, settings: Settings) -> None:
    padding = " " * (settings.max_request_bytes + 1)
    response = client.post(
        "/graphql",
        content=('{"query": "{ me { email } }' + padding + '"}').encode(),
        headers={**tenant.api.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_every_response_carries_a_request_id(client: TestClient, tenant: TenantFixture) -> None:
    response = client.post("/graphql", json={"query": "{ me { email } }"}, headers=tenant.api.headers)
    assert len(response.headers["x-request-id"]) >= 8
    echoed = client.post(
        "/graphql",
        json={"query": "{ me { email } }"},
        headers={**tenant.api.headers, "X-Request-Id": "trace-abc-123"},
    )
    assert echoed.headers["x-request-id"] == "trace-abc-123"


def test_errors_name_no_other_tenant_and_no_internals(
    tenant: TenantFixture, anonymous: GraphQLClient
) -> None:
    body = anonymous.as_(**{"X-Tenant": "some-other-company"})("{ guests { totalCount } }")
    assert body["errors"][0]["message"] == "Unknown tenant."
    assert "some-other-company" not in str(body)
    broken = tenant.api("{ guests(first: 1) { edges { node { nonexistent } } } }")
    assert error_codes(broken) == ["BAD_USER_INPUT"]
    assert "Traceback" not in str(broken) and "sqlalchemy" not in str(broken).lower()
