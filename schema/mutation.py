"""The root Mutation type. Each field takes `input`, returns `<Name>Payload` with the object and
`errors`; the work itself lives in `resolvers/`."""

from __future__ import annotations

import strawberry

from resolvers import auth, bookings, catalogue, guests, payments, properties
from resolvers.context import Info
from resolvers.permissions import IsAuthenticated, IsStaff
from resolvers.validation import Rejection
from schema.bookings import Booking
from schema.catalogue import Service, ServiceRequest
from schema.guests import Guest
from schema.inputs import (
    CreateBookingInput,
    CreateGuestInput,
    CreatePropertyInput,
    CreateServiceInput,
    CreateServiceRequestInput,
    LoginInput,
    RecordPaymentInput,
    UpdateGuestInput,
)
from schema.payloads import (
    CreateBookingPayload,
    CreateGuestPayload,
    CreatePropertyPayload,
    CreateServicePayload,
    CreateServiceRequestPayload,
    LoginPayload,
    RecordPaymentPayload,
    UpdateGuestPayload,
)
from schema.payments import Payment
from schema.properties import Property


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Staff login; the same error for an unknown email and a wrong password.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        outcome = await auth.login(info.context, input)
        if isinstance(outcome, Rejection):
            return LoginPayload(token=None, errors=outcome.errors)
        return LoginPayload(token=outcome, errors=[])

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Ends the session it is sent with."
    )
    async def logout(self, info: Info) -> bool:
        return await auth.logout(info.context)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_property(self, info: Info, input: CreatePropertyInput) -> CreatePropertyPayload:
        outcome = await properties.create_property(info.context, input)
        if isinstance(outcome, Rejection):
            return CreatePropertyPayload(property=None, errors=outcome.errors)
        return CreatePropertyPayload(property=Property.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_service(self, info: Info, input: CreateServiceInput) -> CreateServicePayload:
        outcome = await catalogue.create_service(info.context, input)
        if isinstance(outcome, Rejection):
            return CreateServicePayload(service=None, errors=outcome.errors)
        return CreateServicePayload(service=Service.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_guest(self, info: Info, input: CreateGuestInput) -> CreateGuestPayload:
        outcome = await guests.create_guest(info.context, input)
        if isinstance(outcome, Rejection):
            return CreateGuestPayload(guest=None, errors=outcome.errors)
        return CreateGuestPayload(guest=Guest.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[IsStaff])
    async def update_guest(self, info: Info, input: UpdateGuestInput) -> UpdateGuestPayload:
        outcome = await guests.update_guest(info.context, input)
        if isinstance(outcome, Rejection):
            return UpdateGuestPayload(guest=None, errors=outcome.errors)
        return UpdateGuestPayload(guest=Guest.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_booking(self, info: Info, input: CreateBookingInput) -> CreateBookingPayload:
        outcome = await bookings.create_booking(info.context, input)
        if isinstance(outcome, Rejection):
            return CreateBookingPayload(booking=None, errors=outcome.errors)
        return CreateBookingPayload(booking=Booking.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[IsStaff])
    async def record_payment(self, info: Info, input: RecordPaymentInput) -> RecordPaymentPayload:
        outcome = await payments.record_payment(info.context, input)
        if isinstance(outcome, Rejection):
            return RecordPaymentPayload(payment=None, errors=outcome.errors)
        return RecordPaymentPayload(payment=Payment.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_service_request(
        self, info: Info, input: CreateServiceRequestInput
    ) -> CreateServiceRequestPayload:
        outcome = await catalogue.create_service_request(info.context, input)
        if isinstance(outcome, Rejection):
            return CreateServiceRequestPayload(service_request=None, errors=outcome.errors)
        return CreateServiceRequestPayload(service_request=ServiceRequest.from_row(outcome), errors=[])
