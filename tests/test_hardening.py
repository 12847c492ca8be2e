"""The endpoint holds against the abuse a public GraphQL API meets: limits refuse before any
resolver runs, introspection is for staff, and errors never leak internals."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from graphql import parse
from sqlalchemy import event
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.schema.build import build_schema
from hospes.schema.limits import measure
from hospes.settings import Environment, Settings
from tests.conftest import GraphQLClient, Servers, TenantFixture, error_codes
from tests.factories import create_booking, create_guest, create_property


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


def test_an_alias_flood_is_refused_with_one_error(tenant: TenantFixture, client: TestClient) -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"  # fits the token cap
    with statements(client) as seen:
        body = tenant.api(query)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert seen == []


def fragment_doubling(levels: int) -> str:
    """`F1` spreads `F2` twice, `F2` spreads `F3` twice…: 2**(levels - 1) fields once expanded."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(1, levels)]
    return "{ ...F1 } " + " ".join(fragments) + f" fragment F{levels} on Query {{ __typename }}"


def test_fragments_doubling_forty_levels_deep_are_refused_without_a_credential(
    tenant: TenantFixture, anonymous: GraphQLClient, client: TestClient
) -> None:
    with statements(client) as seen:
        body = anonymous.as_(**{"X-Tenant": tenant.slug})(fragment_doubling(40))
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body.get("data") is None
    assert seen == []


def test_each_fragment_is_read_once_however_often_it_is_spread(settings: Settings) -> None:
    schema = build_schema(settings)._schema
    measured = measure(parse(fragment_doubling(100)), schema)
    # One selection in the operation, two in each of the 99 spreading fragments, one in the last.
    assert measured.selections_read == 1 + 2 * 99 + 1
    assert measured.fragment_spreads == 1 + 2 * 99
    assert measured.operations[0].cost == 2**99  # counted, never expanded


def test_fragment_spreads_are_capped(tenant: TenantFixture, settings: Settings) -> None:
    cap = settings.graphql_max_fragment_spreads

    def spreading(count: int) -> str:
        return "{ " + "...F " * count + "} fragment F on Query { __typename }"

    assert tenant.api.data(spreading(cap)) == {"__typename": "Query"}
    body = tenant.api(spreading(cap + 1))
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert f"{cap + 1} fragment spreads" in body["errors"][0]["message"]


def test_repeated_fragments_in_an_ordinary_query_are_accepted(tenant: TenantFixture) -> None:
    create_booking(
        tenant.api, property_id=create_property(tenant.api)["id"], guest_id=create_guest(tenant.api)["id"]
    )
    data = tenant.api.data(COSTED["a fragment used at two depths"])
    [edge] = data["guests"]["edges"]
    node = edge["node"]
    [booking] = node["bookings"]
    assert booking["guest"]["id"] == node["id"] and booking["guest"]["name"] == node["name"] == "Anna Hemm"
    assert booking["guest"]["bookings"] == [{"id": booking["id"], "payments": []}]


# Costs the unmemoised rule gave these documents before fragments were measured once each.
COSTED = {
    "a fragment used at two depths": """
        query { guests(first: 10) { edges { node { ...GuestCard bookings { guest { ...GuestCard } } } } } }
        fragment GuestCard on Guest { id name bookings { id payments { amount } } }""",
    "nested fragments and an inline fragment": """
        query($n: Int) { guests(first: $n) { totalCount edges { cursor node { ...A } } pageInfo { hasNextPage } } }
        fragment A on Guest { id ...B history(first: 5) { edges { node {
          __typename ... on BookingEvent { booking { ...C } } } } } }
        fragment B on Guest { communications { channel body } serviceRequests { id } }
        fragment C on Booking { id status payments { amount } }""",
    "default page size": "{ guests { edges { node { id bookings { id } } } } properties { edges { node { id name } } } }",
    "a fragment spread twice side by side": """
        { booking(id: "x") { ...P ...P } } fragment P on Booking { id payments { id amount } }""",
}
COSTS_BEFORE = {
    "a fragment used at two depths": 13_661,
    "nested fragments and an inline fragment": 12_501,
    "default page size": 362,
    "a fragment spread twice side by side": 45,
}


@pytest.mark.parametrize("name", COSTED)
def test_fragments_cost_what_they_cost_before_memoisation(settings: Settings, name: str) -> None:
    schema = build_schema(settings)._schema
    [operation] = measure(parse(COSTED[name]), schema).operations
    assert operation.cost == COSTS_BEFORE[name]


def test_aliases_count_at_each_spread_of_their_fragment(tenant: TenantFixture) -> None:
    sixteen = " ".join(f"a{i}: __typename" for i in range(16))
    body = tenant.api(f"{{ ...A }} fragment A on Query {{ ...B ...B }} fragment B on Query {{ {sixteen} }}")
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["message"].startswith("32 aliases found")


def test_depth_counts_through_fragments(tenant: TenantFixture, settings: Settings) -> None:
    # D reaches six fields below where it is spread.
    fragments = (
        "fragment D on Booking { guest { bookings { ...E } } } "
        "fragment E on Booking { guest { bookings { guest { bookings { id } } } } }"
    )

    def spread_below(wrappers: int) -> str:
        inner = "...D"
        for _ in range(wrappers):
            inner = f"guest {{ bookings {{ {inner} }} }}"
        return f'{{ booking(id: "x") {{ {inner} }} }} {fragments}'

    schema = build_schema(settings)._schema
    assert [operation.depth for operation in measure(parse(spread_below(2)), schema).operations] == [11]
    body = tenant.api(spread_below(3))
    assert error_codes(body)[0] == "QUERY_TOO_COMPLEX"
    assert "exceeds maximum operation depth of 12" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "document",
    [
        "{ ...Nowhere }",
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "{ ...A } fragment A on Query { __typename ...A }",
    ],
)
def test_unknown_and_cyclic_fragments_are_bad_input(tenant: TenantFixture, document: str) -> None:
    body = tenant.api(document)
    assert body["errors"] and set(error_codes(body)) == {"BAD_USER_INPUT"}


def test_fields_merged_by_the_hundred_are_refused_as_too_complex(tenant: TenantFixture) -> None:
    many = tenant.api("{ " + 'booking(id: "x") { id status } ' * 150 + "}")
    assert error_codes(many) == ["QUERY_TOO_COMPLEX"]
    assert many["errors"][0]["message"].startswith("Too many fields to merge")
    few = tenant.api("{ " + "__typename " * 10 + "}")
    assert few == {"data": {"__typename": "Query"}}


def test_the_field_merging_budget_is_a_setting(settings: Settings) -> None:
    document = "{ " + "__typename " * 300 + "}"  # 300 fields of one name: about 90,000 units
    strict = asyncio.run(build_schema(settings).execute(document))
    assert [error.extensions for error in strict.errors or []] == [{"code": "QUERY_TOO_COMPLEX"}]
    lenient = build_schema(settings.model_copy(update={"graphql_field_merging_budget": 200_000}))
    assert asyncio.run(lenient.execute(document)).data == {"__typename": "Query"}


def test_a_large_document_is_answered_as_a_small_one_is(tenant: TenantFixture) -> None:
    large = "# " + "padding " * 400 + "\n"  # a comment: no token, but over 2 KiB, parsed off the loop
    assert tenant.api.data(large + "{ __typename }") == {"__typename": "Query"}
    assert any(thread.name.startswith("graphql-validation") for thread in threading.enumerate())
    broken = tenant.api(large + "{ __typename ")
    assert error_codes(broken) == ["BAD_USER_INPUT"]
    assert broken["errors"][0]["message"].startswith("Syntax Error")
    too_long = tenant.api(large + "{ " + "__typename " * 5000 + "}")
    assert error_codes(too_long) == ["QUERY_TOO_COMPLEX"]
    unknown = tenant.api(large + "{ gusts { totalCount } }")
    assert error_codes(unknown) == ["BAD_USER_INPUT"]


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


CONTACT = "mutation($i: SubmitContactFormInput!) { submitContactForm(input: $i) { reference } }"
MISSPELT_FIELD = {"i": {"nmae": "Ann", "email": "ann@example.com", "message": "Hello"}}


def test_suggestions_in_production_are_for_those_who_may_introspect(
    production: TestClient, tenant: TenantFixture
) -> None:
    public = GraphQLClient(production, {"X-Tenant": tenant.slug})
    for body in (public("{ gusts { totalCount } }"), public(CONTACT, MISSPELT_FIELD)):
        assert set(error_codes(body)) == {"BAD_USER_INPUT"}, body
        assert "Did you mean" not in str(body)
    staff = GraphQLClient(production, tenant.api.headers)
    assert "Did you mean 'guests'" in str(staff("{ gusts { totalCount } }"))
    assert "Did you mean 'name'" in str(staff(CONTACT, MISSPELT_FIELD))


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
