"""The read compiler answers guest reads with one SQL statement, and its answers are the
resolvers' answers: every guest/guests query in the test suite, and the shapes below, are sent
through both paths against the same data and must give the same JSON, errors included."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse, print_ast
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.resolvers.compiled import ReadCompiler
from hospes.schema.build import build_schema
from hospes.settings import Settings
from tests.conftest import GraphQLClient, Servers, TenantFixture, error_codes, without_request_ids
from tests.dates import AHEAD, iso
from tests.factories import (
    create_booking,
    create_guest,
    create_property,
    create_service,
    create_service_request,
    record_payment,
    stay,
)
from tests.helpers_db import statements_of
from tests.test_access import as_key, issue

ROOT_FIELDS = {"guest", "guests", "__typename"}
COMPILED_MARK = "json_build_object"

DETAIL = """query($id: ID!) {
  guest(id: $id) {
    __typename id name country language preferredChannel smsOptIn marketingEmailConsent
    registeredAt lastActivityAt erasedAt bookingCount email phone notes hasAccount
    bookings {
      __typename id checkIn checkOut adults children amount currency status source channel externalId
      createdAt cancelledAt nights cancelReason
      stayGuest { name email phone }
      property { id name address timezone createdAt villaGuide checkInInstructions }
      payments { id amount currency method status paidAt createdAt providerReference }
      serviceRequests { id date people price currency status createdAt notes
        service { id name description price currency active createdAt } }
      communications { id channel direction templateKey messageClass status statusAt attempts sentAt }
    }
    payments { id amount }
    serviceRequests { id date }
    communications { id status }
  }
}"""

LIST = """query($first: Int, $after: String, $search: String, $order: GuestOrder, $filter: GuestFilter) {
  guests(first: $first, after: $after, search: $search, orderBy: $order, filter: $filter) {
    __typename totalCount
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
    edges { __typename cursor node { id name email bookingCount lastActivityAt registeredAt
      bookings { id status amount payments { id amount status } } } }
  }
}"""

ALIASES_AND_FRAGMENTS = """query($id: ID!, $withBookings: Boolean!) {
  first: guest(id: $id) { ...Who alias: name bookings @include(if: $withBookings) { id ...Stay } }
  again: guest(id: $id) { name @skip(if: $withBookings) phone }
  page: guests(first: 2) { count: totalCount edges { at: cursor node { ...Who } } pageInfo { end: endCursor } }
  kind: __typename
}
fragment Who on Guest { id name email }
fragment Stay on Booking { nights property { name } }"""


@dataclass
class Seeded:
    tenant: TenantFixture
    anna: str  # a guest with a plain stay
    emile: str  # a guest with everything encrypted filled, a cancelled booking with a stay guest
    property_id: str
    other_tenant_guest: str


def _seed(make_tenant: Callable[..., TenantFixture]) -> Seeded:
    tenant = make_tenant("compile")
    api = tenant.api
    anna = stay(api)
    emile = create_guest(
        api,
        name="Émile Zoë Ñandú",
        email="emile@example.com",
        phone="+50688887777",
        notes='Allergic to peanuts; "quotes" and\nnewlines',
        country="CR",
        language="es",
        preferredChannel="WHATSAPP",
    )
    villa = create_property(api, name="Villa Ünïcode", address="Playa 1", villaGuide="Wi-Fi: casa")
    tour = create_service(api, name="Sunset sail", price="120.50")
    booking = create_booking(
        api,
        property_id=villa["id"],
        guest_id=emile["id"],
        checkIn=iso(AHEAD + 10),
        checkOut=iso(AHEAD + 17),
        stayGuest={"name": "Zoë Friend", "email": "zoe@example.com"},
    )
    second = create_booking(
        api, property_id=villa["id"], guest_id=emile["id"], checkIn=iso(AHEAD + 40), checkOut=iso(AHEAD + 41)
    )
    record_payment(
        api, booking_id=booking["id"], amount="10.50", providerReference="ch_123", status="PENDING"
    )
    record_payment(api, booking_id=booking["id"], amount="7.10")
    create_service_request(
        api, booking_id=booking["id"], service_id=tour["id"], people=3, notes="Vegan", date=iso(AHEAD + 11)
    )
    cancelled = api.data(
        "mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { errors { code } } }",
        {"input": {"bookingId": second["id"], "reason": "Flight cancelled"}},
    )
    assert cancelled["cancelBooking"]["errors"] == []
    for n in range(4):
        create_guest(api, name=f"Plain Guest {n}", email=f"plain{n}@example.com", phone=f"+5068800000{n}")
    other = make_tenant("compile-other")
    foreign = create_guest(other.api, name="Someone Else")
    return Seeded(tenant, anna["guest"]["id"], emile["id"], villa["id"], foreign["id"])


@pytest.fixture(scope="module")
def seeded(make_tenant: Callable[..., TenantFixture]) -> Seeded:
    return _seed(make_tenant)


def _compiler(client: TestClient) -> ReadCompiler:
    compiler: ReadCompiler = client.app.state.read_compiler  # type: ignore[attr-defined]
    return compiler


@contextmanager
def _switched(client: TestClient, enabled: bool) -> Iterator[ReadCompiler]:
    compiler = _compiler(client)
    before = compiler.enabled
    compiler.enabled = enabled
    try:
        yield compiler
    finally:
        compiler.enabled = before


def both_ways(
    client: TestClient, api: GraphQLClient, query: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bool]:
    """The answer, asserted the same through the compiler and through the resolvers, and whether
    the compiler answered it (rather than handing it to the resolvers)."""
    with _switched(client, True) as compiler:
        compiled_before = compiler.compiled
        compiled = api(query, variables)
        claimed = compiler.compiled == compiled_before + 1
    with _switched(client, False):
        resolved = api(query, variables)
    compiled, resolved = without_request_ids(compiled), without_request_ids(resolved)
    assert compiled == resolved, _first_difference(compiled, resolved)
    return compiled, claimed


def _first_difference(compiled: Any, resolved: Any, path: str = "") -> str:
    """Where two answers first differ, for a readable failure."""
    if isinstance(compiled, dict) and isinstance(resolved, dict):
        if list(compiled) != list(resolved):
            return f"{path}: keys {list(compiled)} != {list(resolved)}"
        for key in compiled:
            if compiled[key] != resolved[key]:
                return _first_difference(compiled[key], resolved[key], f"{path}.{key}")
    if isinstance(compiled, list) and isinstance(resolved, list) and len(compiled) == len(resolved):
        for index, (one, other) in enumerate(zip(compiled, resolved, strict=True)):
            if one != other:
                return _first_difference(one, other, f"{path}[{index}]")
    return f"{path}: compiled {compiled!r} != resolved {resolved!r}"


# --- the differential test over every guest query the suite sends ------------------------------


def _guest_documents_in_tests() -> list[str]:
    """Every query document written in tests/ whose root fields are guest/guests only."""
    found: set[str] = set()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and "guest" in node.value):
                continue
            try:
                document = parse(node.value)
            except GraphQLError:
                continue
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
                continue
            roots = {
                selection.name.value
                for selection in operations[0].selection_set.selections
                if hasattr(selection, "name")
            }
            if roots and roots <= ROOT_FIELDS and roots != {"__typename"}:
                found.add(node.value)
    return sorted(found)


def _variables(document: str, seeded: Seeded, guest_id: str) -> dict[str, Any] | None:
    """Values for the document's variables; None when one it requires cannot be made up."""
    values: dict[str, Any] = {}
    [operation] = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    for definition in operation.variable_definitions or ():
        name, type_ = definition.variable.name.value, print_ast(definition.type)
        if type_.startswith("ID"):
            values[name] = guest_id
        elif type_.startswith("Int"):
            values[name] = 2
        elif name == "search":
            values[name] = "Émile"
        elif type_.endswith("!"):
            return None
    return values


GUEST_DOCUMENTS = _guest_documents_in_tests()


def test_the_suite_holds_guest_queries_to_compare() -> None:
    assert len(GUEST_DOCUMENTS) >= 20, GUEST_DOCUMENTS


@pytest.mark.parametrize("index", range(len(GUEST_DOCUMENTS)))
def test_every_guest_query_of_the_suite_answers_the_same_through_both_paths(
    client: TestClient, seeded: Seeded, index: int
) -> None:
    document = GUEST_DOCUMENTS[index]
    for guest_id in (seeded.emile, seeded.anna, seeded.other_tenant_guest, "not-an-id"):
        variables = _variables(document, seeded, guest_id)
        if variables is None:
            pytest.skip("a required variable this test cannot make up")
        both_ways(client, seeded.tenant.api, document, variables)


def test_most_guest_queries_of_the_suite_are_compiled(client: TestClient, seeded: Seeded) -> None:
    claimed = []
    for document in GUEST_DOCUMENTS:
        variables = _variables(document, seeded, seeded.emile)
        if variables is not None:
            claimed.append(both_ways(client, seeded.tenant.api, document, variables)[1])
    assert sum(claimed) >= len(claimed) // 2, (sum(claimed), len(claimed))


# --- shapes: every compiled field, orders, pages, search, filters, errors -----------------------


def test_guest_detail_with_every_compiled_field_is_compiled_and_the_same(
    client: TestClient, seeded: Seeded
) -> None:
    for guest_id in (seeded.emile, seeded.anna):
        body, claimed = both_ways(client, seeded.tenant.api, DETAIL, {"id": guest_id})
        assert claimed and not body.get("errors")
    emile = both_ways(client, seeded.tenant.api, DETAIL, {"id": seeded.emile})[0]["data"]["guest"]
    assert emile["notes"].startswith("Allergic") and emile["preferredChannel"] == "WHATSAPP"
    assert {b["status"] for b in emile["bookings"]} == {"CONFIRMED", "CANCELLED"}
    [cancelled] = [b for b in emile["bookings"] if b["status"] == "CANCELLED"]
    assert cancelled["cancelReason"] == "Flight cancelled" and cancelled["stayGuest"] is None
    [kept] = [b for b in emile["bookings"] if b["status"] == "CONFIRMED"]
    assert kept["stayGuest"] == {"name": "Zoë Friend", "email": "zoe@example.com", "phone": None}
    assert {p["providerReference"] for p in kept["payments"]} == {"ch_123", None}


def test_aliases_fragments_and_directives_are_compiled_and_the_same(
    client: TestClient, seeded: Seeded
) -> None:
    for include in (True, False):
        variables = {"id": seeded.emile, "withBookings": include}
        body, claimed = both_ways(client, seeded.tenant.api, ALIASES_AND_FRAGMENTS, variables)
        assert claimed and body["data"]["kind"] == "Query"


ORDERS = [
    {"field": field, "direction": direction}
    for field in ("LAST_ACTIVITY_AT", "REGISTERED_AT", "NAME", "BOOKING_COUNT")
    for direction in ("ASC", "DESC")
]


@pytest.mark.parametrize("order", [None, *ORDERS], ids=lambda order: str(order and order.values()))
def test_every_page_of_every_order_is_the_same_with_its_cursors(
    client: TestClient, seeded: Seeded, order: dict[str, str] | None
) -> None:
    after = None
    pages = 0
    while True:
        variables = {"first": 2, "after": after, "order": order}
        body, claimed = both_ways(client, seeded.tenant.api, LIST, variables)
        assert claimed and not body.get("errors")
        connection = body["data"]["guests"]
        assert connection["totalCount"] == 6
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == 3


@pytest.mark.parametrize(
    "search", ["Émile", "plain", "emile@example.com", "+506 8800 0001", "nobody-at-all", "   "]
)
def test_search_is_the_same(client: TestClient, seeded: Seeded, search: str) -> None:
    body, claimed = both_ways(client, seeded.tenant.api, LIST, {"search": search, "first": 3})
    assert claimed and not body.get("errors")


def test_filters_are_the_same(client: TestClient, seeded: Seeded) -> None:
    for filter_ in (
        {"country": "cr"},
        {"smsOptIn": False},
        {"propertyId": seeded.property_id},
        {"propertyId": "not-an-id"},
        {"hasUpcomingBooking": True},
        {"hasUpcomingBooking": False, "marketingEmailConsent": False},
    ):
        body, claimed = both_ways(client, seeded.tenant.api, LIST, {"filter": filter_})
        assert claimed and not body.get("errors"), (filter_, body)


@pytest.mark.parametrize(
    "variables",
    [{"first": 0}, {"first": 101}, {"after": "garbage"}, {"after": "W10"}, {"search": "x" * 201}],
    ids=["first-0", "first-101", "cursor-garbage", "cursor-empty-list", "search-too-long"],
)
def test_bad_arguments_are_refused_as_before_and_nothing_is_compiled(
    client: TestClient, seeded: Seeded, variables: dict[str, Any]
) -> None:
    with statements_of(client) as seen:
        body, claimed = both_ways(client, seeded.tenant.api, LIST, variables)
    assert not claimed
    assert error_codes(body) == ["BAD_USER_INPUT"] and body["data"] is None
    assert not [statement for statement in seen if COMPILED_MARK in statement]


def test_a_cursor_of_another_order_is_refused_as_before(client: TestClient, seeded: Seeded) -> None:
    first = seeded.tenant.api.data(LIST, {"first": 1})["guests"]["pageInfo"]["endCursor"]
    variables = {"after": first, "order": {"field": "NAME", "direction": "ASC"}}
    body, claimed = both_ways(client, seeded.tenant.api, LIST, variables)
    assert not claimed and error_codes(body) == ["BAD_USER_INPUT"]


def test_unsupported_fields_go_to_the_resolvers(client: TestClient, seeded: Seeded) -> None:
    query = "query($id: ID!) { guest(id: $id) { name bookings { amountPaid } } }"
    body, claimed = both_ways(client, seeded.tenant.api, query, {"id": seeded.anna})
    assert not claimed and body["data"]["guest"]["bookings"][0]["amountPaid"] == "600.00"


# --- isolation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["other tenant's", "malformed", "a booking's"])
def test_guest_of_other_tenant_is_not_found_through_the_compiler(
    client: TestClient, seeded: Seeded, kind: str
) -> None:
    ids = {
        "other tenant's": seeded.other_tenant_guest,
        "malformed": "not-an-id",
        "a booking's": seeded.tenant.api.data(DETAIL, {"id": seeded.anna})["guest"]["bookings"][0]["id"],
    }
    body, claimed = both_ways(client, seeded.tenant.api, DETAIL, {"id": ids[kind]})
    assert claimed
    assert body["data"] == {"guest": None}
    assert error_codes(body) == ["NOT_FOUND"] and body["errors"][0]["path"] == ["guest"]


def test_customer_list_holds_only_own_guests_through_the_compiler(client: TestClient, seeded: Seeded) -> None:
    body, claimed = both_ways(client, seeded.tenant.api, LIST, {"first": 100})
    names = {edge["node"]["name"] for edge in body["data"]["guests"]["edges"]}
    assert claimed and "Someone Else" not in names and len(names) == 6


def test_pooled_connection_is_back_on_the_default_search_path_after_compiled_reads(
    seeded: Seeded, settings: Settings, servers: Servers, sync_engine: sa.Engine
) -> None:
    one_connection = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    app = create_app(one_connection, database_url=servers.database_url, redis_url=servers.redis_url)
    headers = seeded.tenant.api.headers

    async def run() -> tuple[list[dict[str, Any]], str, int]:
        resources = app.state.resources
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hospes.test") as http:
                bodies = []
                for variables in ({"id": seeded.emile}, {"id": seeded.other_tenant_guest}):
                    response = await http.post(
                        "/graphql", json={"query": DETAIL, "variables": variables}, headers=headers
                    )
                    bodies.append(response.json())
            async with resources.engine.connect() as connection:
                path = (
                    await connection.execute(sa.text("SELECT current_setting('search_path')"))
                ).scalar_one()
            return bodies, path, app.state.read_compiler.compiled
        finally:
            await resources.redis.aclose()
            await resources.engine.dispose()

    bodies, path, compiled = asyncio.run(run())
    assert compiled == 2
    assert bodies[0]["data"]["guest"]["name"] == "Émile Zoë Ñandú"
    assert error_codes(bodies[1]) == ["NOT_FOUND"]
    with sync_engine.connect() as connection:
        assert path == connection.execute(sa.text("SHOW search_path")).scalar_one()
    assert "t_" not in path


# --- permissions: a refused field is refused before SQL runs ------------------------------------


def test_partner_key_reads_the_same_through_the_compiler(client: TestClient, seeded: Seeded) -> None:
    key = issue(seeded.tenant.api, ["guests:read", "bookings:read"], name="compiled reader")["key"]
    partner = as_key(seeded.tenant.api, key)
    body, claimed = both_ways(client, partner, DETAIL, {"id": seeded.emile})
    assert claimed and not body.get("errors")
    body, claimed = both_ways(client, partner, LIST, {"first": 3})
    assert claimed and not body.get("errors")


@pytest.mark.parametrize(
    ("scopes", "query"),
    [
        (["guests:read"], "query($id: ID!) { guest(id: $id) { name bookings { id } } }"),
        (["bookings:read"], "query($id: ID!) { guest(id: $id) { name } }"),
        (["bookings:read"], "{ guests(first: 2) { totalCount } }"),
    ],
    ids=["nested-field-refused", "root-field-refused", "list-refused"],
)
def test_a_refused_field_is_refused_as_before_and_no_compiled_sql_runs(
    client: TestClient, seeded: Seeded, scopes: list[str], query: str
) -> None:
    key = issue(seeded.tenant.api, scopes, name=f"narrow {'-'.join(scopes)}")["key"]
    partner = as_key(seeded.tenant.api, key)
    with statements_of(client) as seen:
        body, claimed = both_ways(client, partner, query, {"id": seeded.emile} if "$id" in query else None)
    assert not claimed
    assert "FORBIDDEN" in error_codes(body)
    assert not [statement for statement in seen if COMPILED_MARK in statement]


# --- one statement ------------------------------------------------------------------------------


def _tenant_statements(
    client: TestClient, api: GraphQLClient, query: str, variables: dict[str, Any]
) -> list[str]:
    def post() -> dict[str, Any]:  # once, even in a differential run
        response = client.post("/graphql", json={"query": query, "variables": variables}, headers=api.headers)
        body: dict[str, Any] = response.json()
        return body

    post()  # warm: keys and registry cached, as in a running server
    with statements_of(client) as seen:
        body = post()
    assert not body.get("errors"), body
    return [statement for statement in seen if "FROM public.tenant" not in statement]


def test_compiled_guest_detail_is_one_statement_after_the_tenant_binding(
    client: TestClient, seeded: Seeded
) -> None:
    with _switched(client, True):
        statements = _tenant_statements(client, seeded.tenant.api, DETAIL, {"id": seeded.emile})
    assert len(statements) == 2, statements
    binding, answer = statements
    assert "set_config('search_path'" in binding
    assert answer.count(COMPILED_MARK) > 10


def test_compiled_guest_list_page_is_one_statement_after_the_tenant_binding(
    client: TestClient, seeded: Seeded
) -> None:
    with _switched(client, True):
        statements = _tenant_statements(client, seeded.tenant.api, LIST, {"first": 50})
    assert len(statements) == 2, statements


def test_the_switch_follows_the_setting() -> None:
    assert build_schema(Settings(read_compiler=False)).read_compiler.enabled is False
    assert build_schema(Settings()).read_compiler.enabled is True


def test_a_ciphertext_that_does_not_open_is_an_error_at_its_field_as_before(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    guest = create_guest(tenant.api, name="Moved Value", email="moved@example.com", notes="the real note")
    with sync_engine.begin() as connection:
        connection.execute(
            sa.text(f'UPDATE "{tenant.schema_name}".guest SET notes_enc = email_enc WHERE name = :name'),
            {"name": "Moved Value"},
        )
    query = "query($id: ID!) { guest(id: $id) { id name email phone notes } }"
    body, claimed = both_ways(client, tenant.api, query, {"id": guest["id"]})
    assert claimed and error_codes(body) == ["INTERNAL"] and body["errors"][0]["path"] == ["guest", "notes"]
    assert body["data"]["guest"]["notes"] is None and body["data"]["guest"]["email"] == "moved@example.com"
    listed = both_ways(client, tenant.api, "{ guests(first: 5) { edges { node { name notes } } } }")[0]
    assert listed["errors"][0]["path"] == ["guests", "edges", 0, "node", "notes"]


def test_a_shape_of_selection_is_compiled_once(client: TestClient, seeded: Seeded) -> None:
    compiler = _compiler(client)
    with _switched(client, True):
        seeded.tenant.api(DETAIL, {"id": seeded.emile})
        seeded.tenant.api(LIST, {"first": 2, "search": "plain"})
        shapes = dict(compiler.templates)
        for guest_id in (seeded.anna, seeded.emile, seeded.other_tenant_guest):
            seeded.tenant.api(DETAIL, {"id": guest_id})
        seeded.tenant.api(LIST, {"first": 3, "search": "Émile"})
        seeded.tenant.api(LIST, {"first": 1, "filter": {"country": "CR"}})
    assert compiler.templates == shapes  # the same statements, whatever the arguments
