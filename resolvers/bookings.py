"""Bookings: lookup, manual entry by staff, OTA import and cancellation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hospes.models.columns import SHORT_MAX, TEXT_MAX
from hospes.models.tenant import Booking
from hospes.resolvers import validation as check
from hospes.resolvers.caller import caller_of
from hospes.resolvers.context import Context
from hospes.resolvers.intake import clean_details, guest_or_details
from hospes.schema.errors import not_found
from hospes.schema.ids import decode_id
from hospes.schema.inputs import CancelBookingInput, CreateBookingInput, ImportOtaBookingInput, StayGuestInput
from hospes.services import bookings
from hospes.services.bookings import BookingWithLink, Stay, StayGuest
from hospes.services.rejections import Problems, Rejection


async def booking_by_id(ctx: Context, booking_id: str) -> Booking:
    pk = decode_id("Booking", booking_id)
    row = await ctx.loaders.booking.load(pk) if pk is not None else None
    if row is None:
        raise not_found("Booking")
    return row


def clean_stay(
    ctx: Context,
    problems: Problems,
    *,
    property_id: str,
    check_in: date,
    check_out: date,
    adults: int,
    children: int,
    amount: Decimal,
    currency: str,
    stay_guest: StayGuestInput | None,
) -> Stay | None:
    """The stay an input describes, or None with the reasons in `problems`."""
    return bookings.clean_stay(
        problems,
        property_pk=check.object_id(problems, "propertyId", "Property", property_id),
        check_in=check_in,
        check_out=check_out,
        adults=adults,
        children=children,
        amount=amount,
        currency=currency,
        stay_guest=(
            StayGuest(name=stay_guest.name, email=stay_guest.email, phone=stay_guest.phone)
            if stay_guest is not None
            else None
        ),
        region=ctx.tenant.settings.get("default_region"),
    )


def _stay_of(
    ctx: Context, problems: Problems, data: CreateBookingInput | ImportOtaBookingInput
) -> Stay | None:
    """The stay of a staff-entered or channel booking (their inputs share the stay's fields)."""
    return clean_stay(
        ctx,
        problems,
        property_id=data.property_id,
        check_in=data.check_in,
        check_out=data.check_out,
        adults=data.adults,
        children=data.children,
        amount=data.amount,
        currency=data.currency,
        stay_guest=data.stay_guest,
    )


async def create_booking(ctx: Context, data: CreateBookingInput) -> BookingWithLink | Rejection:
    """Manual entry by staff, for a known guest (`guestId`) or a person found or created by details."""
    problems = Problems()
    stay = _stay_of(ctx, problems, data)
    guest_pk, details = guest_or_details(
        problems, data.guest_id, data.guest, region=ctx.tenant.settings.get("default_region")
    )
    if problems or stay is None:
        return problems.rejection()
    keys = await ctx.keys()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: bookings.create_booking(
            session, caller=caller, keys=keys, stay=stay, guest_id=guest_pk, details=details
        )
    )


async def import_ota_booking(
    ctx: Context, data: ImportOtaBookingInput
) -> tuple[BookingWithLink, bool] | Rejection:
    """Create or update a channel booking (see `services.bookings.import_ota_booking`)."""
    problems = Problems()
    channel = check.text(problems, "channel", data.channel, max_length=SHORT_MAX, required=True)
    external_id = check.text(problems, "externalId", data.external_id, max_length=SHORT_MAX, required=True)
    stay = _stay_of(ctx, problems, data)
    details = clean_details(problems, data.guest, region=ctx.tenant.settings.get("default_region"))
    if problems or stay is None or details is None or channel is None or external_id is None:
        return problems.rejection()
    keys = await ctx.keys()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: bookings.import_ota_booking(
            session,
            caller=caller,
            keys=keys,
            channel=channel.lower(),
            external_id=external_id,
            stay=stay,
            details=details,
            status=data.status,
        )
    )


async def cancel_booking(ctx: Context, data: CancelBookingInput) -> Booking | Rejection:
    """Cancel a booking; the guest record and everything else stays, the booking keeps its history."""
    problems = Problems()
    pk = check.object_id(problems, "bookingId", "Booking", data.booking_id)
    reason = check.text(problems, "reason", data.reason, max_length=TEXT_MAX)
    if problems or pk is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: bookings.cancel_booking(session, caller=caller, booking_id=pk, reason=reason)
    )
