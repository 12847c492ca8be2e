"""The guest portal. Staff rotate or revoke a booking's link (`tenancy/portal_links.py` issues
them); the link shows that one booking (never the guest record) and lets the guest request trip
services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import strawberry

from hospes.models.columns import zone_of
from hospes.models.tenant import (
    Booking,
    BookingStatus,
    Payment,
    PaymentStatus,
    Property,
    Service,
    ServiceRequest,
)
from hospes.resolvers import catalogue
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.loaders import existing
from hospes.schema.errors import UserErrorCode, unauthenticated
from hospes.schema.ids import encode_id
from hospes.schema.inputs import CreateServiceRequestInput
from hospes.services import catalogue as services_catalogue
from hospes.services import portal
from hospes.services.rejections import Problems, Rejection, rejected
from hospes.tenancy.credentials import INVALID_LINK
from hospes.tenancy.encrypted_columns import CHECK_IN_INSTRUCTIONS
from hospes.tenancy.portal_links import PortalLink
from hospes.tenancy.principal import PrincipalKind
from hospes.tenancy.tenant_settings import TenantSettings

# The catalogue a guest sees is a company's short list; the cap only bounds a pathological one.
MAX_PORTAL_SERVICES = 200


def local_today(timezone: str) -> date:
    return datetime.now(zone_of(timezone)).date()


# Staff: rotate and revoke.


async def issue_portal_link(ctx: Context, *, booking_id: str) -> PortalLink | Rejection:
    """A new link for the booking; its earlier links stop working at once."""
    problems = Problems()
    pk = check.object_id(problems, "bookingId", "Booking", booking_id)
    if problems or pk is None:
        return problems.rejection()
    actor = ctx.principal
    return await ctx.write(lambda session: portal.issue_portal_link(session, booking_id=pk, actor=actor))


async def revoke_portal_link(ctx: Context, *, booking_id: str) -> Booking | Rejection:
    """End every link of the booking; staff may issue a new one later."""
    problems = Problems()
    pk = check.object_id(problems, "bookingId", "Booking", booking_id)
    if problems or pk is None:
        return problems.rejection()
    actor = ctx.principal
    return await ctx.write(lambda session: portal.revoke_portal_link(session, booking_id=pk, actor=actor))


# The guest, holding a link.


async def portal_booking(ctx: Context) -> Booking:
    """The link's booking. A cancelled (or vanished) booking answers like a dead link: cancelling
    revokes, so this is only a second line of defence."""
    principal = ctx.require(PrincipalKind.PORTAL)
    booking = await ctx.loaders.booking.load(principal.subject_id) if principal.subject_id else None
    if booking is None or booking.status == BookingStatus.CANCELLED.value:
        raise unauthenticated(INVALID_LINK)
    return booking


async def check_in_instructions(ctx: Context, booking: Booking, place: Property) -> str | None:
    """The property's instructions, from `check_in_instructions_days_before` days before arrival
    (counted in the property's own time zone); None before that (and then never decrypted)."""
    days_before = TenantSettings.of(ctx.tenant).check_in_instructions_days_before
    if local_today(place.timezone) < booking.check_in - timedelta(days=days_before):
        return None
    return await ctx.decrypt(CHECK_IN_INSTRUCTIONS, place)


def amount_paid(payments: list[Payment]) -> Decimal:
    """Sum of the paid payments (pending, failed and refunded ones do not count)."""
    return sum((row.amount for row in payments if row.status == PaymentStatus.PAID.value), Decimal("0.00"))


async def active_services(ctx: Context) -> list[Service]:
    rows = await ctx.scalars(services_catalogue.active_services_query(limit=MAX_PORTAL_SERVICES))
    return list(rows)


async def guest_first_name(ctx: Context, booking: Booking) -> str | None:
    """The first word of the stay guest's name when someone booked for them (they are the one at
    the property), else of the booker's; None once the guest was erased."""
    name = booking.stay_guest_name
    if not name:
        guest = await existing(ctx.loaders.guest, booking.guest_id)
        name = guest.name if guest.erased_at is None else None
    words = name.split() if name else []
    return words[0] if words else None


async def request_service(
    ctx: Context, *, service_id: str, day: date, people: int, notes: str | None
) -> ServiceRequest | Rejection:
    """A service request on the link's booking, validated and priced as staff requests are (the
    guest never sets a price); the date must also not have passed at the property."""
    booking = await portal_booking(ctx)
    place = await existing(ctx.loaders.property, booking.property_id)
    if day < local_today(place.timezone):
        return rejected("date", UserErrorCode.OUT_OF_RANGE, "The date has passed.")
    return await catalogue.create_service_request(
        ctx,
        CreateServiceRequestInput(
            booking_id=strawberry.ID(encode_id("Booking", booking.id)),
            service_id=strawberry.ID(service_id),
            date=day,
            people=people,
            notes=notes,
        ),
    )
