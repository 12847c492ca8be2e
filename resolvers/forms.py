"""The public forms of a company's site (`X-Tenant`): a booking request and a contact message.
They answer with a reference only, never with data, and are rate-limited per IP and per contact."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import TEXT_MAX
from hospes.models.tenant import (
    BookingSource,
    BookingStatus,
    Communication,
    CommunicationStatus,
    Direction,
    Guest,
)
from hospes.models.tenant import Channel as ChannelKind
from hospes.resolvers import accounts, bookings, ratelimit
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.intake import clean_details
from hospes.schema.errors import UserErrorCode
from hospes.schema.ids import encode_id
from hospes.schema.inputs import GuestDetailsInput, SubmitBookingFormInput, SubmitContactFormInput
from hospes.services import guests, intake
from hospes.services.accounts import checkout
from hospes.services.bookings import StayGuest, add_booking
from hospes.services.intake import GuestDetails
from hospes.services.properties import property_exists
from hospes.services.rejections import Problems, Rejection, rejected
from hospes.tenancy.company_settings import CompanySettings
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import MESSAGE_BODY, MESSAGE_SUBJECT
from hospes.tenancy.passwords import password_problem
from hospes.tenancy.principal import Principal


async def _limit(ctx: Context, *, form: str, keys: TenantKeys, details: GuestDetails | None) -> None:
    settings = ctx.resources.settings
    window = settings.form_limit_window_seconds
    ip = ratelimit.client_ip(ctx.request, trusted_hops=settings.trusted_proxy_hops)
    await ratelimit.hit(
        ctx, bucket=f"{form}:ip", subject=ip, limit=settings.form_limit_per_ip, window_seconds=window
    )
    if details is None:
        return
    # Keyed by the blind index: no contact data is ever written to Redis.
    contact = keys.blind_index(details.email, kind="email") or keys.blind_index(details.phone, kind="phone")
    if contact is not None:
        await ratelimit.hit(
            ctx,
            bucket=f"{form}:contact",
            subject=contact.hex()[:32],
            limit=settings.form_limit_per_contact,
            window_seconds=window,
        )


def _inbound(
    guest: Guest, keys: TenantKeys, *, subject: str, body: str, booking_id: uuid.UUID | None = None
) -> Communication:
    """The form's message as an inbound communication, its text encrypted."""
    communication = Communication(
        id=uuid.uuid4(),
        guest_id=guest.id,
        booking_id=booking_id,
        channel=ChannelKind.EMAIL.value,
        direction=Direction.IN.value,
        status=CommunicationStatus.DELIVERED.value,
    )
    MESSAGE_SUBJECT.write(communication, keys, subject)
    MESSAGE_BODY.write(communication, keys, body)
    return communication


async def submit_booking_form(ctx: Context, data: SubmitBookingFormInput) -> str | Rejection:
    """A booking request: the guest is found or created, consent from the two boxes is granted,
    and a booking in status INQUIRY (no price yet) is recorded.

    Sent with a guest account's session, the booking is the account's whatever names are typed;
    a typed person who is not the account holder becomes the stay guest. Sent publicly, the guest
    gets an account as the company's `accountCreation` says."""
    region = ctx.tenant.settings.get("default_region")
    problems = Problems()
    currency = CompanySettings.of(ctx.tenant).default_currency
    stay = bookings.clean_stay(
        ctx,
        problems,
        property_id=data.property_id,
        check_in=data.check_in,
        check_out=data.check_out,
        adults=data.adults,
        children=data.children,
        amount=Decimal("0.00"),
        currency=currency,
        stay_guest=None,
    )
    holder = await accounts.booking_holder(ctx)
    # A logged-in guest is known already: the typed person may be anyone, even without contact.
    details = clean_details(problems, data.guest, region=region, require_contact=holder is None)
    message = check.text(problems, "message", data.message, max_length=TEXT_MAX)
    opens_account = holder is None and accounts.form_opens_account(ctx, create_account=data.create_account)
    password = data.password or None
    if opens_account and password is not None:
        problem = password_problem(password)
        if problem is not None:
            problems.add("password", UserErrorCode.INVALID, problem)
    keys = await ctx.keys()
    await _limit(ctx, form="booking_form", keys=keys, details=details)
    if problems or stay is None or details is None:
        return problems.rejection()
    actor = ctx.principal
    account_deps = accounts.deps_of(ctx)

    async def work(session: AsyncSession) -> str | Rejection:
        if not await property_exists(session, stay.property_pk):
            return rejected("propertyId", UserErrorCode.NOT_FOUND, "Property not found.")
        booked = stay
        if holder is not None:
            guest = await session.get(Guest, holder[1].id, with_for_update=True, populate_existing=True)
            assert guest is not None
            if not intake.names_compatible(guest.name, details.name):
                booked = replace(
                    stay,
                    stay_guest=StayGuest(name=details.name, email=details.email, phone=details.phone),
                )
            intake.grant_consent(
                session,
                guest,
                sms_opt_in=data.sms_opt_in,
                marketing_email_consent=data.marketing_email_consent,
                source="booking_form",
                actor=actor,
            )
        else:
            guest = await _intake_guest(
                session,
                keys,
                details,
                actor=actor,
                source="booking_form",
                sms_opt_in=data.sms_opt_in,
                marketing_email_consent=data.marketing_email_consent,
            )
        booking = (
            await add_booking(
                session,
                keys=keys,
                guest=guest,
                stay=booked,
                status=BookingStatus.INQUIRY,
                source=BookingSource.BOOKING_FORM,
            )
        ).booking
        if message:
            session.add(_inbound(guest, keys, subject="Booking request", body=message, booking_id=booking.id))
        if opens_account and details.email is not None:
            await checkout.open_account(
                session, deps=account_deps, keys=keys, guest=guest, email=details.email, password=password
            )
        return encode_id("Booking", booking.id)

    return await ctx.write(work)


async def submit_contact_form(ctx: Context, data: SubmitContactFormInput) -> str | Rejection:
    """A message from the site's contact form, stored as an inbound communication of the guest."""
    problems = Problems()
    details = clean_details(
        problems,
        GuestDetailsInput(name=data.name, email=data.email, phone=data.phone),
        region=ctx.tenant.settings.get("default_region"),
        prefix="contact",
        require_contact=True,
    )
    message = check.text(problems, "message", data.message, max_length=TEXT_MAX, required=True)
    keys = await ctx.keys()
    await _limit(ctx, form="contact_form", keys=keys, details=details)
    if problems or details is None or message is None:
        return problems.rejection()
    actor = ctx.principal

    async def work(session: AsyncSession) -> str:
        guest = await _intake_guest(
            session,
            keys,
            details,
            actor=actor,
            source="contact_form",
            sms_opt_in=data.sms_opt_in,
            marketing_email_consent=data.marketing_email_consent,
        )
        communication = _inbound(guest, keys, subject="Contact form", body=message)
        session.add(communication)
        await session.flush()
        await guests.touch(session, guest.id)
        return encode_id("Communication", communication.id)

    return await ctx.write(work)


async def _intake_guest(
    session: AsyncSession,
    keys: TenantKeys,
    details: GuestDetails,
    *,
    actor: Principal | None,
    source: str,
    sms_opt_in: bool,
    marketing_email_consent: bool,
) -> Guest:
    guest, _ = await intake.find_or_create_guest(session, keys, details, actor=actor, source=source)
    intake.grant_consent(
        session,
        guest,
        sms_opt_in=sms_opt_in,
        marketing_email_consent=marketing_email_consent,
        source=source,
        actor=actor,
    )
    return guest
