"""The root Mutation type. Each field takes `input`, returns `<Name>Payload` with the object and
`errors`; the work itself lives in `resolvers/`."""

from __future__ import annotations

import strawberry

from hospes.resolvers import auth, bookings, catalogue, forms, guests, payments, privacy, properties
from hospes.resolvers.context import Info
from hospes.resolvers.permissions import (
    MANAGE_CATALOGUE,
    MANAGE_PRIVACY,
    PUBLIC_FORM,
    SESSION_HOLDER,
    WRITE_BOOKINGS,
    WRITE_GUESTS,
)
from hospes.schema.bookings import Booking
from hospes.schema.catalogue import Service, ServiceRequest
from hospes.schema.guests import Guest
from hospes.schema.inputs import (
    CancelBookingInput,
    CreateBookingInput,
    CreateGuestInput,
    CreatePropertyInput,
    CreateServiceInput,
    CreateServiceRequestInput,
    EraseGuestInput,
    ImportOtaBookingInput,
    LoginInput,
    MergeGuestsInput,
    RecordPaymentInput,
    SetGuestConsentInput,
    SubmitBookingFormInput,
    SubmitContactFormInput,
    UpdateGuestInput,
)
from hospes.schema.payloads import (
    CancelBookingPayload,
    CreateBookingPayload,
    CreateGuestPayload,
    CreatePropertyPayload,
    CreateServicePayload,
    CreateServiceRequestPayload,
    EraseGuestPayload,
    ImportOtaBookingPayload,
    LoginPayload,
    MergeGuestsPayload,
    RecordPaymentPayload,
    SetGuestConsentPayload,
    SubmitBookingFormPayload,
    SubmitContactFormPayload,
    UpdateGuestPayload,
)
from hospes.schema.payments import Payment
from hospes.schema.properties import Property
from hospes.services.rejections import Rejection


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Staff login; the same error for an unknown email and a wrong password.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        outcome = await auth.login(info.context, input)
        if isinstance(outcome, Rejection):
            return LoginPayload(token=None, errors=outcome.errors)
        return LoginPayload(token=outcome, errors=[])

    @strawberry.mutation(permission_classes=[SESSION_HOLDER], description="Ends the session it is sent with.")
    async def logout(self, info: Info) -> bool:
        return await auth.logout(info.context)

    @strawberry.mutation(permission_classes=[MANAGE_CATALOGUE])
    async def create_property(self, info: Info, input: CreatePropertyInput) -> CreatePropertyPayload:
        outcome = await properties.create_property(info.context, input)
        if isinstance(outcome, Rejection):
            return CreatePropertyPayload(property=None, errors=outcome.errors)
        return CreatePropertyPayload(property=Property.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[MANAGE_CATALOGUE])
    async def create_service(self, info: Info, input: CreateServiceInput) -> CreateServicePayload:
        outcome = await catalogue.create_service(info.context, input)
        if isinstance(outcome, Rejection):
            return CreateServicePayload(service=None, errors=outcome.errors)
        return CreateServicePayload(service=Service.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[WRITE_GUESTS])
    async def create_guest(self, info: Info, input: CreateGuestInput) -> CreateGuestPayload:
        outcome = await guests.create_guest(info.context, input)
        if isinstance(outcome, Rejection):
            return CreateGuestPayload(guest=None, errors=outcome.errors)
        return CreateGuestPayload(guest=Guest.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[WRITE_GUESTS])
    async def update_guest(self, info: Info, input: UpdateGuestInput) -> UpdateGuestPayload:
        outcome = await guests.update_guest(info.context, input)
        if isinstance(outcome, Rejection):
            return UpdateGuestPayload(guest=None, errors=outcome.errors)
        return UpdateGuestPayload(guest=Guest.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[WRITE_BOOKINGS])
    async def create_booking(self, info: Info, input: CreateBookingInput) -> CreateBookingPayload:
        outcome = await bookings.create_booking(info.context, input)
        if isinstance(outcome, Rejection):
            return CreateBookingPayload(booking=None, portal_url=None, errors=outcome.errors)
        return CreateBookingPayload(
            booking=Booking.from_row(outcome.booking),
            portal_url=outcome.link.url if outcome.link else None,
            errors=[],
        )

    @strawberry.mutation(permission_classes=[WRITE_BOOKINGS])
    async def record_payment(self, info: Info, input: RecordPaymentInput) -> RecordPaymentPayload:
        outcome = await payments.record_payment(info.context, input)
        if isinstance(outcome, Rejection):
            return RecordPaymentPayload(payment=None, errors=outcome.errors)
        return RecordPaymentPayload(payment=Payment.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[WRITE_BOOKINGS])
    async def create_service_request(
        self, info: Info, input: CreateServiceRequestInput
    ) -> CreateServiceRequestPayload:
        outcome = await catalogue.create_service_request(info.context, input)
        if isinstance(outcome, Rejection):
            return CreateServiceRequestPayload(service_request=None, errors=outcome.errors)
        return CreateServiceRequestPayload(service_request=ServiceRequest.from_row(outcome), errors=[])

    @strawberry.mutation(
        permission_classes=[WRITE_BOOKINGS], description="Idempotent on (channel, externalId)."
    )
    async def import_ota_booking(self, info: Info, input: ImportOtaBookingInput) -> ImportOtaBookingPayload:
        outcome = await bookings.import_ota_booking(info.context, input)
        if isinstance(outcome, Rejection):
            return ImportOtaBookingPayload(booking=None, created=None, portal_url=None, errors=outcome.errors)
        added, created = outcome
        return ImportOtaBookingPayload(
            booking=Booking.from_row(added.booking),
            created=created,
            portal_url=added.link.url if added.link else None,
            errors=[],
        )

    @strawberry.mutation(permission_classes=[WRITE_BOOKINGS])
    async def cancel_booking(self, info: Info, input: CancelBookingInput) -> CancelBookingPayload:
        outcome = await bookings.cancel_booking(info.context, input)
        if isinstance(outcome, Rejection):
            return CancelBookingPayload(booking=None, errors=outcome.errors)
        return CancelBookingPayload(booking=Booking.from_row(outcome), errors=[])

    @strawberry.mutation(
        permission_classes=[WRITE_GUESTS], description="Consent as the guest gave it to staff; audited."
    )
    async def set_guest_consent(self, info: Info, input: SetGuestConsentInput) -> SetGuestConsentPayload:
        outcome = await privacy.set_guest_consent(info.context, input)
        if isinstance(outcome, Rejection):
            return SetGuestConsentPayload(guest=None, errors=outcome.errors)
        return SetGuestConsentPayload(guest=Guest.from_row(outcome), errors=[])

    @strawberry.mutation(
        permission_classes=[MANAGE_PRIVACY], description="Fold a duplicate record into another."
    )
    async def merge_guests(self, info: Info, input: MergeGuestsInput) -> MergeGuestsPayload:
        outcome = await privacy.merge_guests(info.context, input)
        if isinstance(outcome, Rejection):
            return MergeGuestsPayload(guest=None, errors=outcome.errors)
        return MergeGuestsPayload(guest=Guest.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[MANAGE_PRIVACY], description="The right to be forgotten.")
    async def erase_guest(self, info: Info, input: EraseGuestInput) -> EraseGuestPayload:
        outcome = await privacy.erase_guest(info.context, input)
        if isinstance(outcome, Rejection):
            return EraseGuestPayload(guest=None, errors=outcome.errors)
        return EraseGuestPayload(guest=Guest.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[PUBLIC_FORM], description="Public; returns a reference only.")
    async def submit_booking_form(
        self, info: Info, input: SubmitBookingFormInput
    ) -> SubmitBookingFormPayload:
        outcome = await forms.submit_booking_form(info.context, input)
        if isinstance(outcome, Rejection):
            return SubmitBookingFormPayload(reference=None, errors=outcome.errors)
        return SubmitBookingFormPayload(reference=outcome, errors=[])

    @strawberry.mutation(permission_classes=[PUBLIC_FORM], description="Public; returns a reference only.")
    async def submit_contact_form(
        self, info: Info, input: SubmitContactFormInput
    ) -> SubmitContactFormPayload:
        outcome = await forms.submit_contact_form(info.context, input)
        if isinstance(outcome, Rejection):
            return SubmitContactFormPayload(reference=None, errors=outcome.errors)
        return SubmitContactFormPayload(reference=outcome, errors=[])
