"""Bookings: lookup and manual entry by staff."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from models.columns import NAME_MAX
from models.tenant import Booking, BookingSource, BookingStatus, Guest, Property
from resolvers import guests
from resolvers import validation as check
from resolvers.context import Context
from resolvers.validation import Problems, Rejection
from schema.errors import UserErrorCode, not_found
from schema.ids import decode_id
from schema.inputs import CreateBookingInput, StayGuestInput

MAX_PARTY = 50


async def booking_by_id(ctx: Context, booking_id: str) -> Booking:
    pk = decode_id("Booking", booking_id)
    row = await ctx.loaders.booking.load(pk) if pk is not None else None
    if row is None:
        raise not_found("Booking")
    return row


@dataclass(frozen=True)
class _StayGuest:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class _NewBooking:
    property_pk: uuid.UUID
    guest_pk: uuid.UUID
    adults: int
    children: int
    amount: Decimal
    currency: str
    stay_guest: _StayGuest


def _stay_guest(ctx: Context, problems: Problems, stay: StayGuestInput | None) -> _StayGuest:
    if stay is None:
        return _StayGuest()
    region = ctx.tenant.settings.get("default_region")
    return _StayGuest(
        name=check.text(problems, "stayGuest.name", stay.name, max_length=NAME_MAX, required=True),
        email=check.email(problems, "stayGuest.email", stay.email),
        phone=check.phone(problems, "stayGuest.phone", stay.phone, region=region),
    )


def _validated(ctx: Context, data: CreateBookingInput) -> _NewBooking | Rejection:
    problems = Problems()
    property_pk = check.object_id(problems, "propertyId", "Property", data.property_id)
    guest_pk = check.object_id(problems, "guestId", "Guest", data.guest_id)
    check.stay_dates(problems, data.check_in, data.check_out)
    adults = check.count(problems, "adults", data.adults, minimum=1, maximum=MAX_PARTY)
    children = check.count(problems, "children", data.children, minimum=0, maximum=MAX_PARTY)
    amount = check.amount(problems, "amount", data.amount)
    currency = check.currency(problems, "currency", data.currency)
    stay_guest = _stay_guest(ctx, problems, data.stay_guest)
    if (
        problems
        or property_pk is None
        or guest_pk is None
        or adults is None
        or children is None
        or amount is None
        or currency is None
    ):
        return problems.rejection()
    return _NewBooking(property_pk, guest_pk, adults, children, amount, currency, stay_guest)


async def create_booking(ctx: Context, data: CreateBookingInput) -> Booking | Rejection:
    new = _validated(ctx, data)
    if isinstance(new, Rejection):
        return new

    async def work(session: AsyncSession) -> Booking | Rejection:
        found = Problems()
        if await session.get(Property, new.property_pk) is None:
            found.add("propertyId", UserErrorCode.NOT_FOUND, "Property not found.")
        guest = await session.get(Guest, new.guest_pk)
        if guest is None:
            found.add("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
        elif guest.erased_at is not None:
            found.add("guestId", UserErrorCode.INVALID_STATE, "This guest was erased.")
        if found:
            return found.rejection()
        principal = ctx.principal
        booking = Booking(
            property_id=new.property_pk,
            guest_id=new.guest_pk,
            check_in=data.check_in,
            check_out=data.check_out,
            adults=new.adults,
            children=new.children,
            amount=new.amount,
            currency=new.currency,
            status=BookingStatus.CONFIRMED.value,
            source=BookingSource.MANUAL.value,
            created_by_staff_id=principal.subject_id if principal else None,
            stay_guest_name=new.stay_guest.name,
            stay_guest_email=new.stay_guest.email,
            stay_guest_phone=new.stay_guest.phone,
        )
        session.add(booking)
        await session.flush()
        await guests.touch(session, new.guest_pk)
        return booking

    return await ctx.write(work)
