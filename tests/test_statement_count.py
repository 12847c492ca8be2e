"""The guest graph costs a fixed number of SQL statements, whatever the number of rows: one per
entity kind and nesting level (DataLoaders), never one per parent row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.settings import Settings
from hospes.tenancy import rotation
from hospes.tenancy.encrypted_columns import MESSAGE_BODY
from hospes.tenancy.keyring import master_key_from
from tests.conftest import TenantFixture
from tests.helpers_db import run_in_tenant, statements_of, tenant_keys

GUEST_GRAPH = """{
  guests(first: 50) {
    edges { node { id name
      bookings { id property { name } payments { amount } serviceRequests { service { name } } }
      communications { channel body }
      payments { amount } } }
    totalCount
  }
}"""

PAYMENTS_PER_BOOKING = 2
REQUESTS_PER_BOOKING = 1
MESSAGES_PER_GUEST = 2

# Plain SQL, so a tenant with thousands of rows is seeded in a moment; run with the tenant's
# search_path bound, exactly as the application runs its own statements.
SEED = [
    "INSERT INTO property (name) SELECT 'Casa ' || n FROM generate_series(1, 3) AS n",
    "INSERT INTO service (name, price, currency) "
    "SELECT 'Tour ' || n, 85, 'USD' FROM generate_series(1, 2) AS n",
    "INSERT INTO guest (name, name_key) SELECT 'Guest ' || n, 'guest ' || n FROM generate_series(1, :guests) AS n",
    "INSERT INTO booking (property_id, guest_id, check_in, check_out, adults, amount, currency) "
    "SELECT (array(SELECT id FROM property ORDER BY name))[1 + b % 3], guest.id, "
    "current_date + 60 + b, current_date + 62 + b, 2, 500, 'USD' "
    "FROM guest CROSS JOIN generate_series(1, :bookings) AS b",
    "INSERT INTO payment (booking_id, amount, currency, method) "
    "SELECT booking.id, 100, 'USD', 'card' FROM booking CROSS JOIN generate_series(1, :payments)",
    "INSERT INTO service_request (guest_id, booking_id, service_id, service_date, people, price, currency) "
    "SELECT guest_id, booking.id, (array(SELECT id FROM service ORDER BY name))[1 + n % 2], "
    "check_in, 2, 170, 'USD' FROM booking CROSS JOIN generate_series(1, :requests) AS n",
    # One ciphertext for every message: the API decrypts each body it returns.
    "INSERT INTO communication (guest_id, channel, direction, body_enc) "
    "SELECT guest.id, 'email', 'out', :body FROM guest CROSS JOIN generate_series(1, :messages)",
]


def _seed(engine: sa.Engine, schema_name: str, *, guests: int, bookings: int) -> None:
    rotation.add_data_key(engine, master_key_from(Settings()), schema_name=schema_name)  # the first keys
    counts = {
        "body": MESSAGE_BODY.seal(tenant_keys(engine, schema_name), "Hello"),
        "guests": guests,
        "bookings": bookings,
        "payments": PAYMENTS_PER_BOOKING,
        "requests": REQUESTS_PER_BOOKING,
        "messages": MESSAGES_PER_GUEST,
    }
    run_in_tenant(engine, schema_name, SEED, counts)


def _statements_for_guest_graph(
    client: TestClient, tenant: TenantFixture
) -> tuple[list[str], dict[str, Any]]:
    """The statements of one guest-graph request, without the credential's tenant-registry lookup
    (authentication, cached in-process, so present or not depending on the cache's age)."""
    with statements_of(client) as seen:
        data = tenant.api.data(GUEST_GRAPH)
    registry = [statement for statement in seen if "FROM public.tenant" in statement]
    assert len(registry) <= 1, registry
    return [statement for statement in seen if statement not in registry], data


def _assert_complete(data: dict[str, Any], *, guests: int, bookings: int) -> None:
    """The answer holds every row seeded, so the count is of a query that did all its work."""
    connection = data["guests"]
    assert connection["totalCount"] == guests
    assert len(connection["edges"]) == min(guests, 50)
    for edge in connection["edges"]:
        node = edge["node"]
        assert len(node["bookings"]) == bookings
        assert [m["body"] for m in node["communications"]] == ["Hello"] * MESSAGES_PER_GUEST
        assert len(node["payments"]) == bookings * PAYMENTS_PER_BOOKING
        for booking in node["bookings"]:
            assert booking["property"]["name"].startswith("Casa ")
            assert len(booking["payments"]) == PAYMENTS_PER_BOOKING
            assert [r["service"]["name"][:5] for r in booking["serviceRequests"]] == [
                "Tour "
            ] * REQUESTS_PER_BOOKING


@pytest.fixture(scope="module")
def statement_counts(
    make_tenant: Callable[..., TenantFixture], client: TestClient, sync_engine: sa.Engine
) -> dict[str, list[str]]:
    """The statements of the guest-graph query for a small tenant and for one twenty times bigger
    (twice the guests, ten times the bookings per guest)."""
    sizes = {"small": (10, 5), "large": (20, 50)}
    seen = {}
    for label, (guests, bookings) in sizes.items():
        tenant = make_tenant(f"count-{label}")
        _seed(sync_engine, tenant.schema_name, guests=guests, bookings=bookings)
        statements, data = _statements_for_guest_graph(client, tenant)
        _assert_complete(data, guests=guests, bookings=bookings)
        seen[label] = statements
        print(f"\nguest graph, {guests} guests x {bookings} bookings: {len(statements)} SQL statements")
        for statement in statements:
            print("   ", " ".join(statement.split())[:140])
    return seen


def test_guest_graph_costs_the_same_statements_for_twenty_times_the_rows(
    statement_counts: dict[str, list[str]],
) -> None:
    assert len(statement_counts["large"]) == len(statement_counts["small"])


def test_guest_graph_costs_one_statement_per_entity_kind_and_level(
    statement_counts: dict[str, list[str]],
) -> None:
    statements = statement_counts["large"]
    # search_path, the page, its count, and per level: bookings, property, booking payments,
    # service requests, their service, communications, guest payments.
    assert len(statements) <= 12, statements
    assert len(set(statements)) == len(statements), "a statement was sent more than once"
