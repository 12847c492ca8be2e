"""What the public forms of a company's site record: a booking request (a guest, an INQUIRY
booking, maybe an account) and a contact message (on an inquiry). The request's checks and rate
limits stay in the API; these run in the caller's transaction and never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import (
    Booking,
    BookingSource,
    BookingStatus,
    Channel,
    Communication,
    CommunicationStatus,
    Direction,
    Guest,
    InquirySource,
)
from hospes.services import guests, intake
from hospes.services.accounts import checkout
from hospes.services.accounts.deps import AccountDeps
from hospes.services.bookings import Stay, StayGuest, add_booking
from hospes.services.inquiries.core import Request
from hospes.services.inquiries.intake import fill_blanks, join_or_open
from hospes.services.intake import GuestDetails
from hospes.services.properties import property_exists
from hospes.services.rejections import Rejection, UserErrorCode, rejected
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import MESSAGE_BODY, MESSAGE_SUBJECT
from hospes.tenancy.principal import Principal


@dataclass(frozen=True)
class Consent:
    """The form's two boxes: a checked box grants, an unchecked one never withdraws."""

    sms_opt_in: bool
    marketing_email_consent: bool


@dataclass(frozen=True)
class AccountRequest:
    """A guest account the booking form opens (see `checkout.open_account`)."""

    deps: AccountDeps
    email: str
    password: str | None


async def record_booking_request(
    session: AsyncSession,
    *,
    keys: TenantKeys,
    actor: Principal | None,
    stay: Stay,
    details: GuestDetails,
    consent: Consent,
    holder_id: uuid.UUID | None,
    message: str | None,
    account: AccountRequest | None,
) -> Booking | Rejection:
    """A booking in status INQUIRY for the form's guest, the message beside it, and the account
    asked for. With `holder_id` (a logged-in guest account) the booking is the holder's whatever
    names were typed; a typed person who is not the holder becomes the stay guest."""
    if not await property_exists(session, stay.property_pk):
        return rejected("propertyId", UserErrorCode.NOT_FOUND, "Property not found.")
    if holder_id is not None:
        guest = await session.get(Guest, holder_id, with_for_update=True, populate_existing=True)
        assert guest is not None  # the holder's account was read in this request
        if not intake.names_compatible(guest.name, details.name):
            stay = replace(
                stay, stay_guest=StayGuest(name=details.name, email=details.email, phone=details.phone)
            )
        _grant(session, guest, consent, actor=actor, source="booking_form")
    else:
        guest = await _intake_guest(session, keys, details, consent, actor=actor, source="booking_form")
    added = await add_booking(
        session,
        keys=keys,
        guest=guest,
        stay=stay,
        status=BookingStatus.INQUIRY,
        source=BookingSource.BOOKING_FORM,
    )
    if message:
        session.add(
            _inbound(guest, keys, subject="Booking request", body=message, booking_id=added.booking.id)
        )
    if account is not None:
        await checkout.open_account(
            session, deps=account.deps, keys=keys, guest=guest, email=account.email, password=account.password
        )
    return added.booking


async def record_contact_message(
    session: AsyncSession,
    *,
    keys: TenantKeys,
    actor: Principal | None,
    details: GuestDetails,
    consent: Consent,
    request: Request,
) -> Communication | Rejection:
    """The contact form's message (`request.message`) as an inbound communication of its (found or
    new) guest, on an inquiry (source CONTACT_FORM): it joins the guest's open inquiry, filling only
    what that inquiry does not know yet (`fill_blanks`), or opens a new one with the form's
    property, dates and party."""
    if request.property_id is not None and not await property_exists(session, request.property_id):
        return rejected("propertyId", UserErrorCode.NOT_FOUND, "Property not found.")
    guest = await _intake_guest(session, keys, details, consent, actor=actor, source="contact_form")
    communication = _inbound(guest, keys, subject="Contact form", body=request.message or "")
    session.add(communication)
    await session.flush()
    await guests.touch(session, guest.id)
    inquiry, opened = await join_or_open(
        session,
        keys=keys,
        guest=guest,
        communication=communication,
        source=InquirySource.CONTACT_FORM,
        request=request,
    )
    if not opened:
        fill_blanks(session, inquiry, request)
    return communication


async def _intake_guest(
    session: AsyncSession,
    keys: TenantKeys,
    details: GuestDetails,
    consent: Consent,
    *,
    actor: Principal | None,
    source: str,
) -> Guest:
    guest, _ = await intake.find_or_create_guest(session, keys, details, actor=actor, source=source)
    _grant(session, guest, consent, actor=actor, source=source)
    return guest


def _grant(
    session: AsyncSession, guest: Guest, consent: Consent, *, actor: Principal | None, source: str
) -> None:
    intake.grant_consent(
        session,
        guest,
        sms_opt_in=consent.sms_opt_in,
        marketing_email_consent=consent.marketing_email_consent,
        source=source,
        actor=actor,
    )


def _inbound(
    guest: Guest, keys: TenantKeys, *, subject: str, body: str, booking_id: uuid.UUID | None = None
) -> Communication:
    """A form's message as an inbound communication, its text encrypted."""
    communication = Communication(
        id=uuid.uuid4(),
        guest_id=guest.id,
        booking_id=booking_id,
        channel=Channel.EMAIL.value,
        direction=Direction.IN.value,
        status=CommunicationStatus.DELIVERED.value,
    )
    MESSAGE_SUBJECT.write(communication, keys, subject)
    MESSAGE_BODY.write(communication, keys, body)
    return communication
