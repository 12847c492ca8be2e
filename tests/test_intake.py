"""Guest records build themselves: every way a booking arrives finds the person's one record or
creates it, conservatively."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import GraphQLClient, TenantFixture, error_codes
from tests.dates import AHEAD, iso
from tests.factories import create_guest, create_property

BOOKING = """mutation($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id status source guest { id name email phone } stayGuest { name email phone } }
    errors { field code message }
  }
}"""
IMPORT = """mutation($input: ImportOtaBookingInput!) {
  importOtaBooking(input: $input) {
    booking { id status checkIn checkOut amount adults cancelledAt guest { id email bookingCount } }
    created
    errors { field code message }
  }
}"""
BOOKING_FORM = """mutation($input: SubmitBookingFormInput!) {
  submitBookingForm(input: $input) { reference errors { field code message } }
}"""
CONTACT_FORM = """mutation($input: SubmitContactFormInput!) {
  submitContactForm(input: $input) { reference errors { field code message } }
}"""
GUESTS = "{ guests(first: 100) { totalCount edges { node { id name email phone smsOptIn marketingEmailConsent } } } }"
GUEST = """query($id: ID!) {
  guest(id: $id) {
    id name email phone country language smsOptIn marketingEmailConsent bookingCount
    bookings { id status source stayGuest { name } property { name } }
    communications { direction channel subject body }
  }
}"""


def _booking(api: GraphQLClient, property_id: str, **values: Any) -> dict[str, Any]:
    payload = api.data(
        BOOKING,
        {
            "input": {
                "propertyId": property_id,
                "checkIn": iso(AHEAD + 40),
                "checkOut": iso(AHEAD + 42),
                "adults": 1,
                "amount": "300.00",
                "currency": "EUR",
                **values,
            }
        },
    )["createBooking"]
    assert payload["errors"] == [], payload["errors"]
    booking: dict[str, Any] = payload["booking"]
    return booking


def _import(api: GraphQLClient, property_id: str, **values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = api.data(
        IMPORT,
        {
            "input": {
                "channel": "airbnb",
                "externalId": "HM123",
                "propertyId": property_id,
                "guest": {"name": "Anna Hemm", "email": "anna@example.com", "phone": "+34600111222"},
                "checkIn": iso(AHEAD + 90),
                "checkOut": iso(AHEAD + 94),
                "adults": 2,
                "amount": "950.00",
                "currency": "USD",
                **values,
            }
        },
    )["importOtaBooking"]
    return payload


def _guest_count(api: GraphQLClient) -> int:
    count: int = api.data("{ guests { totalCount } }")["guests"]["totalCount"]
    return count


def test_guest_who_stays_at_two_villas_has_one_record(tenant: TenantFixture) -> None:
    villa_a = create_property(tenant.api, name="Villa A")
    villa_b = create_property(tenant.api, name="Villa B")
    first = _booking(tenant.api, villa_a["id"], guest={"name": "Anna Hemm", "email": "anna@example.com"})
    second = _booking(tenant.api, villa_b["id"], guest={"name": "Anna Hemm", "email": " ANNA@example.com "})
    assert first["guest"]["id"] == second["guest"]["id"]
    guest = tenant.api.data(GUEST, {"id": first["guest"]["id"]})["guest"]
    assert guest["bookingCount"] == 2
    assert {b["property"]["name"] for b in guest["bookings"]} == {"Villa A", "Villa B"}
    assert _guest_count(tenant.api) == 1


def test_phone_match_links_and_fills_blanks_without_overwriting(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    existing = create_guest(tenant.api, name="Lucía Morales", email=None, phone="+50688887777", country="CR")
    booking = _booking(
        tenant.api,
        villa["id"],
        # A national number, read in the company's default region (CR).
        guest={"name": "Lucia Morales", "email": "lucia@example.com", "phone": "8888 7777", "country": "ES"},
    )
    assert booking["guest"]["id"] == existing["id"]
    guest = tenant.api.data(GUEST, {"id": existing["id"]})["guest"]
    assert guest["email"] == "lucia@example.com"  # was blank: filled
    assert guest["country"] == "CR"  # was set: kept
    assert guest["name"] == "Lucía Morales"  # staff's spelling kept


def test_people_who_share_nothing_are_never_merged(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    a = _booking(tenant.api, villa["id"], guest={"name": "Anna Hemm", "email": "anna@example.com"})
    b = _booking(tenant.api, villa["id"], guest={"name": "Anna Hemm", "email": "other.anna@example.com"})
    assert a["guest"]["id"] != b["guest"]["id"]


def test_agency_email_with_another_name_creates_a_new_guest(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    agency = "bookings@travel-agency.example"
    first = _booking(tenant.api, villa["id"], guest={"name": "John Smith", "email": agency})
    second = _booking(tenant.api, villa["id"], guest={"name": "Maria Garcia", "email": agency})
    again = _booking(tenant.api, villa["id"], guest={"name": "J. Smith", "email": agency})
    assert first["guest"]["id"] != second["guest"]["id"]
    assert again["guest"]["id"] == first["guest"]["id"]


def test_booking_with_name_and_phone_only(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    booking = _booking(tenant.api, villa["id"], guest={"name": "Walk-in Guest", "phone": "+14155550123"})
    assert booking["guest"]["email"] is None
    assert booking["guest"]["phone"] == "+14155550123"
    assert booking["source"] == "MANUAL"


def test_booking_for_someone_else_stays_with_the_booker(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    booking = _booking(
        tenant.api,
        villa["id"],
        guest={"name": "Anna Hemm", "email": "anna@example.com"},
        stayGuest={"name": "Ben Hemm", "email": "ben@example.com"},
    )
    assert booking["guest"]["name"] == "Anna Hemm"
    assert booking["stayGuest"] == {"name": "Ben Hemm", "email": "ben@example.com", "phone": None}
    assert _guest_count(tenant.api) == 1  # the customer list does not grow


def test_booking_needs_exactly_one_of_guest_id_and_details(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    guest = create_guest(tenant.api)
    base = {
        "propertyId": villa["id"],
        "checkIn": iso(AHEAD + 40),
        "checkOut": iso(AHEAD + 42),
        "amount": "1",
        "currency": "USD",
    }
    for extra in ({}, {"guestId": guest["id"], "guest": {"name": "X"}}):
        payload = tenant.api.data(BOOKING, {"input": {**base, **extra}})["createBooking"]
        assert payload["booking"] is None
        assert [e["code"] for e in payload["errors"]] == ["REQUIRED"]


def test_ota_import_is_idempotent_and_updates_in_place(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    first = _import(tenant.api, villa["id"])
    assert first["created"] is True and first["errors"] == []
    again = _import(tenant.api, villa["id"], checkOut=iso(AHEAD + 95), amount="1100.00", adults=3)
    assert again["created"] is False and again["errors"] == []
    assert again["booking"]["id"] == first["booking"]["id"]
    assert (again["booking"]["checkOut"], again["booking"]["amount"], again["booking"]["adults"]) == (
        iso(AHEAD + 95),
        "1100.00",
        3,
    )
    assert _guest_count(tenant.api) == 1
    assert again["booking"]["guest"]["bookingCount"] == 1


def test_ota_import_with_status_cancelled_cancels(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    _import(tenant.api, villa["id"])
    cancelled = _import(tenant.api, villa["id"], status="CANCELLED")
    assert cancelled["booking"]["status"] == "CANCELLED"
    assert cancelled["booking"]["cancelledAt"] is not None
    assert cancelled["booking"]["guest"]["bookingCount"] == 0


def test_ota_import_without_external_id_is_refused(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    villa = create_property(tenant.api)
    payload = _import(tenant.api, villa["id"], externalId="  ")
    assert payload["booking"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("externalId", "REQUIRED")]
    body = tenant.api('mutation { importOtaBooking(input: {channel: "airbnb"}) { created } }')
    # Missing required fields fail validation, one error each, before anything runs.
    assert set(error_codes(body)) == {"BAD_USER_INPUT"}
    assert any("externalId" in error["message"] for error in body["errors"])
    assert _guest_count(tenant.api) == 0


def test_reimport_that_changes_the_guest_email_is_refused(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    first = _import(tenant.api, villa["id"])
    payload = _import(
        tenant.api,
        villa["id"],
        amount="1.00",
        guest={"name": "Anna Hemm", "email": "someone.else@example.com"},
    )
    assert payload["booking"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("guest.email", "CONFLICT")]
    guest = tenant.api.data(GUEST, {"id": first["booking"]["guest"]["id"]})["guest"]
    assert guest["email"] == "anna@example.com"
    booking = tenant.api.data(
        "query($id: ID!) { booking(id: $id) { amount } }", {"id": first["booking"]["id"]}
    )
    assert booking["booking"]["amount"] == "950.00"
    assert _guest_count(tenant.api) == 1


def test_cancelled_booking_stays_in_the_history(tenant: TenantFixture) -> None:
    villa = create_property(tenant.api)
    booking = _booking(tenant.api, villa["id"], guest={"name": "Anna Hemm", "email": "anna@example.com"})
    cancel = """mutation($input: CancelBookingInput!) {
      cancelBooking(input: $input) { booking { id status cancelledAt cancelReason } errors { field code } }
    }"""
    payload = tenant.api.data(
        cancel, {"input": {"bookingId": booking["id"], "reason": "guest changed plans"}}
    )
    assert payload["cancelBooking"]["booking"]["status"] == "CANCELLED"
    assert payload["cancelBooking"]["booking"]["cancelledAt"]
    again = tenant.api.data(cancel, {"input": {"bookingId": booking["id"]}})["cancelBooking"]
    assert again["booking"] is None and again["errors"] == [{"field": "bookingId", "code": "INVALID_STATE"}]
    history = tenant.api.data(
        """query($id: ID!) { guest(id: $id) { bookingCount history { edges { node {
             __typename ... on BookingEvent { booking { id status } } } } } } }""",
        {"id": booking["guest"]["id"]},
    )["guest"]
    assert history["bookingCount"] == 0
    # The booking's confirmation message is on the history too; the booking event is what counts here.
    [event] = [edge for edge in history["history"]["edges"] if edge["node"]["__typename"] == "BookingEvent"]
    assert event["node"] == {
        "__typename": "BookingEvent",
        "booking": {"id": booking["id"], "status": "CANCELLED"},
    }


def _form(public: GraphQLClient, property_id: str, **values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = public.data(
        BOOKING_FORM,
        {
            "input": {
                "propertyId": property_id,
                "checkIn": iso(AHEAD + 121),
                "checkOut": iso(AHEAD + 124),
                "adults": 2,
                "guest": {
                    "name": "Diego Rojas",
                    "email": "diego@example.com",
                    "phone": "+50670001111",
                    "country": "CR",
                    "language": "es",
                },
                **values,
            }
        },
    )["submitBookingForm"]
    return payload


def test_booking_form_creates_a_request_and_grants_checked_consent(
    tenant: TenantFixture, anonymous: GraphQLClient
) -> None:
    villa = create_property(tenant.api)
    public = anonymous.as_(**{"X-Tenant": tenant.slug})
    payload = _form(
        public, villa["id"], smsOptIn=True, marketingEmailConsent=False, message="Late arrival, 23:00"
    )
    assert payload["errors"] == [] and payload["reference"]
    [node] = [edge["node"] for edge in tenant.api.data(GUESTS)["guests"]["edges"]]
    assert (node["smsOptIn"], node["marketingEmailConsent"]) == (True, False)
    guest = tenant.api.data(GUEST, {"id": node["id"]})["guest"]
    assert guest["bookings"][0]["status"] == "INQUIRY" and guest["bookings"][0]["source"] == "BOOKING_FORM"
    assert guest["bookings"][0]["id"] == payload["reference"]
    assert guest["communications"][0]["body"] == "Late arrival, 23:00"


def test_unchecked_box_never_clears_consent(
    tenant: TenantFixture, anonymous: GraphQLClient, sync_engine: sa.Engine
) -> None:
    villa = create_property(tenant.api)
    public = anonymous.as_(**{"X-Tenant": tenant.slug})
    _form(public, villa["id"], smsOptIn=True, marketingEmailConsent=True)
    _form(public, villa["id"], smsOptIn=False, marketingEmailConsent=False)
    [node] = [edge["node"] for edge in tenant.api.data(GUESTS)["guests"]["edges"]]
    assert (node["smsOptIn"], node["marketingEmailConsent"]) == (True, True)
    with sync_engine.connect() as conn:
        events = conn.execute(
            sa.text(
                f'SELECT action, data FROM "{tenant.schema_name}".audit_event WHERE action = :a ORDER BY created_at'
            ),
            {"a": "consent.changed"},
        ).all()
    assert [(e.data["consent"], e.data["value"], e.data["source"]) for e in events] == [
        ("sms_opt_in", True, "booking_form"),
        ("marketing_email_consent", True, "booking_form"),
    ]


def test_booking_form_returns_a_reference_and_never_data(
    tenant: TenantFixture, anonymous: GraphQLClient
) -> None:
    villa = create_property(tenant.api)
    public = anonymous.as_(**{"X-Tenant": tenant.slug})
    assert set(_form(public, villa["id"]).keys()) == {"reference", "errors"}
    body = public("{ guests { totalCount } }")
    assert error_codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("guest", "expected"),
    [
        ({"name": "Diego Rojas"}, {("guest", "REQUIRED")}),
        ({"name": "Diego Rojas", "phone": "12345"}, {("guest.phone", "INVALID")}),
        ({"name": "Diego Rojas", "email": "d@example.com", "country": "ZZ"}, {("guest.country", "INVALID")}),
        (
            {"name": "Diego Rojas", "email": "d@example.com", "language": "xx-notreal"},
            {("guest.language", "INVALID")},
        ),
    ],
)
def test_bad_booking_form_is_refused_and_nothing_written(
    tenant: TenantFixture, anonymous: GraphQLClient, guest: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    villa = create_property(tenant.api)
    payload = _form(anonymous.as_(**{"X-Tenant": tenant.slug}), villa["id"], guest=guest)
    assert payload["reference"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == expected
    assert _guest_count(tenant.api) == 0


def test_booking_form_needs_a_known_company(anonymous: GraphQLClient) -> None:
    body = anonymous.as_(**{"X-Tenant": "no-such-company"})(
        BOOKING_FORM,
        {
            "input": {
                "propertyId": "x",
                "checkIn": iso(AHEAD + 121),
                "checkOut": iso(AHEAD + 124),
                "guest": {"name": "A", "email": "a@example.com"},
            }
        },
    )
    assert error_codes(body) == ["UNAUTHENTICATED"]


def test_contact_form_records_an_inbound_message(tenant: TenantFixture, anonymous: GraphQLClient) -> None:
    existing = create_guest(tenant.api, name="Chloé Martin", email="chloe@example.com", phone=None)
    public = anonymous.as_(**{"X-Tenant": tenant.slug})
    payload = public.data(
        CONTACT_FORM,
        {
            "input": {
                "name": "Chloe Martin",
                "email": "chloe@example.com",
                "message": "Do you have availability in March?",
                "marketingEmailConsent": True,
            }
        },
    )["submitContactForm"]
    assert payload["errors"] == [] and payload["reference"]
    guest = tenant.api.data(GUEST, {"id": existing["id"]})["guest"]
    assert guest["marketingEmailConsent"] is True and guest["smsOptIn"] is False
    [message] = guest["communications"]
    assert message == {
        "direction": "IN",
        "channel": "EMAIL",
        "subject": "Contact form",
        "body": "Do you have availability in March?",
    }


def test_contact_form_flood_is_rate_limited(
    tenant: TenantFixture, anonymous: GraphQLClient, settings: Any
) -> None:
    public = anonymous.as_(**{"X-Tenant": tenant.slug})
    values = {"name": "Spammer", "email": "flood@example.com", "message": "buy now"}
    answers = [public(CONTACT_FORM, {"input": values}) for _ in range(settings.form_limit_per_contact + 2)]
    accepted = [a for a in answers if not a.get("errors")]
    limited = [a for a in answers if error_codes(a) == ["RATE_LIMITED"]]
    assert len(accepted) == settings.form_limit_per_contact
    assert len(limited) == 2
    assert limited[0]["errors"][0]["extensions"]["retryAfter"] > 0
    guest = tenant.api.data(
        '{ guests(search: "flood@example.com") { edges { node { communications { id } } } } }'
    )
    assert len(guest["guests"]["edges"][0]["node"]["communications"]) == settings.form_limit_per_contact


def test_matching_never_crosses_companies(make_tenant: Any) -> None:
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    for company in (alpha, beta):
        villa = create_property(company.api)
        _booking(company.api, villa["id"], guest={"name": "Anna Hemm", "email": "anna@example.com"})
    assert _guest_count(alpha.api) == 1 and _guest_count(beta.api) == 1
    a = alpha.api.data(GUESTS)["guests"]["edges"][0]["node"]["id"]
    body = beta.api(GUEST, {"id": a})
    assert error_codes(body) == ["NOT_FOUND"]
