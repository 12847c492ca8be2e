"""Factories that build data through the public API, as a client would."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient
from tests.dates import AHEAD, iso

CREATE_PROPERTY = """mutation($input: CreatePropertyInput!) {
  createProperty(input: $input) { property { id name timezone } errors { field code message } }
}"""
CREATE_SERVICE = """mutation($input: CreateServiceInput!) {
  createService(input: $input) { service { id name price currency } errors { field code message } }
}"""
CREATE_GUEST = """mutation($input: CreateGuestInput!) {
  createGuest(input: $input) { guest { id name email phone } errors { field code message } }
}"""
CREATE_BOOKING = """mutation($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id status checkIn checkOut amount currency } errors { field code message }
  }
}"""
RECORD_PAYMENT = """mutation($input: RecordPaymentInput!) {
  recordPayment(input: $input) { payment { id amount status } errors { field code message } }
}"""
CREATE_SERVICE_REQUEST = """mutation($input: CreateServiceRequestInput!) {
  createServiceRequest(input: $input) { serviceRequest { id status price } errors { field code message } }
}"""


def inquiry_mutation(name: str, selection: str = "id stage") -> str:
    """The document of the inquiry mutation `name` (`createInquiry`…), asking `selection` of the
    inquiry and the errors."""
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ inquiry {{ {selection} }} "
        "errors { field code message } } }"
    )


def _created(
    api: GraphQLClient, mutation: str, name: str, key: str, values: dict[str, Any]
) -> dict[str, Any]:
    payload = api.data(mutation, {"input": values})[name]
    assert payload["errors"] == [], payload["errors"]
    created: dict[str, Any] = payload[key]
    return created


def create_property(api: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    values = {"name": "Casa del Sol", "timezone": "America/Costa_Rica", **overrides}
    return _created(api, CREATE_PROPERTY, "createProperty", "property", values)


def create_service(api: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    values = {"name": "Zip-line tour", "price": "85.00", "currency": "USD", **overrides}
    return _created(api, CREATE_SERVICE, "createService", "service", values)


def create_guest(api: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    values = {"name": "Anna Hemm", "email": "anna@example.com", "phone": "+34600111222", **overrides}
    return _created(api, CREATE_GUEST, "createGuest", "guest", values)


def create_booking(
    api: GraphQLClient, *, property_id: str, guest_id: str, **overrides: Any
) -> dict[str, Any]:
    values = {
        "propertyId": property_id,
        "guestId": guest_id,
        "checkIn": iso(AHEAD),
        "checkOut": iso(AHEAD + 4),
        "adults": 2,
        "amount": "1200.00",
        "currency": "USD",
        **overrides,
    }
    return _created(api, CREATE_BOOKING, "createBooking", "booking", values)


def record_payment(api: GraphQLClient, *, booking_id: str, **overrides: Any) -> dict[str, Any]:
    values = {"bookingId": booking_id, "amount": "600.00", "currency": "USD", "method": "card", **overrides}
    return _created(api, RECORD_PAYMENT, "recordPayment", "payment", values)


def create_service_request(
    api: GraphQLClient, *, booking_id: str, service_id: str, **overrides: Any
) -> dict[str, Any]:
    values = {
        "bookingId": booking_id,
        "serviceId": service_id,
        "date": iso(AHEAD + 1),
        "people": 2,
        **overrides,
    }
    return _created(api, CREATE_SERVICE_REQUEST, "createServiceRequest", "serviceRequest", values)


def stay(api: GraphQLClient, **guest_overrides: Any) -> dict[str, Any]:
    """A guest with one booking at a new property, one payment and one service request."""
    prop = create_property(api)
    service = create_service(api)
    guest = create_guest(api, **guest_overrides)
    booking = create_booking(api, property_id=prop["id"], guest_id=guest["id"])
    payment = record_payment(api, booking_id=booking["id"])
    request = create_service_request(api, booking_id=booking["id"], service_id=service["id"])
    return {
        "property": prop,
        "service": service,
        "guest": guest,
        "booking": booking,
        "payment": payment,
        "serviceRequest": request,
    }
