"""Bad input gets a clear error and loses nothing: every refusal is checked for its code and for
an unchanged database."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
import strawberry
from httpx import Response
from starlette.testclient import TestClient

from hospes.schema.extensions import ErrorPolicy
from hospes.schema.ids import encode_id
from hospes.tenancy.database import quoted_schema
from tests.conftest import GraphQLClient, TenantFixture, error_codes
from tests.dates import AHEAD, iso
from tests.factories import (
    CREATE_BOOKING,
    CREATE_GUEST,
    CREATE_PROPERTY,
    CREATE_SERVICE,
    CREATE_SERVICE_REQUEST,
    RECORD_PAYMENT,
    create_booking,
    create_guest,
    create_property,
    create_service,
)
from tests.helpers_db import table_contents

# A fixed id, so parametrized test ids agree between xdist workers.
MISSING = uuid.UUID("00000000-0000-4000-8000-000000000001")
TABLES = ("property", "service", "guest", "booking", "payment", "service_request", "audit_event")


def row_counts(engine: sa.Engine, schema: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(
                sa.select(sa.func.count()).select_from(sa.table(table, schema=schema))
            ).scalar_one()
            for table in TABLES
        }


@pytest.fixture
def world(tenant: TenantFixture) -> dict[str, Any]:
    prop = create_property(tenant.api)
    guest = create_guest(tenant.api)
    booking = create_booking(tenant.api, property_id=prop["id"], guest_id=guest["id"])
    service = create_service(tenant.api)
    return {"property": prop, "guest": guest, "booking": booking, "service": service}


def refused(api: GraphQLClient, mutation: str, name: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Run a mutation that must be refused; returns its payload errors (the object is null)."""
    payload = api.data(mutation, {"input": values})[name]
    assert payload["errors"], f"{name} accepted {values}"
    object_fields = [value for key, value in payload.items() if key != "errors"]
    assert object_fields == [None]
    errors: list[dict[str, Any]] = payload["errors"]
    return errors


def codes(errors: list[dict[str, Any]]) -> set[tuple[str | None, str]]:
    return {(error["field"], error["code"]) for error in errors}


def booking_input(world: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "propertyId": world["property"]["id"],
        "guestId": world["guest"]["id"],
        "checkIn": iso(AHEAD + 60),
        "checkOut": iso(AHEAD + 63),
        "adults": 2,
        "amount": "500.00",
        "currency": "USD",
        **overrides,
    }


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"checkOut": iso(AHEAD + 60)}, {("checkOut", "OUT_OF_RANGE")}),
        ({"checkOut": iso(AHEAD + 48)}, {("checkOut", "OUT_OF_RANGE")}),
        ({"amount": "-1.00"}, {("amount", "OUT_OF_RANGE")}),
        ({"amount": "10.005"}, {("amount", "INVALID")}),
        ({"amount": "NaN"}, {("amount", "INVALID")}),
        ({"amount": "1e30"}, {("amount", "OUT_OF_RANGE")}),
        ({"currency": "XYZ"}, {("currency", "INVALID")}),
        ({"currency": ""}, {("currency", "REQUIRED")}),
        ({"adults": 0}, {("adults", "OUT_OF_RANGE")}),
        ({"children": -1}, {("children", "OUT_OF_RANGE")}),
        ({"propertyId": "garbage"}, {("propertyId", "NOT_FOUND")}),
        ({"guestId": encode_id("Property", MISSING)}, {("guestId", "NOT_FOUND")}),
        (
            {"stayGuest": {"name": " ", "email": "not-an-email"}},
            {("stayGuest.name", "REQUIRED"), ("stayGuest.email", "INVALID")},
        ),
        (
            {"checkOut": iso(AHEAD + 30), "amount": "-5", "currency": "EURO"},
            {("checkOut", "OUT_OF_RANGE"), ("amount", "OUT_OF_RANGE"), ("currency", "INVALID")},
        ),
    ],
)
def test_bad_booking_is_refused_and_nothing_written(
    tenant: TenantFixture,
    world: dict[str, Any],
    sync_engine: sa.Engine,
    overrides: dict[str, Any],
    expected: set[Any],
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    errors = refused(tenant.api, CREATE_BOOKING, "createBooking", booking_input(world, **overrides))
    assert codes(errors) == expected
    assert all(error["message"] for error in errors)
    assert row_counts(sync_engine, tenant.schema_name) == before


def test_booking_for_an_unknown_property_is_not_found(
    tenant: TenantFixture, world: dict[str, Any], sync_engine: sa.Engine
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    missing = encode_id("Property", uuid.uuid4())
    errors = refused(tenant.api, CREATE_BOOKING, "createBooking", booking_input(world, propertyId=missing))
    assert codes(errors) == {("propertyId", "NOT_FOUND")}
    assert row_counts(sync_engine, tenant.schema_name) == before


def test_non_numeric_amount_is_a_bad_user_input_error(tenant: TenantFixture, world: dict[str, Any]) -> None:
    body = tenant.api(CREATE_BOOKING, {"input": booking_input(world, amount="twelve")})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body.get("data") is None


def test_lower_case_currency_is_normalised(tenant: TenantFixture, world: dict[str, Any]) -> None:
    booking = create_booking(
        tenant.api, property_id=world["property"]["id"], guest_id=world["guest"]["id"], currency="eur"
    )
    assert booking["currency"] == "EUR"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"name": ""}, {("name", "REQUIRED")}),
        ({"name": "   "}, {("name", "REQUIRED")}),
        ({"name": "x" * 201}, {("name", "TOO_LONG")}),
        ({"name": "Anna", "email": "anna@"}, {("email", "INVALID")}),
        ({"name": "Anna", "email": "a" * 330 + "@example.com"}, {("email", "TOO_LONG")}),
        ({"name": "Anna", "phone": "12"}, {("phone", "INVALID")}),
        ({"name": "Anna", "phone": "+1 555 0000 0000 0000"}, {("phone", "INVALID")}),
        ({"name": "Anna", "country": "XX"}, {("country", "INVALID")}),
        ({"name": "Anna", "country": "Spain"}, {("country", "INVALID")}),
        ({"name": "Anna", "language": "not a language"}, {("language", "INVALID")}),
        ({"name": "Anna", "notes": "n" * 20_001}, {("notes", "TOO_LONG")}),
    ],
)
def test_bad_guest_is_refused_and_nothing_written(
    tenant: TenantFixture, sync_engine: sa.Engine, values: dict[str, Any], expected: set[Any]
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    assert codes(refused(tenant.api, CREATE_GUEST, "createGuest", values)) == expected
    assert row_counts(sync_engine, tenant.schema_name) == before


def test_guest_contact_is_normalised(tenant: TenantFixture) -> None:
    guest = create_guest(
        tenant.api, email="  Anna.Hemm@Example.COM ", phone="8888-7777"
    )  # CR national number
    assert guest["email"] == "anna.hemm@example.com"
    assert guest["phone"] == "+50688887777"


def test_invalid_update_changes_nothing(tenant: TenantFixture, world: dict[str, Any]) -> None:
    guest_id = world["guest"]["id"]
    update = """mutation($input: UpdateGuestInput!) {
      updateGuest(input: $input) { guest { id } errors { field code message } }
    }"""
    errors = refused(
        tenant.api, update, "updateGuest", {"guestId": guest_id, "name": "Anna B.", "email": "bad@"}
    )
    assert codes(errors) == {("email", "INVALID")}
    after = tenant.api.data("query($id: ID!) { guest(id: $id) { name email } }", {"id": guest_id})["guest"]
    assert after == {"name": "Anna Hemm", "email": "anna@example.com"}


def test_update_can_clear_optional_fields_but_not_the_name(
    tenant: TenantFixture, world: dict[str, Any]
) -> None:
    update = """mutation($input: UpdateGuestInput!) {
      updateGuest(input: $input) { guest { name email notes preferredChannel } errors { field code } }
    }"""
    guest_id = world["guest"]["id"]
    payload = tenant.api.data(
        update,
        {
            "input": {
                "guestId": guest_id,
                "email": None,
                "notes": "allergic to nuts",
                "preferredChannel": "WHATSAPP",
            }
        },
    )["updateGuest"]
    assert payload == {
        "guest": {
            "name": "Anna Hemm",
            "email": None,
            "notes": "allergic to nuts",
            "preferredChannel": "WHATSAPP",
        },
        "errors": [],
    }
    assert codes(refused(tenant.api, update, "updateGuest", {"guestId": guest_id, "name": None})) == {
        ("name", "REQUIRED")
    }


def test_update_of_a_missing_guest_is_not_found(tenant: TenantFixture) -> None:
    update = """mutation($input: UpdateGuestInput!) {
      updateGuest(input: $input) { guest { id } errors { field code message } }
    }"""
    assert codes(refused(tenant.api, update, "updateGuest", {"guestId": "nope", "name": "X"})) == {
        ("guestId", "NOT_FOUND")
    }


def test_bad_property_and_service_are_refused(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    assert codes(
        refused(tenant.api, CREATE_PROPERTY, "createProperty", {"name": "Villa", "timezone": "Mars/Olympus"})
    ) == {("timezone", "INVALID")}
    assert codes(refused(tenant.api, CREATE_PROPERTY, "createProperty", {"name": ""})) == {
        ("name", "REQUIRED")
    }
    assert codes(
        refused(
            tenant.api, CREATE_SERVICE, "createService", {"name": "Tour", "price": "-1", "currency": "ABC"}
        )
    ) == {("price", "OUT_OF_RANGE"), ("currency", "INVALID")}
    assert row_counts(sync_engine, tenant.schema_name) == before


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"amount": "0"}, {("amount", "OUT_OF_RANGE")}),
        ({"amount": "-10"}, {("amount", "OUT_OF_RANGE")}),
        ({"currency": "EUR"}, {("currency", "CURRENCY_MISMATCH")}),
        ({"method": " "}, {("method", "REQUIRED")}),
        ({"bookingId": "garbage"}, {("bookingId", "NOT_FOUND")}),
    ],
)
def test_bad_payment_is_refused_and_nothing_written(
    tenant: TenantFixture,
    world: dict[str, Any],
    sync_engine: sa.Engine,
    overrides: dict[str, Any],
    expected: set[Any],
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    values = {
        "bookingId": world["booking"]["id"],
        "amount": "100.00",
        "currency": "USD",
        "method": "card",
        **overrides,
    }
    assert codes(refused(tenant.api, RECORD_PAYMENT, "recordPayment", values)) == expected
    assert row_counts(sync_engine, tenant.schema_name) == before


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"date": iso(AHEAD + 100)}, {("date", "OUT_OF_RANGE")}),
        ({"people": 0}, {("people", "OUT_OF_RANGE")}),
        ({"serviceId": "garbage"}, {("serviceId", "NOT_FOUND")}),
    ],
)
def test_bad_service_request_is_refused_and_nothing_written(
    tenant: TenantFixture,
    world: dict[str, Any],
    sync_engine: sa.Engine,
    overrides: dict[str, Any],
    expected: set[Any],
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    values = {
        "bookingId": world["booking"]["id"],
        "serviceId": world["service"]["id"],
        "date": iso(AHEAD + 1),
        **overrides,
    }
    assert codes(refused(tenant.api, CREATE_SERVICE_REQUEST, "createServiceRequest", values)) == expected
    assert row_counts(sync_engine, tenant.schema_name) == before


@pytest.mark.parametrize("bad_id", ["garbage", "", "R3Vlc3Q6", encode_id("Booking", MISSING)])
def test_malformed_or_unknown_guest_id_is_not_found(tenant: TenantFixture, bad_id: str) -> None:
    body = tenant.api("query($id: ID!) { guest(id: $id) { id name } }", {"id": bad_id})
    assert body["data"] == {"guest": None}
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["errors"][0]["message"] == "Guest not found."


def test_id_of_another_type_is_not_found(tenant: TenantFixture, world: dict[str, Any]) -> None:
    body = tenant.api("query($id: ID!) { booking(id: $id) { id } }", {"id": world["guest"]["id"]})
    assert body["data"] == {"booking": None}
    assert error_codes(body) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    "arguments", ["first: 0", "first: 101", 'after: "not-a-cursor"', f'search: "{"a" * 201}"']
)
def test_bad_list_arguments_are_refused(tenant: TenantFixture, arguments: str) -> None:
    body = tenant.api(f"{{ guests({arguments}) {{ totalCount }} }}")
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_unexpected_errors_are_masked_with_a_request_id(caplog: pytest.LogCaptureFixture) -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def broken(self) -> str:
            raise RuntimeError('relation "t_other.guest" does not exist')

    class Ctx:
        request_id = "req-12345678"

    schema = strawberry.Schema(query=Query, extensions=[ErrorPolicy])
    with caplog.at_level(logging.ERROR, logger="hospes.graphql"):
        result = schema.execute_sync("{ broken }", context_value=Ctx())
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "Internal error."
    assert error.extensions == {"code": "INTERNAL", "requestId": "req-12345678"}
    assert "t_other" not in str(error.formatted)
    assert "req-12345678" in caplog.text


# Text PostgreSQL cannot store: a NUL character (JSON carries it; an unpaired surrogate too, but
# that is no UTF-8 text at all and refused with the malformed bodies).
NUL = "Casa\u0000del Sol"


def post_json(client: TestClient, body: object, headers: dict[str, str] | None = None) -> Response:
    """Posts `body` as JSON text with ASCII escapes, as any client may send a NUL or a surrogate."""
    return client.post(
        "/graphql",
        content=json.dumps(body).encode(),
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def guest_accounts(engine: sa.Engine, schema_name: str) -> int:
    with engine.connect() as connection:
        query = sa.text(f"SELECT count(*) FROM {quoted_schema(schema_name)}.guest_account")
        return int(connection.execute(query).scalar_one())


UNSTORABLE_TEXT = {
    "createProperty, a variable": (
        "staff",
        'mutation($name: String!) { createProperty(input: {name: $name, timezone: "UTC"}) { property { id } } }',
        {"name": NUL},
    ),
    "createProperty, a literal": (
        "staff",
        'mutation { createProperty(input: {name: "Casa\\u0000del Sol", timezone: "UTC"}) { property { id } } }',
        {},
    ),
    "createBooking, a nested input object": (
        "staff",
        CREATE_BOOKING,
        {
            "input": {
                "propertyId": "x",
                "guest": {"name": NUL},
                "checkIn": "2030-01-01",
                "checkOut": "2030-01-02",
                "adults": 1,
                "amount": "1.00",
                "currency": "USD",
            }
        },
    ),
    "guests(search:)": ("staff", '{ guests(search: "Anna\\u0000") { totalCount } }', {}),
    "guests(filter:)": (
        "staff",
        "query($f: GuestFilter) { guests(filter: $f) { totalCount } }",
        {"f": {"country": "C\u0000R"}},
    ),
    "login": (
        "anonymous",
        'mutation($t: String!) { login(input: {tenant: $t, email: "a@b.test", password: "x"}) { token } }',
        {"t": NUL},
    ),
    "submitContactForm": (
        "public",
        "mutation($i: SubmitContactFormInput!) { submitContactForm(input: $i) { reference } }",
        {"i": {"name": "Ann", "email": "ann@example.com", "message": NUL}},
    ),
    "accountRegister": (
        "public",
        "mutation($i: AccountRegisterInput!) { accountRegister(input: $i) { errors { code } } }",
        {"i": {"email": "ann@example.com", "password": "correct-horse-battery", "name": NUL}},
    ),
    "createProperty, a variable, in a large document (validated off the event loop)": (
        "staff",
        "# " + "padding " * 400 + "\n"
        'mutation($name: String!) { createProperty(input: {name: $name, timezone: "UTC"}) { property { id } } }',
        {"name": NUL},
    ),
}


@pytest.mark.parametrize("case", UNSTORABLE_TEXT)
def test_text_the_database_cannot_store_is_bad_input_and_nothing_is_written(
    tenant: TenantFixture, client: TestClient, sync_engine: sa.Engine, case: str
) -> None:
    caller, document, variables = UNSTORABLE_TEXT[case]
    headers = {"staff": tenant.api.headers, "public": {"X-Tenant": tenant.slug}, "anonymous": {}}[caller]
    before = table_contents(sync_engine, tenant.schema_name), guest_accounts(sync_engine, tenant.schema_name)
    response = post_json(client, {"query": document, "variables": variables}, headers)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert (
        table_contents(sync_engine, tenant.schema_name),
        guest_accounts(sync_engine, tenant.schema_name),
    ) == before


def test_a_bad_aliased_mutation_refuses_the_whole_request(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    body = tenant.api(
        'mutation { g: createGuest(input: {name: "Kept"}) { guest { id } } '
        'h: createGuest(input: {name: "Bad\\u0000"}) { guest { id } } }'
    )
    assert body["data"] is None
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert row_counts(sync_engine, tenant.schema_name) == before


def cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).rstrip(b"=").decode()


PK = uuid.uuid4().hex
FORGED_CURSORS = {
    "Infinity": ("BOOKING_COUNT", cursor("booking_count", float("inf"), PK)),
    "1e30": ("BOOKING_COUNT", cursor("booking_count", 1e30, PK)),
    "beyond bigint": ("BOOKING_COUNT", cursor("booking_count", 10**30, PK)),
    "a boolean count": ("BOOKING_COUNT", cursor("booking_count", True, PK)),
    "a count as text": ("BOOKING_COUNT", cursor("booking_count", "5", PK)),
    "a name with a NUL": ("NAME", cursor("name", "Ann\u0000", PK)),
    "a name as a number": ("NAME", cursor("name", 5, PK)),
    "a time without its zone": ("LAST_ACTIVITY_AT", cursor("last_activity_at", "2030-01-01T00:00:00", PK)),
    "a time out of range": ("LAST_ACTIVITY_AT", cursor("last_activity_at", "2030-13-01T00:00:00+00:00", PK)),
    "an id as a number": ("LAST_ACTIVITY_AT", cursor("last_activity_at", "2030-01-01T00:00:00+00:00", 5)),
    "an object": ("LAST_ACTIVITY_AT", base64.urlsafe_b64encode(b'{"a": 1}').decode()),
    "nested 5000 deep": ("LAST_ACTIVITY_AT", base64.urlsafe_b64encode(b"[" * 5000).decode()),
    "not UTF-8": ("LAST_ACTIVITY_AT", base64.urlsafe_b64encode(b"\xff\xfe").decode()),
    "too long": ("LAST_ACTIVITY_AT", "A" * 10_000),
}


@pytest.mark.parametrize("case", FORGED_CURSORS)
def test_a_forged_cursor_is_bad_input(tenant: TenantFixture, case: str) -> None:
    order, after = FORGED_CURSORS[case]
    body = tenant.api(
        "query($after: String, $field: GuestOrderField!) "
        "{ guests(after: $after, orderBy: {field: $field, direction: ASC}) { totalCount } }",
        {"after": after, "field": order},
    )
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["message"] == "Invalid cursor."


def test_a_forged_history_cursor_is_bad_input(tenant: TenantFixture, world: dict[str, Any]) -> None:
    history = (
        "query($id: ID!, $after: String) { guest(id: $id) { history(after: $after) { edges { cursor } } } }"
    )
    first = tenant.api.data(history, {"id": world["guest"]["id"]})["guest"]["history"]["edges"]
    assert tenant.api.data(history, {"id": world["guest"]["id"], "after": first[0]["cursor"]})
    for after in (cursor(1e30, PK), cursor("2030-01-01T00:00:00+00:00", 5), "A" * 10_000):
        body = tenant.api(history, {"id": world["guest"]["id"], "after": after})
        assert error_codes(body) == ["BAD_USER_INPUT"], body


def test_cursors_still_page(tenant: TenantFixture) -> None:
    for name in ("Ann", "Ben", "Cy"):
        create_guest(tenant.api, name=name, email=f"{name.lower()}@example.com")
    page = "query($after: String) { guests(first: 2, after: $after, orderBy: {field: NAME, direction: ASC}) { edges { node { name } } pageInfo { endCursor } } }"
    first = tenant.api.data(page)["guests"]
    rest = tenant.api.data(page, {"after": first["pageInfo"]["endCursor"]})["guests"]
    assert [edge["node"]["name"] for edge in first["edges"] + rest["edges"]] == ["Ann", "Ben", "Cy"]


MALFORMED_BODIES = {
    "a list of lists": b'[[{"query": "{ __typename }"}]]',
    "a list of numbers": b"[1, 2]",
    "a number": b"1",
    "a string": b'"{ __typename }"',
    "null": b"null",
    "an empty batch": b"[]",
    "a batch with a number in it": b'[{"query": "{ __typename }"}, 5]',
    "a batch with a numeric query": b'[{"query": 5}]',
    "a batch with a list of variables": b'[{"query": "{ __typename }", "variables": []}]',
    "a numeric operationName": b'{"query": "{ __typename }", "operationName": 5}',
    "a list as variables": b'{"query": "{ __typename }", "variables": [1]}',
    "variables nested 5,000 deep": b'{"query": "{ __typename }", "variables": {"v": '
    + b"[" * 5000
    + b"]" * 5000
    + b"}}",
    "variables nested 100 deep": b'{"query": "{ __typename }", "variables": {"v": '
    + b"[" * 100
    + b"]" * 100
    + b"}}",
    "invalid UTF-8": b'{"query": "{ __typename \xff }"}',
    "an unpaired surrogate in a variable": b'{"query": "{ __typename }", "variables": {"name": "\\ud800"}}',
    "an unpaired low surrogate in a variable": b'{"query": "{ __typename }", "variables": {"n": "a\\udc00b"}}',
    "an unpaired surrogate in the query": b'{"query": "{ __typename } # \\uDBFF"}',
    "an unpaired surrogate in a key": b'{"query": "{ __typename }", "variables": {"\\ud800": 1}}',
    "an unpaired surrogate in a batch": b'[{"query": "{ __typename }"}, {"query": "# \\ud800 x"}]',
    "an unpaired surrogate in a large body (decoded off the loop)": b'{"query": "{ __typename }'
    + b" " * 5_000
    + b'", "variables": {"v": ["\\ud800"]}}',
    "truncated JSON": b'{"query": ',
}


@pytest.mark.parametrize("case", MALFORMED_BODIES)
def test_a_malformed_body_is_refused_with_a_json_400(
    tenant: TenantFixture, client: TestClient, sync_engine: sa.Engine, case: str
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    response = client.post(
        "/graphql",
        content=MALFORMED_BODIES[case],
        headers={**tenant.api.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["message"]
    assert row_counts(sync_engine, tenant.schema_name) == before


@pytest.mark.parametrize(
    "params",
    [
        {"query": "{ __typename }", "variables": "{broken"},
        {"query": "{ __typename }", "variables": "[" * 5000},
        {"query": "{ __typename }", "variables": "[" * 100 + "]" * 100},
        {"query": "{ __typename }", "extensions": "5"},
        {"query": "{ __typename }", "variables": '{"name": "\\ud800"}'},
    ],
)
def test_broken_get_parameters_are_refused_with_a_json_400(
    tenant: TenantFixture, client: TestClient, params: dict[str, str]
) -> None:
    response = client.get("/graphql", params=params, headers=tenant.api.headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_surrogate_pair_is_text_and_runs(tenant: TenantFixture, client: TestClient) -> None:
    query = "query($s: String) { guests(first: 1, search: $s) { totalCount } }"
    response = post_json(client, {"query": query, "variables": {"s": "\U0001f600"}}, tenant.api.headers)
    assert response.status_code == 200 and response.json() == {"data": {"guests": {"totalCount": 0}}}


def test_a_batch_of_objects_with_variables_still_runs(tenant: TenantFixture, client: TestClient) -> None:
    one = {"query": "query($n: Int) { guests(first: $n) { totalCount } }", "variables": {"n": 1}}
    response = post_json(client, [one, one], tenant.api.headers)
    assert response.status_code == 200
    assert [item["data"] for item in response.json()] == [{"guests": {"totalCount": 0}}] * 2
