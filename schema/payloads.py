"""Mutation payloads: the object under its type's name and `errors: [UserError!]!`."""

from __future__ import annotations

import strawberry

from hospes.schema.bookings import Booking
from hospes.schema.catalogue import Service, ServiceRequest
from hospes.schema.errors import UserError
from hospes.schema.guests import Guest
from hospes.schema.payments import Payment
from hospes.schema.properties import Property


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    errors: list[UserError]


@strawberry.type
class CreatePropertyPayload:
    property: Property | None
    errors: list[UserError]


@strawberry.type
class CreateServicePayload:
    service: Service | None
    errors: list[UserError]


@strawberry.type
class CreateGuestPayload:
    guest: Guest | None
    errors: list[UserError]


@strawberry.type
class UpdateGuestPayload:
    guest: Guest | None
    errors: list[UserError]


@strawberry.type
class CreateBookingPayload:
    booking: Booking | None
    portal_url: str | None = strawberry.field(
        description="The guest-portal link of a booking just created; shown once, null otherwise."
    )
    errors: list[UserError]


@strawberry.type
class RecordPaymentPayload:
    payment: Payment | None
    errors: list[UserError]


@strawberry.type
class CreateServiceRequestPayload:
    service_request: ServiceRequest | None
    errors: list[UserError]


@strawberry.type
class ImportOtaBookingPayload:
    booking: Booking | None
    created: bool | None = strawberry.field(
        description="False when the import updated a booking imported before; null when refused."
    )
    portal_url: str | None = strawberry.field(
        description="The guest-portal link of a booking just created; shown once, null otherwise."
    )
    errors: list[UserError]


@strawberry.type
class CancelBookingPayload:
    booking: Booking | None
    errors: list[UserError]


@strawberry.type(description="Public forms answer with a reference only, never with data.")
class SubmitBookingFormPayload:
    reference: str | None
    errors: list[UserError]


@strawberry.type
class SubmitContactFormPayload:
    reference: str | None
    errors: list[UserError]


@strawberry.type
class SetGuestConsentPayload:
    guest: Guest | None
    errors: list[UserError]


@strawberry.type
class MergeGuestsPayload:
    guest: Guest | None
    errors: list[UserError]


@strawberry.type
class EraseGuestPayload:
    guest: Guest | None
    errors: list[UserError]
