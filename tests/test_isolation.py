"""No request can read or write another tenant's rows, whatever it sends.

Two companies hold look-alike data (same guest names and emails, same property and service names),
so a leak cannot hide behind different-looking rows: only ids tell them apart. Tenant A's staff
then aims every query and mutation of the schema at tenant B's ids, sends its session under B's
name, and sends broken credentials; B is read back before and after, through B's own session and
with plain SQL on B's schema.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.schema.ids import decode_id, encode_id
from hospes.settings import Settings
from hospes.tenancy.encrypted_columns import MESSAGE_BODY
from tests.conftest import LOGIN, OWNER_PASSWORD, GraphQLClient, Servers, TenantFixture, error_codes, login
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
    inquiry_mutation,
    stay,
)
from tests.helpers_cli import hospes
from tests.helpers_db import row_counts, table_contents, tenant_keys

ME = "{ me { email tenant { slug } } }"
REPLY_TO_INQUIRY = """mutation($input: ReplyToInquiryInput!) {
  replyToInquiry(input: $input) { inquiry { id } errors { field code message } } }"""
QUOTE_INQUIRY = """mutation($input: QuoteInquiryInput!) {
  quoteInquiry(input: $input) { inquiry { id } quote { id } errors { field code message } } }"""
SCHEDULE_REMINDERS = """mutation($input: ScheduleInquiryRemindersInput!) {
  scheduleInquiryReminders(input: $input) { inquiry { id } errors { field code message } } }"""
CANCEL_REMINDERS = """mutation($input: CancelInquiryRemindersInput!) {
  cancelInquiryReminders(input: $input) { inquiry { id } errors { field code message } } }"""
QUOTE_VALUES = {
    "amount": "950.00",
    "currency": "USD",
    "lines": [{"description": "4 nights", "amount": "950.00"}],
}
GUEST = "query($id: ID!) { guest(id: $id) { id name email bookings { id } payments { id } } }"
BOOKING = """query($id: ID!) {
  booking(id: $id) { id amount guest { id name } property { id name } payments { id amount }
    serviceRequests { id service { id name } } }
}"""
GUESTS = """query($search: String) {
  guests(first: 100, search: $search) {
    totalCount
    edges { node { id name email
      bookings { id property { id name } payments { id amount } serviceRequests { id service { id name } } }
      payments { id } serviceRequests { id } communications { id channel body } } }
  }
}"""
PROPERTIES = "{ properties(first: 100) { totalCount edges { node { id name } } } }"
SERVICES = "{ services(first: 100, includeInactive: true) { totalCount edges { node { id name } } } }"
LOGOUT = "mutation { logout }"
CANCEL_BOOKING = """mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id } errors { field code message } }
}"""
IMPORT_OTA = """mutation($input: ImportOtaBookingInput!) {
  importOtaBooking(input: $input) { booking { id } created errors { field code message } }
}"""
SET_CONSENT = """mutation($input: SetGuestConsentInput!) {
  setGuestConsent(input: $input) { guest { id } errors { field code message } }
}"""
MERGE_GUESTS = """mutation($input: MergeGuestsInput!) {
  mergeGuests(input: $input) { guest { id } errors { field code message } }
}"""
ERASE_GUEST = """mutation($input: EraseGuestInput!) {
  eraseGuest(input: $input) { guest { id } errors { field code message } }
}"""
BOOKING_FORM = """mutation($input: SubmitBookingFormInput!) {
  submitBookingForm(input: $input) { reference errors { field code message } }
}"""
CONTACT_FORM = """mutation($input: SubmitContactFormInput!) {
  submitContactForm(input: $input) { reference errors { field code message } }
}"""
UPDATE_GUEST = """mutation($input: UpdateGuestInput!) {
  updateGuest(input: $input) { guest { id name notes } errors { field code message } }
}"""

INQUIRY = """query($id: ID!) {
  inquiry(id: $id) { id stage guest { id name } property { id } booking { id } communications { id }
    history { __typename at } }
}"""
INQUIRIES = """query($search: String) {
  inquiries(first: 100, search: $search) {
    totalCount edges { node { id guest { id name } property { id } history { __typename at } } }
  }
}"""
STAGE_COUNTS = "{ inquiryStageCounts { stage count needsAction } }"


CREATE_INQUIRY = inquiry_mutation("createInquiry")
UPDATE_INQUIRY = inquiry_mutation("updateInquiry")
ASSIGN_INQUIRY = inquiry_mutation("assignInquiry")
MARK_INQUIRY_LOST = inquiry_mutation("markInquiryLost")
REOPEN_INQUIRY = inquiry_mutation("reopenInquiry")
CONFIRM_INQUIRY = inquiry_mutation("confirmInquiry")

FRONT_DESK_EMAIL = "front.desk@example.com"


@dataclass
class TenantSetup:
    """One tenant and the ids of what it holds; `api` is the owner's session."""

    tenant: TenantFixture
    ids: dict[str, str] = field(default_factory=dict)
    front_desk_password: str = ""

    @property
    def api(self) -> GraphQLClient:
        return self.tenant.api

    def ids_of(self, kind: str) -> set[str]:
        return {
            value
            for key, value in self.ids.items()
            if key == kind or key.startswith((f"{kind}:", f"{kind}-"))
        }


@dataclass
class World:
    a: TenantSetup
    b: TenantSetup
    client: TestClient
    engine: sa.Engine

    def fresh_session_of_a(self) -> GraphQLClient:
        """A new session of A's owner, for tests that might end or abuse it."""
        token = login(
            self.client, tenant=self.a.tenant.slug, email=self.a.tenant.owner_email, password=OWNER_PASSWORD
        )
        return GraphQLClient(self.client, {"Authorization": f"Bearer {token}"})

    def snapshot(self) -> dict[str, Any]:
        """Everything stored in both schemas, plus B as B's own staff sees it."""
        b_view = {
            "guests": self.b.api.data(GUESTS),
            "inquiries": self.b.api.data(INQUIRIES),
            "inquiry": self.b.api.data(INQUIRY, {"id": self.b.ids["inquiry"]}),
            "properties": self.b.api.data(PROPERTIES),
            "services": self.b.api.data(SERVICES),
            "booking": self.b.api.data(BOOKING, {"id": self.b.ids["booking"]}),
        }
        return {
            "a rows": table_contents(self.engine, self.a.tenant.schema_name),
            "b rows": table_contents(self.engine, self.b.tenant.schema_name),
            "b counts": row_counts(self.engine, self.b.tenant.schema_name),
            "b view": b_view,
        }

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Asserts that nothing in either tenant changed inside the block."""
        before = self.snapshot()
        yield
        after = self.snapshot()
        assert after["b counts"] == before["b counts"]
        assert after["b view"] == before["b view"]
        assert after["b rows"] == before["b rows"]
        assert after["a rows"] == before["a rows"]


def _add_communication(engine: sa.Engine, setup: TenantSetup) -> None:
    """A plain row stands in for a message sent (its body encrypted, as the API stores it)."""
    guest_pk = decode_id("Guest", setup.ids["guest:anna"])
    booking_pk = decode_id("Booking", setup.ids["booking"])
    schema = setup.tenant.schema_name
    body = MESSAGE_BODY.seal(tenant_keys(engine, schema), "Welcome to Casa del Sol")
    with engine.begin() as connection:
        pk = connection.execute(
            sa.text(
                f'INSERT INTO "{schema}".communication (guest_id, booking_id, channel, direction, body_enc) '
                "VALUES (:guest, :booking, 'email', 'out', :body) RETURNING id"
            ),
            {"guest": guest_pk, "booking": booking_pk, "body": body},
        ).scalar_one()
    setup.ids["communication"] = encode_id("Communication", pk)


def _add_inquiry(engine: sa.Engine, setup: TenantSetup) -> None:
    """An inquiry of Anna's about the property, and a quote on it (quotes are made by SQL here:
    this test needs only the row)."""
    payload = setup.api.data(
        CREATE_INQUIRY,
        {
            "input": {
                "source": "PHONE",
                "guestId": setup.ids["guest:anna"],
                "propertyId": setup.ids["property"],
                "checkIn": iso(AHEAD),
                "checkOut": iso(AHEAD + 4),
                "message": "Is Casa del Sol free for four?",
            }
        },
    )["createInquiry"]
    assert payload["errors"] == []
    setup.ids["inquiry"] = payload["inquiry"]["id"]
    schema = setup.tenant.schema_name
    with engine.begin() as connection:
        quote = connection.execute(
            sa.text(
                f'INSERT INTO "{schema}".inquiry_quote (inquiry_id, amount, currency, is_primary) '
                "VALUES (:inquiry, 950, 'USD', true) RETURNING id"
            ),
            {"inquiry": decode_id("Inquiry", setup.ids["inquiry"])},
        ).scalar_one()
        staff = connection.execute(sa.text(f'SELECT id FROM "{schema}".staff_user LIMIT 1')).scalar_one()
    setup.ids["quote"] = encode_id("InquiryQuote", quote)
    setup.ids["staffUser"] = encode_id("StaffUser", staff)


def _populate(setup: TenantSetup, engine: sa.Engine, settings: Settings) -> None:
    made = stay(setup.api)  # Casa del Sol, Zip-line tour, Anna Hemm, a booking, a payment, a request
    ben = create_guest(setup.api, name="Ben Hemm", email="ben@example.com", phone="+34600111333")
    transfer = create_service(setup.api, name="Airport transfer", price="40.00", active=False)
    setup.ids.update(
        {
            "property": made["property"]["id"],
            "service:zipline": made["service"]["id"],
            "service:transfer": transfer["id"],
            "guest:anna": made["guest"]["id"],
            "guest:ben": ben["id"],
            "booking": made["booking"]["id"],
            "payment": made["payment"]["id"],
            "serviceRequest": made["serviceRequest"]["id"],
        }
    )
    _add_communication(engine, setup)
    _add_inquiry(engine, setup)
    # The same staff email in both companies, with different passwords.
    setup.front_desk_password = f"front-desk-{uuid.uuid4().hex[:12]}"
    created = hospes(
        settings,
        "user",
        "create",
        "--tenant",
        setup.tenant.slug,
        "--email",
        FRONT_DESK_EMAIL,
        "--password",
        setup.front_desk_password,
    )
    assert created.exit_code == 0, created.output


@pytest.fixture(scope="module")
def world(
    make_tenant: Callable[..., TenantFixture], client: TestClient, sync_engine: sa.Engine, settings: Settings
) -> World:
    a, b = TenantSetup(make_tenant("iso")), TenantSetup(make_tenant("iso"))
    for setup in (a, b):
        _populate(setup, sync_engine, settings)
    return World(a=a, b=b, client=client, engine=sync_engine)


def _missing(kind: str) -> str:
    """A well-formed id of `kind` that exists in no tenant."""
    return encode_id(kind, uuid.uuid4())


def _no_data(body: dict[str, Any]) -> bool:
    data = body.get("data")
    return data is None or all(value is None for value in data.values())


# --- queries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_name", "document", "kind", "key"),
    [
        ("guest", GUEST, "Guest", "guest:anna"),
        ("booking", BOOKING, "Booking", "booking"),
        ("inquiry", INQUIRY, "Inquiry", "inquiry"),
    ],
    ids=["guest", "booking", "inquiry"],
)
def test_object_of_other_tenant_is_not_found_like_a_missing_one(
    world: World, field_name: str, document: str, kind: str, key: str
) -> None:
    foreign = world.a.api(document, {"id": world.b.ids[key]})
    missing = world.a.api(document, {"id": _missing(kind)})
    assert foreign["data"] == {field_name: None}
    assert error_codes(foreign) == ["NOT_FOUND"]
    assert foreign == missing  # same message, code and path: nothing tells the two apart


def test_guest_of_other_tenant_is_not_found(world: World) -> None:
    for key in ("guest:anna", "guest:ben"):
        body = world.a.api(GUEST, {"id": world.b.ids[key]})
        assert body["data"] == {"guest": None}
        assert error_codes(body) == ["NOT_FOUND"]


def test_own_objects_are_found_with_only_own_rows_nested(world: World) -> None:
    guest = world.a.api.data(GUEST, {"id": world.a.ids["guest:anna"]})["guest"]
    assert guest["id"] == world.a.ids["guest:anna"]
    assert [b["id"] for b in guest["bookings"]] == [world.a.ids["booking"]]
    assert [p["id"] for p in guest["payments"]] == [world.a.ids["payment"]]
    booking = world.a.api.data(BOOKING, {"id": world.a.ids["booking"]})["booking"]
    assert booking["guest"]["id"] == world.a.ids["guest:anna"]
    assert booking["property"]["id"] == world.a.ids["property"]
    assert [p["id"] for p in booking["payments"]] == [world.a.ids["payment"]]
    assert [r["id"] for r in booking["serviceRequests"]] == [world.a.ids["serviceRequest"]]
    assert booking["serviceRequests"][0]["service"]["id"] == world.a.ids["service:zipline"]


@pytest.mark.parametrize(
    ("search", "who"),
    [
        (None, "guest:"),
        ("anna", "guest:anna"),
        ("anna@example.com", "guest:anna"),
        ("ben@example.com", "guest:ben"),
        ("Hemm", "guest:"),  # a prefix of any name part: both Anna and Ben Hemm
        ("emm", "nobody"),  # but only a prefix
    ],
)
def test_customer_list_holds_only_own_guests(world: World, search: str | None, who: str) -> None:
    connection = world.a.api.data(GUESTS, {"search": search})["guests"]
    nodes = [edge["node"] for edge in connection["edges"]]
    expected = {value for key, value in world.a.ids.items() if key.startswith(who)}
    assert {node["id"] for node in nodes} == expected
    assert connection["totalCount"] == len(expected)
    for node in nodes:
        assert {b["id"] for b in node["bookings"]} <= world.a.ids_of("booking")
        for booking in node["bookings"]:
            assert booking["property"]["id"] in world.a.ids_of("property")
            assert {p["id"] for p in booking["payments"]} <= world.a.ids_of("payment")
            assert {r["id"] for r in booking["serviceRequests"]} <= world.a.ids_of("serviceRequest")
            assert {r["service"]["id"] for r in booking["serviceRequests"]} <= world.a.ids_of("service")
        assert {p["id"] for p in node["payments"]} <= world.a.ids_of("payment")
        assert {r["id"] for r in node["serviceRequests"]} <= world.a.ids_of("serviceRequest")
        # Bookings send their own confirmations, so not every message was made by the fixture.
        assert not {c["id"] for c in node["communications"]} & world.b.ids_of("communication")


def test_property_list_holds_only_own_properties(world: World) -> None:
    connection = world.a.api.data(PROPERTIES)["properties"]
    assert {edge["node"]["id"] for edge in connection["edges"]} == world.a.ids_of("property")
    assert connection["totalCount"] == len(world.a.ids_of("property"))


def test_service_catalogue_holds_only_own_services(world: World) -> None:
    connection = world.a.api.data(SERVICES)["services"]
    assert {edge["node"]["id"] for edge in connection["edges"]} == world.a.ids_of("service")
    assert connection["totalCount"] == len(world.a.ids_of("service"))


@pytest.mark.parametrize("search", [None, "anna", "anna@example.com", "+34600111222"])
def test_inquiry_pipeline_holds_only_own_inquiries(world: World, search: str | None) -> None:
    connection = world.a.api.data(INQUIRIES, {"search": search})["inquiries"]
    assert {edge["node"]["id"] for edge in connection["edges"]} == world.a.ids_of("inquiry")
    assert connection["totalCount"] == len(world.a.ids_of("inquiry"))
    for edge in connection["edges"]:
        assert edge["node"]["guest"]["id"] in world.a.ids_of("guest")
        assert edge["node"]["property"]["id"] in world.a.ids_of("property")
    counts = world.a.api.data(STAGE_COUNTS)["inquiryStageCounts"]
    assert sum(row["count"] for row in counts) == len(world.a.ids_of("inquiry"))


def test_me_names_only_the_callers_company(world: World) -> None:
    assert world.a.api.data(ME)["me"] == {
        "email": world.a.tenant.owner_email,
        "tenant": {"slug": world.a.tenant.slug},
    }


# --- mutations aimed at the other tenant's ids ---------------------------------------------------


@dataclass(frozen=True)
class ForeignIdCase:
    """A mutation whose input names B's objects under `foreign` (input field -> (kind, B's id key)),
    on top of `values` (which may name A's own objects)."""

    mutation: str
    name: str
    foreign: dict[str, tuple[str, str]]
    values: dict[str, Any]


FOREIGN_ID_CASES = {
    "updateGuest with B's guest": ForeignIdCase(
        UPDATE_GUEST,
        "updateGuest",
        {"guestId": ("Guest", "guest:anna")},
        {"name": "Hijacked", "notes": "written by the other company"},
    ),
    "createBooking with B's property": ForeignIdCase(
        CREATE_BOOKING,
        "createBooking",
        {"propertyId": ("Property", "property")},
        {"guestId": "a:guest:anna"},
    ),
    "createBooking with B's guest": ForeignIdCase(
        CREATE_BOOKING,
        "createBooking",
        {"guestId": ("Guest", "guest:anna")},
        {"propertyId": "a:property"},
    ),
    "createBooking with B's property and guest": ForeignIdCase(
        CREATE_BOOKING,
        "createBooking",
        {"propertyId": ("Property", "property"), "guestId": ("Guest", "guest:anna")},
        {},
    ),
    "recordPayment on B's booking": ForeignIdCase(
        RECORD_PAYMENT,
        "recordPayment",
        {"bookingId": ("Booking", "booking")},
        {"amount": "600.00", "currency": "USD", "method": "card"},
    ),
    "createServiceRequest on B's booking": ForeignIdCase(
        CREATE_SERVICE_REQUEST,
        "createServiceRequest",
        {"bookingId": ("Booking", "booking")},
        {"serviceId": "a:service:zipline", "date": iso(AHEAD + 1), "people": 2},
    ),
    "createServiceRequest for B's service": ForeignIdCase(
        CREATE_SERVICE_REQUEST,
        "createServiceRequest",
        {"serviceId": ("Service", "service:zipline")},
        {"bookingId": "a:booking", "date": iso(AHEAD + 1), "people": 2},
    ),
    "cancelBooking of B's booking": ForeignIdCase(
        CANCEL_BOOKING, "cancelBooking", {"bookingId": ("Booking", "booking")}, {}
    ),
    "importOtaBooking into B's property": ForeignIdCase(
        IMPORT_OTA,
        "importOtaBooking",
        {"propertyId": ("Property", "property")},
        {
            "channel": "airbnb",
            "externalId": "HM-ISO",
            "guest": {"name": "Anna Hemm", "email": "anna@example.com"},
        },
    ),
    "setGuestConsent of B's guest": ForeignIdCase(
        SET_CONSENT, "setGuestConsent", {"guestId": ("Guest", "guest:anna")}, {"smsOptIn": True}
    ),
    "mergeGuests of B's guest into A's": ForeignIdCase(
        MERGE_GUESTS,
        "mergeGuests",
        {"sourceGuestId": ("Guest", "guest:ben")},
        {"targetGuestId": "a:guest:anna"},
    ),
    "mergeGuests of A's guest into B's": ForeignIdCase(
        MERGE_GUESTS,
        "mergeGuests",
        {"targetGuestId": ("Guest", "guest:ben")},
        {"sourceGuestId": "a:guest:anna"},
    ),
    "eraseGuest of B's guest": ForeignIdCase(
        ERASE_GUEST, "eraseGuest", {"guestId": ("Guest", "guest:anna")}, {"reason": "hostile request"}
    ),
    "createInquiry for B's guest": ForeignIdCase(
        CREATE_INQUIRY, "createInquiry", {"guestId": ("Guest", "guest:anna")}, {"source": "PHONE"}
    ),
    "createInquiry about B's property": ForeignIdCase(
        CREATE_INQUIRY,
        "createInquiry",
        {"propertyId": ("Property", "property")},
        {"source": "PHONE", "guestId": "a:guest:anna"},
    ),
    "updateInquiry of B's inquiry": ForeignIdCase(
        UPDATE_INQUIRY, "updateInquiry", {"inquiryId": ("Inquiry", "inquiry")}, {"notes": "hijacked"}
    ),
    "updateInquiry to B's property": ForeignIdCase(
        UPDATE_INQUIRY, "updateInquiry", {"propertyId": ("Property", "property")}, {"inquiryId": "a:inquiry"}
    ),
    "assignInquiry of B's inquiry": ForeignIdCase(
        ASSIGN_INQUIRY, "assignInquiry", {"inquiryId": ("Inquiry", "inquiry")}, {"staffUserId": "a:staffUser"}
    ),
    "assignInquiry to B's staff user": ForeignIdCase(
        ASSIGN_INQUIRY,
        "assignInquiry",
        {"staffUserId": ("StaffUser", "staffUser")},
        {"inquiryId": "a:inquiry"},
    ),
    "markInquiryLost of B's inquiry": ForeignIdCase(
        MARK_INQUIRY_LOST, "markInquiryLost", {"inquiryId": ("Inquiry", "inquiry")}, {"reason": "PRICE"}
    ),
    "reopenInquiry of B's inquiry": ForeignIdCase(
        REOPEN_INQUIRY, "reopenInquiry", {"inquiryId": ("Inquiry", "inquiry")}, {}
    ),
    "confirmInquiry of B's inquiry": ForeignIdCase(
        CONFIRM_INQUIRY, "confirmInquiry", {"inquiryId": ("Inquiry", "inquiry")}, {}
    ),
    "confirmInquiry with B's quote": ForeignIdCase(
        CONFIRM_INQUIRY, "confirmInquiry", {"quoteId": ("InquiryQuote", "quote")}, {"inquiryId": "a:inquiry"}
    ),
    "replyToInquiry to B's inquiry": ForeignIdCase(
        REPLY_TO_INQUIRY, "replyToInquiry", {"inquiryId": ("Inquiry", "inquiry")}, {"body": "Hello"}
    ),
    "quoteInquiry on B's inquiry": ForeignIdCase(
        QUOTE_INQUIRY, "quoteInquiry", {"inquiryId": ("Inquiry", "inquiry")}, {**QUOTE_VALUES, "send": True}
    ),
    "scheduleInquiryReminders on B's inquiry": ForeignIdCase(
        SCHEDULE_REMINDERS,
        "scheduleInquiryReminders",
        {"inquiryId": ("Inquiry", "inquiry")},
        {"afterHours": [1]},
    ),
    "cancelInquiryReminders of B's inquiry": ForeignIdCase(
        CANCEL_REMINDERS, "cancelInquiryReminders", {"inquiryId": ("Inquiry", "inquiry")}, {}
    ),
    "createServiceRequest on B's booking for B's service": ForeignIdCase(
        CREATE_SERVICE_REQUEST,
        "createServiceRequest",
        {"bookingId": ("Booking", "booking"), "serviceId": ("Service", "service:zipline")},
        {"date": iso(AHEAD + 1), "people": 2},
    ),
}
BOOKING_VALUES = {
    "checkIn": iso(AHEAD),
    "checkOut": iso(AHEAD + 4),
    "adults": 2,
    "amount": "1200.00",
    "currency": "USD",
}


def _input(world: World, case: ForeignIdCase, *, foreign: Callable[[str, str], str]) -> dict[str, Any]:
    values: dict[str, Any] = (
        dict(BOOKING_VALUES) if case.name in {"createBooking", "importOtaBooking"} else {}
    )
    for key, value in case.values.items():
        own = isinstance(value, str) and value.startswith("a:")
        values[key] = world.a.ids[value.removeprefix("a:")] if own else value
    for key, (kind, b_key) in case.foreign.items():
        values[key] = foreign(kind, b_key)
    return values


@pytest.mark.parametrize("case", FOREIGN_ID_CASES.values(), ids=FOREIGN_ID_CASES.keys())
def test_mutation_with_other_tenants_ids_is_not_found_and_changes_nothing(
    world: World, case: ForeignIdCase
) -> None:
    foreign_input = _input(world, case, foreign=lambda _kind, key: world.b.ids[key])
    missing_input = _input(world, case, foreign=lambda kind, _key: _missing(kind))
    with world.unchanged():
        foreign = world.a.api(case.mutation, {"input": foreign_input})
        missing = world.a.api(case.mutation, {"input": missing_input})
    assert "errors" not in foreign or not foreign["errors"], foreign
    payload = foreign["data"][case.name]
    assert [key for key, value in payload.items() if key != "errors" and value is not None] == []
    assert {(error["field"], error["code"]) for error in payload["errors"]} == {
        (field_name, "NOT_FOUND") for field_name in case.foreign
    }
    assert foreign == missing  # indistinguishable from ids that exist nowhere


@pytest.mark.parametrize(
    ("mutation", "name", "values"),
    [
        (CREATE_GUEST, "createGuest", {"name": "Anna Hemm", "email": "anna@example.com"}),
        (CREATE_PROPERTY, "createProperty", {"name": "Casa del Sol", "timezone": "UTC"}),
        (CREATE_SERVICE, "createService", {"name": "Zip-line tour", "price": "85.00", "currency": "USD"}),
    ],
    ids=["createGuest", "createProperty", "createService"],
)
def test_look_alike_rows_created_by_one_tenant_stay_in_it(
    world: World, mutation: str, name: str, values: dict[str, Any]
) -> None:
    b_before = (table_contents(world.engine, world.b.tenant.schema_name), world.b.api.data(GUESTS))
    a_before = row_counts(world.engine, world.a.tenant.schema_name)
    payload = world.a.api.data(mutation, {"input": values})[name]
    assert payload["errors"] == []
    assert (table_contents(world.engine, world.b.tenant.schema_name), world.b.api.data(GUESTS)) == b_before
    table = {"createGuest": "guest", "createProperty": "property", "createService": "service"}[name]
    assert row_counts(world.engine, world.a.tenant.schema_name)[table] == a_before[table] + 1
    # Keep the module's picture of A exact for the listing tests (the guest is another "Anna").
    created = payload[{"guest": "guest", "property": "property", "service": "service"}[table]]
    label = "guest:anna" if table == "guest" else table
    world.a.ids[f"{label}-created-{uuid.uuid4().hex[:6]}"] = created["id"]


def test_staff_of_one_company_cannot_log_in_to_another_with_the_same_email(world: World) -> None:
    anonymous = GraphQLClient(world.client)
    own = anonymous.data(
        LOGIN,
        {"tenant": world.a.tenant.slug, "email": FRONT_DESK_EMAIL, "password": world.a.front_desk_password},
    )["login"]
    assert own["errors"] == [] and own["token"]
    wrong = anonymous.data(
        LOGIN,
        {"tenant": world.b.tenant.slug, "email": FRONT_DESK_EMAIL, "password": world.a.front_desk_password},
    )["login"]
    unknown = anonymous.data(
        LOGIN,
        {
            "tenant": world.b.tenant.slug,
            "email": "nobody@example.com",
            "password": world.a.front_desk_password,
        },
    )["login"]
    assert (
        wrong
        == unknown
        == {
            "token": None,
            "errors": [
                {"field": None, "code": "INVALID_CREDENTIALS", "message": "Unknown email or wrong password."}
            ],
        }
    )


def test_logout_ends_only_the_callers_session(world: World) -> None:
    session_of_a = world.fresh_session_of_a()
    assert session_of_a.data(LOGOUT) == {"logout": True}
    assert error_codes(session_of_a(ME)) == ["UNAUTHENTICATED"]
    assert world.b.api.data(ME)["me"]["tenant"]["slug"] == world.b.tenant.slug
    assert world.a.api.data(ME)["me"]["tenant"]["slug"] == world.a.tenant.slug


# --- every operation, with a credential that must not work ---------------------------------------


def _operations() -> dict[str, tuple[str, Callable[[World], dict[str, Any]]]]:
    """Every operation that needs a credential, aimed at B's objects where it takes ids."""

    def b(key: str) -> Callable[[World], str]:
        return lambda world: world.b.ids[key]

    def inputs(**values: Any) -> Callable[[World], dict[str, Any]]:
        def build(world: World) -> dict[str, Any]:
            return {"input": {k: v(world) if callable(v) else v for k, v in values.items()}}

        return build

    return {
        "me": (ME, lambda _: {}),
        "guest": (GUEST, lambda world: {"id": world.b.ids["guest:anna"]}),
        "guests": (GUESTS, lambda _: {}),
        "booking": (BOOKING, lambda world: {"id": world.b.ids["booking"]}),
        "properties": (PROPERTIES, lambda _: {}),
        "services": (SERVICES, lambda _: {}),
        "logout": (LOGOUT, lambda _: {}),
        "createProperty": (CREATE_PROPERTY, inputs(name="Casa del Sol", timezone="UTC")),
        "createService": (CREATE_SERVICE, inputs(name="Zip-line tour", price="85.00", currency="USD")),
        "createGuest": (CREATE_GUEST, inputs(name="Anna Hemm", email="anna@example.com")),
        "updateGuest": (UPDATE_GUEST, inputs(guestId=b("guest:anna"), name="Hijacked")),
        "createBooking": (
            CREATE_BOOKING,
            inputs(propertyId=b("property"), guestId=b("guest:anna"), **BOOKING_VALUES),
        ),
        "recordPayment": (
            RECORD_PAYMENT,
            inputs(bookingId=b("booking"), amount="600.00", currency="USD", method="card"),
        ),
        "createServiceRequest": (
            CREATE_SERVICE_REQUEST,
            inputs(bookingId=b("booking"), serviceId=b("service:zipline"), date=iso(AHEAD + 1), people=2),
        ),
        "cancelBooking": (CANCEL_BOOKING, inputs(bookingId=b("booking"))),
        "importOtaBooking": (
            IMPORT_OTA,
            inputs(
                channel="airbnb",
                externalId="HM-ISO",
                propertyId=b("property"),
                guest={"name": "Anna Hemm", "email": "anna@example.com"},
                **BOOKING_VALUES,
            ),
        ),
        "setGuestConsent": (SET_CONSENT, inputs(guestId=b("guest:anna"), smsOptIn=True)),
        "mergeGuests": (MERGE_GUESTS, inputs(sourceGuestId=b("guest:ben"), targetGuestId=b("guest:anna"))),
        "eraseGuest": (ERASE_GUEST, inputs(guestId=b("guest:anna"), reason="hostile request")),
        "inquiry": (INQUIRY, lambda world: {"id": world.b.ids["inquiry"]}),
        "inquiries": (INQUIRIES, lambda _: {}),
        "inquiryStageCounts": (STAGE_COUNTS, lambda _: {}),
        "createInquiry": (CREATE_INQUIRY, inputs(source="PHONE", guestId=b("guest:anna"))),
        "updateInquiry": (UPDATE_INQUIRY, inputs(inquiryId=b("inquiry"), notes="hijacked")),
        "assignInquiry": (ASSIGN_INQUIRY, inputs(inquiryId=b("inquiry"), staffUserId=b("staffUser"))),
        "markInquiryLost": (MARK_INQUIRY_LOST, inputs(inquiryId=b("inquiry"), reason="PRICE")),
        "reopenInquiry": (REOPEN_INQUIRY, inputs(inquiryId=b("inquiry"))),
        "confirmInquiry": (CONFIRM_INQUIRY, inputs(inquiryId=b("inquiry"), quoteId=b("quote"))),
        "replyToInquiry": (REPLY_TO_INQUIRY, inputs(inquiryId=b("inquiry"), body="Hello")),
        "quoteInquiry": (QUOTE_INQUIRY, inputs(inquiryId=b("inquiry"), **QUOTE_VALUES)),
        "scheduleInquiryReminders": (SCHEDULE_REMINDERS, inputs(inquiryId=b("inquiry"), afterHours=[1])),
        "cancelInquiryReminders": (CANCEL_REMINDERS, inputs(inquiryId=b("inquiry"))),
    }


OPERATIONS = _operations()
# Need no session: login (covered above) and the public forms (named by X-Tenant, covered below).
PUBLIC_OPERATIONS = {"login", "submitBookingForm", "submitContactForm"}


def test_every_operation_of_the_schema_has_an_isolation_case(world: World) -> None:
    schema = world.a.api.data(
        "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }"
    )
    names = {f["name"] for f in schema["__schema"]["queryType"]["fields"]}
    names |= {f["name"] for f in schema["__schema"]["mutationType"]["fields"]}
    # The portal, guest-account, settings, staff-user and API-key lanes are checked across
    # companies by tests/test_access_matrix.py (every operation, every credential of the other
    # company) and by their own tests; everything else needs a case here.
    from tests.test_access_matrix import ALLOWED

    other_lanes = {name for name in ALLOWED if name not in OPERATIONS and name not in PUBLIC_OPERATIONS}
    staff_console = {
        "createProperty",
        "createService",
        "createGuest",
        "updateGuest",
        "createBooking",
        "recordPayment",
        "createServiceRequest",
        "cancelBooking",
        "importOtaBooking",
        "setGuestConsent",
        "mergeGuests",
        "eraseGuest",
        "guest",
        "guests",
        "booking",
        "inquiry",
        "inquiries",
        "inquiryStageCounts",
        "createInquiry",
        "updateInquiry",
        "assignInquiry",
        "markInquiryLost",
        "reopenInquiry",
        "confirmInquiry",
    }
    assert staff_console <= set(OPERATIONS)
    assert names - PUBLIC_OPERATIONS - set(OPERATIONS) - other_lanes == set(), (
        "operations without an isolation case"
    )


@pytest.mark.parametrize("named", ["other tenant", "unknown tenant"])
@pytest.mark.parametrize("operation", OPERATIONS.keys())
def test_session_sent_under_another_tenants_name_is_forbidden(
    world: World, operation: str, named: str
) -> None:
    document, variables = OPERATIONS[operation]
    session_of_a = world.fresh_session_of_a()
    slug = world.b.tenant.slug if named == "other tenant" else f"nobody-{uuid.uuid4().hex[:8]}"
    under_b = session_of_a.as_(**session_of_a.headers, **{"X-Tenant": slug})
    with world.unchanged():
        body = under_b(document, variables(world))
    assert error_codes(body) == ["FORBIDDEN"], body
    assert _no_data(body), body
    # The refused request did not end or spoil the session it carried.
    assert session_of_a.data(ME)["me"]["tenant"]["slug"] == world.a.tenant.slug


def test_session_sent_under_its_own_tenants_name_works(world: World) -> None:
    api = world.a.api.as_(**world.a.api.headers, **{"X-Tenant": world.a.tenant.slug})
    assert api.data(ME)["me"]["tenant"]["slug"] == world.a.tenant.slug


@pytest.fixture(scope="module")
def ended_token(world: World) -> str:
    session = world.fresh_session_of_a()
    assert session.data(LOGOUT) == {"logout": True}
    return session.headers["Authorization"].removeprefix("Bearer ")


CREDENTIALS: dict[str, Callable[[World, str], dict[str, str]]] = {
    "none": lambda _w, _t: {},
    "garbage bearer": lambda _w, _t: {"Authorization": "Bearer garbage"},
    "well-formed unknown token": lambda _w, _t: {
        "Authorization": f"Bearer hs_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    },
    "empty bearer": lambda _w, _t: {"Authorization": "Bearer "},
    "other scheme": lambda _w, _t: {"Authorization": "Basic b3duZXI6cGFzc3dvcmQ="},
    "logged-out token": lambda _w, ended: {"Authorization": f"Bearer {ended}"},
    "logged-out token under its tenant": lambda w, ended: {
        "Authorization": f"Bearer {ended}",
        "X-Tenant": w.a.tenant.slug,
    },
    "only X-Tenant": lambda w, _t: {"X-Tenant": w.a.tenant.slug},
    "only X-Tenant of another company": lambda w, _t: {"X-Tenant": w.b.tenant.slug},
    "only unknown X-Tenant": lambda _w, _t: {"X-Tenant": f"nobody-{uuid.uuid4().hex[:8]}"},
}


@pytest.mark.parametrize("credential", CREDENTIALS.keys())
@pytest.mark.parametrize("operation", OPERATIONS.keys())
def test_missing_or_bad_credential_is_unauthenticated(
    world: World, ended_token: str, operation: str, credential: str
) -> None:
    document, variables = OPERATIONS[operation]
    caller = GraphQLClient(world.client, CREDENTIALS[credential](world, ended_token))
    with world.unchanged():
        body = caller(document, variables(world))
    assert error_codes(body) == ["UNAUTHENTICATED"], body
    assert _no_data(body), body


# --- many requests of two tenants at once, through a small pool ---------------------------------

LIST = "{ guests(first: 50) { totalCount edges { node { id name bookings { id property { name } } } } } }"
REQUESTS = 1_000
CLIENTS = 20


@dataclass
class Tenant:
    """A tenant of the concurrency run: its session and what its staff must see."""

    slug: str
    marker: str
    token: str
    guest_ids: set[str]
    booking_ids: set[str]


def _tenant_for_concurrency(make_tenant: Callable[..., TenantFixture], marker: str) -> Tenant:
    tenant = make_tenant(marker.lower())
    prop = create_property(tenant.api, name=f"{marker} Villa")
    guests, bookings = set(), set()
    for number in range(1, 4):
        guest = create_guest(tenant.api, name=f"{marker} Guest {number}", email=f"guest{number}@example.com")
        booking = create_booking(tenant.api, property_id=prop["id"], guest_id=guest["id"])
        guests.add(guest["id"])
        bookings.add(booking["id"])
    token = tenant.api.headers["Authorization"].removeprefix("Bearer ")
    return Tenant(tenant.slug, marker, token, guests, bookings)


def _problems_in(body: dict[str, Any], *, own: Tenant, other: Tenant, kind: str, asked: str) -> list[str]:
    """What in one response is not exactly the caller's own tenant's data."""
    problems = []
    if kind == "list":
        connection = (body.get("data") or {}).get("guests") or {}
        nodes = [edge["node"] for edge in connection.get("edges", [])]
        if body.get("errors") or connection.get("totalCount") != len(own.guest_ids):
            problems.append(f"bad list: {body}")
        if {node["id"] for node in nodes} != own.guest_ids:
            problems.append(f"list of {own.slug} has ids {[node['id'] for node in nodes]}")
        for node in nodes:
            if not node["name"].startswith(own.marker):
                problems.append(f"{own.slug} sees guest {node['name']}")
            for booking in node["bookings"]:
                if (
                    booking["id"] not in own.booking_ids
                    or booking["property"]["name"] != f"{own.marker} Villa"
                ):
                    problems.append(f"{own.slug} sees booking {booking}")
    elif kind == "own guest":
        guest = (body.get("data") or {}).get("guest") or {}
        if body.get("errors") or guest.get("id") != asked or not guest.get("name", "").startswith(own.marker):
            problems.append(f"{own.slug} asked for its guest {asked}, got {body}")
    elif kind == "other's guest":
        if body.get("data") != {"guest": None} or error_codes(body) != ["NOT_FOUND"]:
            problems.append(f"{own.slug} asked for {other.slug}'s guest {asked}, got {body}")
    elif (body.get("data") or {}).get("me", {}).get("tenant", {}).get("slug") != own.slug:
        problems.append(f"{own.slug} asked who it is, got {body}")
    return problems


async def _drive(app: Any, alpha: Tenant, bravo: Tenant) -> tuple[list[str], int]:
    """REQUESTS requests from CLIENTS concurrent clients, alternating tenants; returns the
    problems found and how many responses were checked."""
    kinds = ["list", "own guest", "other's guest", "me"]
    pending = iter(range(REQUESTS))
    problems: list[str] = []
    checked = 0

    async def client_loop(http: httpx.AsyncClient) -> None:
        nonlocal checked
        for number in pending:
            own, other = (alpha, bravo) if number % 2 == 0 else (bravo, alpha)
            kind = kinds[(number // 2) % len(kinds)]
            asked = ""
            variables: dict[str, str] = {}
            if kind == "list":
                query = LIST
            elif kind == "me":
                query = ME
            else:
                pool = own.guest_ids if kind == "own guest" else other.guest_ids
                asked = sorted(pool)[number % len(pool)]
                query, variables = "query($id: ID!) { guest(id: $id) { id name } }", {"id": asked}
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {own.token}"},
            )
            if response.status_code != 200:
                problems.append(f"HTTP {response.status_code}: {response.text}")
            else:
                problems.extend(_problems_in(response.json(), own=own, other=other, kind=kind, asked=asked))
            checked += 1

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hospes.test", timeout=60) as http:
        await asyncio.gather(*(client_loop(http) for _ in range(CLIENTS)))
    return problems, checked


async def _search_paths_of_pooled_connections(app: Any) -> list[tuple[str, str]]:
    """`search_path` and the server's default for it on every connection the pool holds."""
    engine = app.state.resources.engine
    pool = engine.pool
    assert (pool.size(), pool.checkedin()) == (2, 2), pool.status()
    found = []
    async with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            row = (
                await connection.execute(
                    sa.text(
                        "SELECT current_setting('search_path'), "
                        "(SELECT reset_val FROM pg_settings WHERE name = 'search_path')"
                    )
                )
            ).one()
            found.append((row[0], row[1]))
    return found


def test_concurrent_requests_of_two_tenants_through_a_small_pool_see_only_their_own_rows(
    make_tenant: Callable[..., TenantFixture], settings: Settings, servers: Servers, sync_engine: sa.Engine
) -> None:
    alpha = _tenant_for_concurrency(make_tenant, "Alpha")
    bravo = _tenant_for_concurrency(make_tenant, "Bravo")
    small_pool = settings.model_copy(update={"db_pool_size": 2, "db_max_overflow": 0})
    app = create_app(small_pool, database_url=servers.database_url, redis_url=servers.redis_url)

    async def run() -> tuple[list[str], int, list[tuple[str, str]]]:
        resources = app.state.resources
        try:
            problems, checked = await _drive(app, alpha, bravo)
            return problems, checked, await _search_paths_of_pooled_connections(app)
        finally:
            await resources.redis.aclose()
            await resources.engine.dispose()

    problems, checked, search_paths = asyncio.run(run())
    assert checked == REQUESTS
    assert problems == [], f"{len(problems)} bad responses, first: {problems[:5]}"
    with sync_engine.connect() as connection:
        server_default = connection.execute(sa.text("SHOW search_path")).scalar_one()
    assert search_paths == [(server_default, server_default)] * 2
    assert all("t_" not in path for path, _ in search_paths)


def test_public_forms_write_only_into_the_company_they_name(world: World) -> None:
    """A form sent with `X-Tenant: A` lands in A; B's property id is unknown there; no session or
    broken header reaches any company."""
    to_a = GraphQLClient(world.client, {"X-Tenant": world.a.tenant.slug})
    guest = {"name": "Form Person", "email": "form.person@example.com"}
    stay = {"checkIn": iso(AHEAD + 150), "checkOut": iso(AHEAD + 152), "adults": 2, "guest": guest}
    with world.unchanged():
        refused = to_a.data(BOOKING_FORM, {"input": {"propertyId": world.b.ids["property"], **stay}})
        no_company = GraphQLClient(world.client)(
            CONTACT_FORM, {"input": {"name": "X", "email": "x@example.com", "message": "hi"}}
        )
        unknown = GraphQLClient(world.client, {"X-Tenant": "nobody-at-all"})(
            CONTACT_FORM, {"input": {"name": "X", "email": "x@example.com", "message": "hi"}}
        )
    assert [(e["field"], e["code"]) for e in refused["submitBookingForm"]["errors"]] == [
        ("propertyId", "NOT_FOUND")
    ]
    assert error_codes(no_company) == ["UNAUTHENTICATED"] and error_codes(unknown) == ["UNAUTHENTICATED"]
    b_before = table_contents(world.engine, world.b.tenant.schema_name)
    accepted = to_a.data(
        CONTACT_FORM, {"input": {"name": "Form Person", "email": "form.person@example.com", "message": "hi"}}
    )
    assert accepted["submitContactForm"]["errors"] == []
    assert table_contents(world.engine, world.b.tenant.schema_name) == b_before
    found = world.a.api.data(GUESTS, {"search": "form.person@example.com"})["guests"]["edges"]
    assert len(found) == 1
    world.a.ids[f"guest:form-{uuid.uuid4().hex[:6]}"] = found[0]["node"]["id"]
