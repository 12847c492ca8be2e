"""Mutation inputs. Optional fields use UNSET for "not given", so `null` can mean "clear"."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from hospes.models.tenant import (
    BookingStatus,
    Channel,
    InquirySource,
    LostReason,
    MessageClass,
    PaymentStatus,
)
from hospes.schema.enums import AccountCreation, GuestOrderField, OrderDirection


@strawberry.input
class LoginInput:
    tenant: str = strawberry.field(description="The company's slug.")
    email: str
    password: str


@strawberry.input
class CreatePropertyInput:
    name: str
    timezone: str = "UTC"
    address: str | None = None
    villa_guide: str | None = None
    check_in_instructions: str | None = None


@strawberry.input
class CreateServiceInput:
    name: str
    price: Decimal
    currency: str
    description: str | None = None
    active: bool = True


@strawberry.input
class CreateGuestInput:
    name: str
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    language: str | None = None
    notes: str | None = None
    preferred_channel: Channel | None = None


@strawberry.input(description="Fields left out stay as they are; `null` clears an optional field.")
class UpdateGuestInput:
    guest_id: strawberry.ID
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    language: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    preferred_channel: Channel | None = strawberry.UNSET


@strawberry.input(description="The person who stays, when it is not the booker.")
class StayGuestInput:
    name: str
    email: str | None = None
    phone: str | None = None


@strawberry.input(description="A person as an intake path knows them; matched to an existing guest or new.")
class GuestDetailsInput:
    name: str
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    language: str | None = None


@strawberry.input(
    description="Give `guestId` or `guest` (details: the existing guest is found or a new one made)."
)
class CreateBookingInput:
    property_id: strawberry.ID
    check_in: date
    check_out: date
    amount: Decimal
    currency: str
    guest_id: strawberry.ID | None = None
    guest: GuestDetailsInput | None = None
    adults: int = 1
    children: int = 0
    stay_guest: StayGuestInput | None = None


@strawberry.input(description="A booking from a channel manager or OTA; idempotent on (channel, externalId).")
class ImportOtaBookingInput:
    channel: str
    external_id: str
    property_id: strawberry.ID
    guest: GuestDetailsInput
    check_in: date
    check_out: date
    amount: Decimal
    currency: str
    adults: int = 1
    children: int = 0
    status: BookingStatus = BookingStatus.CONFIRMED
    stay_guest: StayGuestInput | None = None


@strawberry.input
class CancelBookingInput:
    booking_id: strawberry.ID
    reason: str | None = None


@strawberry.input(description="A booking request from the company's booking site (public, `X-Tenant`).")
class SubmitBookingFormInput:
    property_id: strawberry.ID
    check_in: date
    check_out: date
    guest: GuestDetailsInput
    adults: int = 1
    children: int = 0
    message: str | None = None
    sms_opt_in: bool = strawberry.field(default=False, description="The SMS reminders box.")
    marketing_email_consent: bool = strawberry.field(default=False, description="The marketing email box.")
    create_account: bool = strawberry.field(
        default=False, description='The "create an account" box (when the company offers it).'
    )
    password: str | None = strawberry.field(
        default=None,
        description="The new account's password; without one, a link to choose it is mailed.",
    )


@strawberry.input(description="The contact form of the company's site (public, `X-Tenant`).")
class SubmitContactFormInput:
    name: str
    message: str
    email: str | None = None
    phone: str | None = None
    sms_opt_in: bool = False
    marketing_email_consent: bool = False
    property_id: strawberry.ID | None = strawberry.field(
        default=None, description="The property asked about, if the form names one."
    )
    check_in: date | None = strawberry.field(default=None, description="Not in the past.")
    check_out: date | None = strawberry.field(default=None, description="After checkIn; not in the past.")
    adults: int | None = strawberry.field(default=None, description="1 to 50.")
    children: int | None = strawberry.field(default=None, description="0 to 50.")


@strawberry.input(description="Staff record consent as the guest gave it; both flags can be set or cleared.")
class SetGuestConsentInput:
    guest_id: strawberry.ID
    sms_opt_in: bool | None = strawberry.UNSET
    marketing_email_consent: bool | None = strawberry.UNSET


@strawberry.input
class MergeGuestsInput:
    source_guest_id: strawberry.ID = strawberry.field(
        description="Merged away; its history moves to the target."
    )
    target_guest_id: strawberry.ID


@strawberry.input
class EraseGuestInput:
    guest_id: strawberry.ID
    reason: str


@strawberry.input
class RecordPaymentInput:
    booking_id: strawberry.ID
    amount: Decimal
    currency: str
    method: str
    status: PaymentStatus = PaymentStatus.PAID
    provider_reference: str | None = None
    paid_at: datetime | None = None


@strawberry.input
class CreateServiceRequestInput:
    booking_id: strawberry.ID
    service_id: strawberry.ID
    date: date
    people: int = 1
    notes: str | None = None
    price: Decimal | None = strawberry.field(
        default=None, description="Defaults to the catalogue price times the number of people."
    )


@strawberry.input
class GuestOrder:
    field: GuestOrderField = GuestOrderField.LAST_ACTIVITY_AT
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input(description="Narrows the customer list; every given condition must hold.")
class GuestFilter:
    property_id: strawberry.ID | None = strawberry.field(
        default=None, description="Stayed (or will stay) there."
    )
    has_upcoming_booking: bool | None = None
    sms_opt_in: bool | None = None
    marketing_email_consent: bool | None = None
    country: str | None = None


@strawberry.input
class SendMessageInput:
    guest_id: strawberry.ID
    booking_id: strawberry.ID | None = None
    channel: Channel | None = strawberry.field(
        default=None, description="Leave out to let routing choose (preference, WhatsApp, SMS, email)."
    )
    template_key: str | None = None
    subject: str | None = None
    body: str | None = None
    message_class: MessageClass = MessageClass.TRANSACTIONAL


@strawberry.input
class UpsertMessageTemplateInput:
    key: str
    language: str
    channel: Channel | None = strawberry.field(default=None, description="Null: any channel.")
    message_class: MessageClass | None = None
    subject: str | None = None
    body: str


@strawberry.input
class UpdateMessagingSettingsInput:
    """Leave a field out to keep it; send null to remove it (the global setting applies again)."""

    email_from: str | None = strawberry.UNSET
    sendgrid_api_key: str | None = strawberry.UNSET
    sendgrid_webhook_public_key: str | None = strawberry.UNSET
    twilio_account_sid: str | None = strawberry.UNSET
    twilio_auth_token: str | None = strawberry.UNSET
    sms_from: str | None = strawberry.UNSET
    whatsapp_from: str | None = strawberry.UNSET


@strawberry.input
class UpdateSettingsInput:
    default_language: str | None = strawberry.UNSET
    default_region: str | None = strawberry.UNSET
    default_currency: str | None = strawberry.UNSET
    portal_base_url: str | None = strawberry.UNSET
    portal_expiry_days_after_checkout: int | None = strawberry.UNSET
    check_in_instructions_days_before: int | None = strawberry.UNSET
    account_creation: AccountCreation | None = strawberry.UNSET
    allow_login_at_checkout: bool | None = strawberry.UNSET
    send_booking_confirmed: bool | None = strawberry.UNSET
    send_payment_receipt: bool | None = strawberry.UNSET
    send_pre_arrival: bool | None = strawberry.UNSET
    pre_arrival_days_before: int | None = strawberry.UNSET
    send_check_in_instructions: bool | None = strawberry.UNSET
    check_in_message_days_before: int | None = strawberry.UNSET
    send_post_stay: bool | None = strawberry.UNSET
    post_stay_days_after: int | None = strawberry.UNSET
    lifecycle_send_hour: int | None = strawberry.UNSET


# --- inquiries -------------------------------------------------------------------------------


@strawberry.input(
    description="An inquiry staff log (a call, a message taken elsewhere). Give `guestId` or `guest` "
    "(details: the existing guest is found, as for bookings, or a new one made)."
)
class CreateInquiryInput:
    source: InquirySource = strawberry.field(
        description="How the guest asked: PHONE, EMAIL, WHATSAPP, SMS or CONTACT_FORM."
    )
    guest_id: strawberry.ID | None = None
    guest: GuestDetailsInput | None = None
    property_id: strawberry.ID | None = None
    check_in: date | None = None
    check_out: date | None = None
    adults: int | None = None
    children: int | None = None
    message: str | None = strawberry.field(
        default=None, description="What the guest asked. Stored encrypted."
    )


@strawberry.input(description="Only the fields given change; `null` clears one.")
class UpdateInquiryInput:
    inquiry_id: strawberry.ID
    property_id: strawberry.ID | None = strawberry.UNSET
    check_in: date | None = strawberry.UNSET
    check_out: date | None = strawberry.UNSET
    adults: int | None = strawberry.UNSET
    children: int | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET


@strawberry.input(description="`staffUserId` null or absent: nobody.")
class AssignInquiryInput:
    inquiry_id: strawberry.ID
    staff_user_id: strawberry.ID | None = None


@strawberry.input
class MarkInquiryLostInput:
    inquiry_id: strawberry.ID
    reason: LostReason
    note: str | None = strawberry.field(default=None, description="Staff's own words. Stored encrypted.")


@strawberry.input
class ReopenInquiryInput:
    inquiry_id: strawberry.ID


@strawberry.input(description="`quoteId` absent: the primary quote; no quote at all: 0.00.")
class ConfirmInquiryInput:
    inquiry_id: strawberry.ID
    quote_id: strawberry.ID | None = None
