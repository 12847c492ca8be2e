"""What the read compiler can produce in SQL, type by type and field by field. A field missing
here sends its whole operation to the resolvers, which stay the reference: every entry must give
the JSON its resolver gives (tests/test_read_compiler.py compares the two)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hospes.models.tenant import (
    Booking,
    BookingSource,
    BookingStatus,
    Channel,
    Communication,
    CommunicationStatus,
    Direction,
    Guest,
    GuestAccount,
    MessageClass,
    Payment,
    PaymentStatus,
    Property,
    Service,
    ServiceRequest,
    ServiceRequestStatus,
)
from hospes.resolvers.compiled import json_sql as js
from hospes.tenancy.encrypted_columns import (
    CANCEL_REASON,
    CHECK_IN_INSTRUCTIONS,
    GUEST_EMAIL,
    GUEST_NOTES,
    GUEST_PHONE,
    PAYMENT_REFERENCE,
    SERVICE_REQUEST_NOTES,
    STAY_GUEST_EMAIL,
    STAY_GUEST_PHONE,
    VILLA_GUIDE,
    EncryptedColumn,
)

Source = Any  # a FROM clause with `.c`: a table alias or the page of a connection
Link = Callable[[Source, Source], sa.ColumnElement[bool]]  # (parent, child) -> condition


@dataclass(frozen=True)
class Scalar:
    """A column, written as its GraphQL scalar."""

    column: str
    format: js.Format = js.plain


@dataclass(frozen=True)
class Computed:
    """A value SQL computes from the row."""

    expression: Callable[[Source], sa.ColumnElement[Any]]


@dataclass(frozen=True)
class Encrypted:
    """Ciphertext in SQL, plaintext after: opened in Python at its path."""

    column: EncryptedColumn[Any]


@dataclass(frozen=True)
class Child:
    """Rows of `type_name` linked to the parent row: one object (a foreign key the schema
    guarantees) or a list in `order` (column names, newest first as the loaders give them)."""

    type_name: str
    link: Link
    many: bool
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Embedded:
    """An object made of the parent row's own columns (`type_name`'s table is the parent's),
    null unless `present` holds a non-empty value."""

    type_name: str
    present: str


FieldSpec = Scalar | Computed | Encrypted | Child | Embedded


@dataclass(frozen=True)
class TypeSpec:
    table: sa.Table
    fields: dict[str, FieldSpec] = field(default_factory=dict)


def _table(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table


def _by_parent(column: str) -> Link:
    return lambda parent, child: child.c[column] == parent.c.id


def _parent_row(column: str) -> Link:
    return lambda parent, child: child.c.id == parent.c[column]


def _payments_of_guest(parent: Source, child: Source) -> sa.ColumnElement[bool]:
    booking = _table(Booking).alias()
    # Correlated by name: the parent row is two SELECTs up, past the list's own.
    bookings = sa.select(booking.c.id).where(booking.c.guest_id == parent.c.id).correlate(parent)
    return child.c.booking_id.in_(bookings)


def _has_account(row: Source) -> sa.ColumnElement[Any]:
    account = _table(GuestAccount).alias()
    return sa.exists(sa.select(account.c.guest_id).where(account.c.guest_id == row.c.id).correlate(row))


def _common(type_name: str) -> dict[str, FieldSpec]:
    return {"id": Scalar("id", js.opaque_id(type_name)), "createdAt": Scalar("created_at", js.iso_datetime)}


TYPES: dict[str, TypeSpec] = {
    "Guest": TypeSpec(
        _table(Guest),
        {
            "id": Scalar("id", js.opaque_id("Guest")),
            "name": Scalar("name"),
            "country": Scalar("country"),
            "language": Scalar("language"),
            "preferredChannel": Scalar("preferred_channel", js.enum_name(Channel)),
            "smsOptIn": Scalar("sms_opt_in"),
            "marketingEmailConsent": Scalar("marketing_email_consent"),
            "registeredAt": Scalar("created_at", js.iso_datetime),
            "lastActivityAt": Scalar("last_activity_at", js.iso_datetime),
            "erasedAt": Scalar("erased_at", js.iso_datetime),
            "bookingCount": Scalar("booking_count"),
            "email": Encrypted(GUEST_EMAIL),
            "phone": Encrypted(GUEST_PHONE),
            "notes": Encrypted(GUEST_NOTES),
            "hasAccount": Computed(_has_account),
            "bookings": Child("Booking", _by_parent("guest_id"), many=True, order=("created_at", "id")),
            "serviceRequests": Child(
                "ServiceRequest", _by_parent("guest_id"), many=True, order=("created_at", "id")
            ),
            "payments": Child("Payment", _payments_of_guest, many=True, order=("created_at", "id")),
            "communications": Child(
                "Communication", _by_parent("guest_id"), many=True, order=("created_at", "id")
            ),
        },
    ),
    "Booking": TypeSpec(
        _table(Booking),
        {
            **_common("Booking"),
            "checkIn": Scalar("check_in", js.iso_date),
            "checkOut": Scalar("check_out", js.iso_date),
            "adults": Scalar("adults"),
            "children": Scalar("children"),
            "amount": Scalar("amount", js.decimal),
            "currency": Scalar("currency"),
            "status": Scalar("status", js.enum_name(BookingStatus)),
            "source": Scalar("source", js.enum_name(BookingSource)),
            "channel": Scalar("channel"),
            "externalId": Scalar("external_id"),
            "cancelledAt": Scalar("cancelled_at", js.iso_datetime),
            "nights": Computed(lambda row: row.c.check_out - row.c.check_in),
            "cancelReason": Encrypted(CANCEL_REASON),
            "stayGuest": Embedded("StayGuest", present="stay_guest_name"),
            "communications": Child(
                "Communication", _by_parent("booking_id"), many=True, order=("created_at", "id")
            ),
            "property": Child("Property", _parent_row("property_id"), many=False),
            "payments": Child("Payment", _by_parent("booking_id"), many=True, order=("created_at", "id")),
            "serviceRequests": Child(
                "ServiceRequest", _by_parent("booking_id"), many=True, order=("created_at", "id")
            ),
        },
    ),
    "StayGuest": TypeSpec(
        _table(Booking),
        {
            "name": Scalar("stay_guest_name"),
            "email": Encrypted(STAY_GUEST_EMAIL),
            "phone": Encrypted(STAY_GUEST_PHONE),
        },
    ),
    # Its subject and body (markers in place of links) stay with the resolvers.
    "Communication": TypeSpec(
        _table(Communication),
        {
            **_common("Communication"),
            "channel": Scalar("channel", js.enum_name(Channel)),
            "direction": Scalar("direction", js.enum_name(Direction)),
            "templateKey": Scalar("template_key"),
            "messageClass": Scalar("message_class", js.enum_name(MessageClass)),
            "status": Scalar("status", js.enum_name(CommunicationStatus)),
            "statusAt": Scalar("status_at", js.iso_datetime),
            "language": Scalar("language"),
            "provider": Scalar("provider"),
            "providerMessageId": Scalar("provider_message_id"),
            "error": Scalar("error"),
            "attempts": Scalar("attempts"),
            "sentAt": Scalar("sent_at", js.iso_datetime),
        },
    ),
    "Property": TypeSpec(
        _table(Property),
        {
            **_common("Property"),
            "name": Scalar("name"),
            "address": Scalar("address"),
            "timezone": Scalar("timezone"),
            "villaGuide": Encrypted(VILLA_GUIDE),
            "checkInInstructions": Encrypted(CHECK_IN_INSTRUCTIONS),
        },
    ),
    "Payment": TypeSpec(
        _table(Payment),
        {
            **_common("Payment"),
            "amount": Scalar("amount", js.decimal),
            "currency": Scalar("currency"),
            "method": Scalar("method"),
            "status": Scalar("status", js.enum_name(PaymentStatus)),
            "paidAt": Scalar("paid_at", js.iso_datetime),
            "providerReference": Encrypted(PAYMENT_REFERENCE),
        },
    ),
    "ServiceRequest": TypeSpec(
        _table(ServiceRequest),
        {
            **_common("ServiceRequest"),
            "date": Scalar("service_date", js.iso_date),
            "people": Scalar("people"),
            "price": Scalar("price", js.decimal),
            "currency": Scalar("currency"),
            "status": Scalar("status", js.enum_name(ServiceRequestStatus)),
            "notes": Encrypted(SERVICE_REQUEST_NOTES),
            "service": Child("Service", _parent_row("service_id"), many=False),
        },
    ),
    "Service": TypeSpec(
        _table(Service),
        {
            **_common("Service"),
            "name": Scalar("name"),
            "description": Scalar("description"),
            "price": Scalar("price", js.decimal),
            "currency": Scalar("currency"),
            "active": Scalar("active"),
        },
    ),
}
