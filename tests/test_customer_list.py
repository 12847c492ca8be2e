"""The customer list: search, order, filters and pagination, with index-only query plans."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from starlette.testclient import TestClient

from tests.conftest import GraphQLClient, TenantFixture, error_codes
from tests.dates import AHEAD, iso
from tests.factories import create_booking, create_guest, create_property

LIST = """query($search: String, $first: Int, $after: String, $orderBy: GuestOrder, $filter: GuestFilter) {
  guests(search: $search, first: $first, after: $after, orderBy: $orderBy, filter: $filter) {
    totalCount
    edges { cursor node { id name bookingCount hasAccount registeredAt lastActivityAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def names(api: GraphQLClient, **variables: Any) -> list[str]:
    data = api.data(LIST, {"first": 100, **variables})["guests"]
    assert data["totalCount"] == len(data["edges"])
    return [edge["node"]["name"] for edge in data["edges"]]


@pytest.fixture
def people(tenant: TenantFixture) -> dict[str, dict[str, Any]]:
    return {
        "lucia": create_guest(
            tenant.api, name="Lucía Morales", email="lucia@example.com", phone="+50688887777", country="CR"
        ),
        "anna": create_guest(
            tenant.api, name="Anna Hemm", email="anna@example.com", phone="+34600111222", country="ES"
        ),
        "carl": create_guest(tenant.api, name="Carl Hemmings", email=None, phone=None, country="GB"),
        "obrien": create_guest(tenant.api, name="Siobhán O'Brien", email="siobhan@example.com", phone=None),
    }


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("luc", {"Lucía Morales"}),
        ("LUCIA", {"Lucía Morales"}),
        ("mor", {"Lucía Morales"}),
        ("hem", {"Anna Hemm", "Carl Hemmings"}),
        ("anna hem", {"Anna Hemm"}),
        ("siobh", {"Siobhán O'Brien"}),
        ("brien", {"Siobhán O'Brien"}),
        ("Anna@Example.com", {"Anna Hemm"}),
        ("anna@", set()),
        ("+506 8888 7777", {"Lucía Morales"}),
        ("88887777", {"Lucía Morales"}),
        ("zzz", set()),
        ("%", set()),
        ("' OR 1=1 --", set()),
    ],
)
def test_search_by_name_prefix_or_exact_contact(
    tenant: TenantFixture, people: dict[str, Any], search: str, expected: set[str]
) -> None:
    assert set(names(tenant.api, search=search)) == expected


def test_a_search_of_ten_thousand_characters_is_refused(
    tenant: TenantFixture, people: dict[str, Any]
) -> None:
    body = tenant.api(LIST, {"search": "a" * 10_000})
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_orderings(tenant: TenantFixture, people: dict[str, Any]) -> None:
    prop = create_property(tenant.api)
    for _ in range(2):
        create_booking(tenant.api, property_id=prop["id"], guest_id=people["carl"]["id"])
    create_booking(tenant.api, property_id=prop["id"], guest_id=people["anna"]["id"])
    assert names(tenant.api, orderBy={"field": "NAME", "direction": "ASC"}) == [
        "Anna Hemm",
        "Carl Hemmings",
        "Lucía Morales",
        "Siobhán O'Brien",
    ]
    by_count = names(tenant.api, orderBy={"field": "BOOKING_COUNT", "direction": "DESC"})
    assert by_count[:2] == ["Carl Hemmings", "Anna Hemm"]
    assert names(tenant.api, orderBy={"field": "REGISTERED_AT", "direction": "ASC"}) == [
        "Lucía Morales",
        "Anna Hemm",
        "Carl Hemmings",
        "Siobhán O'Brien",
    ]
    # Booking is activity: the most recently booked guest comes first by default.
    assert names(tenant.api)[0] == "Anna Hemm"


def test_filters(tenant: TenantFixture, people: dict[str, Any]) -> None:
    villa, other = create_property(tenant.api, name="Villa"), create_property(tenant.api, name="Other")
    create_booking(
        tenant.api,
        property_id=villa["id"],
        guest_id=people["anna"]["id"],
        checkIn=iso(AHEAD),
        checkOut=iso(AHEAD + 2),
    )
    create_booking(
        tenant.api,
        property_id=other["id"],
        guest_id=people["carl"]["id"],
        checkIn=iso(-400),
        checkOut=iso(-398),
    )
    consent = "mutation($i: SetGuestConsentInput!) { setGuestConsent(input: $i) { errors { code } } }"
    tenant.api.data(consent, {"i": {"guestId": people["lucia"]["id"], "smsOptIn": True}})
    assert names(tenant.api, filter={"propertyId": villa["id"]}) == ["Anna Hemm"]
    assert names(tenant.api, filter={"propertyId": "garbage"}) == []
    assert names(tenant.api, filter={"hasUpcomingBooking": True}) == ["Anna Hemm"]
    assert set(names(tenant.api, filter={"hasUpcomingBooking": False})) == {
        "Carl Hemmings",
        "Lucía Morales",
        "Siobhán O'Brien",
    }
    assert names(tenant.api, filter={"smsOptIn": True}) == ["Lucía Morales"]
    assert names(tenant.api, filter={"country": "es"}) == ["Anna Hemm"]
    assert names(tenant.api, filter={"country": "GB", "smsOptIn": True}) == []


def test_pagination_stays_correct_while_rows_are_added(tenant: TenantFixture) -> None:
    originals = [
        create_guest(tenant.api, name=f"Guest {i:02d}", email=f"g{i}@example.com")["id"] for i in range(7)
    ]
    seen: list[str] = []
    after = None
    for page in range(10):
        data = tenant.api.data(LIST, {"first": 3, "after": after})["guests"]
        seen.extend(edge["node"]["id"] for edge in data["edges"])
        if page == 0:  # newcomers sort first (latest activity) and must not shift later pages
            for i in range(3):
                create_guest(tenant.api, name=f"Newcomer {i}", email=f"n{i}@example.com")
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(originals)
    assert len(seen) == len(set(seen))


@contextmanager
def captured_statements(client: TestClient) -> Iterator[list[tuple[str, Any]]]:
    engine = client.app.state.resources.engine.sync_engine  # type: ignore[attr-defined]
    statements: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:  # (conn, cursor, statement, parameters, context, executemany)
        statement, parameters = args[2], args[3]
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def seed_many_guests(engine: sa.Engine, schema: str, count: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f'SET LOCAL search_path = "{schema}"'))
        conn.execute(
            sa.text(
                "INSERT INTO guest (name, name_key, search_vector, email_bidx, phone_bidx, country, booking_count, "
                "created_at, last_activity_at) "
                "SELECT 'Person ' || n, 'person ' || n, to_tsvector('simple', 'person ' || n), "
                "sha256(('e' || n)::bytea), sha256(('p' || n)::bytea), 'US', n % 7, "
                "now() - n * interval '1 minute', now() - (n % 997) * interval '1 hour' "
                "FROM generate_series(1, :count) AS n"
            ),
            {"count": count},
        )
    with engine.connect() as conn:  # what autovacuum does on a live database
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            sa.text(f'VACUUM ANALYZE "{schema}".guest')
        )


def test_list_and_searches_never_scan_the_guest_table(
    tenant: TenantFixture, client: TestClient, sync_engine: sa.Engine, settings: Any
) -> None:
    seed_many_guests(sync_engine, tenant.schema_name, 20_000)
    questions: list[dict[str, Any]] = [
        {"first": 50},
        {"first": 50, "orderBy": {"field": "NAME", "direction": "ASC"}},
        {"first": 50, "orderBy": {"field": "BOOKING_COUNT", "direction": "DESC"}},
        {"first": 50, "search": "person 1234"},
        {"first": 50, "search": "someone@example.com"},
        {"first": 50, "search": "+14155550123"},
    ]
    with captured_statements(client) as statements:
        for variables in questions:
            tenant.api.data(LIST, variables)
    guest_queries = [(sql, params) for sql, params in statements if "FROM guest" in sql]
    # The page and its count, per question: one compiled statement holding both (the read
    # compiler), or two (the resolvers); each plan is checked either way.
    assert len(guest_queries) >= len(questions)
    url = (
        sa.make_url(str(settings.database_url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(url) as conn:
        conn.execute(f'SET search_path = "{tenant.schema_name}"')
        for sql, params in guest_queries:
            plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql, params))
            assert not re.search(r"Seq Scan on guest\b(?!_)", plan), f"{sql}\n{plan}"
