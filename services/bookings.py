"""Bookings: the rules of a stay, manual entry by staff, OTA import and cancellation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import NAME_MAX, utcnow
from hospes.models.tenant import Booking, BookingSource, BookingStatus, Guest
from hospes.notifications import lifecycle
from hospes.services import audit, guest_fields, guests, intake
from hospes.services import validation as check
from hospes.services.caller import Caller
from hospes.services.intake import GuestDetails
from hospes.services.properties import property_exists
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy import portal_links
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import CANCEL_REASON
from hospes.tenancy.principal import PrincipalKind

MAX_PARTY = 50
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


@dataclass(frozen=True)
class StayGuest:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Stay:
    """The validated facts of a booking, whatever path it came by."""

    property_pk: uuid.UUID
    check_in: date
    check_out: date
    adults: int
    children: int
    amount: Decimal
    currency: str
    stay_guest: StayGuest


def _stay_guest(problems: Problems, stay: StayGuest | None, *, region: str | None) -> StayGuest:
    if stay is None:
        return StayGuest()
    return StayGuest(
        name=check.text(problems, "stayGuest.name", stay.name, max_length=NAME_MAX, required=True),
        email=check.email(problems, "stayGuest.email", stay.email),
        phone=check.phone(problems, "stayGuest.phone", stay.phone, region=region),
    )


def clean_stay(
    problems: Problems,
    *,
    property_pk: uuid.UUID | None,
    check_in: date,
    check_out: date,
    adults: int,
    children: int,
    amount: Decimal,
    currency: str,
    stay_guest: StayGuest | None,
    region: str | None,
) -> Stay | None:
    """The stay, or None with the reasons in `problems` (`property_pk` None: its id was refused)."""
    check.stay_dates(problems, check_in, check_out)
    clean_adults = check.count(problems, "adults", adults, minimum=1, maximum=MAX_PARTY)
    clean_children = check.count(problems, "children", children, minimum=0, maximum=MAX_PARTY)
    clean_amount = check.amount(problems, "amount", amount)
    clean_currency = check.currency(problems, "currency", currency)
    stay = _stay_guest(problems, stay_guest, region=region)
    if (
        property_pk is None
        or clean_adults is None
        or clean_children is None
        or clean_amount is None
        or clean_currency is None
    ):
        return None
    return Stay(
        property_pk, check_in, check_out, clean_adults, clean_children, clean_amount, clean_currency, stay
    )


@dataclass(frozen=True)
class BookingWithLink:
    """A booking just added, with its portal link (None when it was created cancelled or its
    portal period is already over)."""

    booking: Booking
    link: portal_links.PortalLink | None


async def add_booking(
    session: AsyncSession,
    *,
    keys: TenantKeys,
    guest: Guest,
    stay: Stay,
    status: BookingStatus,
    source: BookingSource,
    staff_id: uuid.UUID | None = None,
    channel: str | None = None,
    external_id: str | None = None,
) -> BookingWithLink:
    """Add a booking for `guest`, keep the guest's counters and activity current, and issue the
    booking's portal link in the same transaction (every intake path comes through here)."""
    booking = Booking(
        id=uuid.uuid4(),
        property_id=stay.property_pk,
        guest_id=guest.id,
        check_in=stay.check_in,
        check_out=stay.check_out,
        adults=stay.adults,
        children=stay.children,
        amount=stay.amount,
        currency=stay.currency,
        status=status.value,
        source=source.value,
        channel=channel,
        external_id=external_id,
        created_by_staff_id=staff_id,
        cancelled_at=utcnow() if status is BookingStatus.CANCELLED else None,
    )
    guest_fields.set_stay_guest(
        booking, keys, name=stay.stay_guest.name, email=stay.stay_guest.email, phone=stay.stay_guest.phone
    )
    session.add(booking)
    await session.flush()
    await guests.refresh_booking_count(session, guest.id)
    await guests.touch(session, guest.id)
    link = await portal_links.issue_link(session, booking) if status is not BookingStatus.CANCELLED else None
    return BookingWithLink(booking, link)


async def create_booking(
    session: AsyncSession,
    *,
    caller: Caller,
    keys: TenantKeys,
    stay: Stay,
    guest_id: uuid.UUID | None,
    details: GuestDetails | None,
) -> BookingWithLink | Rejection:
    """Manual entry by staff, for a known guest (`guest_id`) or a person found or created by details."""
    found = Problems()
    if not await property_exists(session, stay.property_pk):
        found.add("propertyId", UserErrorCode.NOT_FOUND, "Property not found.")
    guest = await intake.known_guest(session, found, guest_id)
    if found:
        return found.rejection()
    actor = caller.actor
    if details is not None:
        guest, _ = await intake.find_or_create_guest(session, keys, details, actor=actor, source="manual")
    assert guest is not None
    return await book_confirmed(
        session, caller=caller, keys=keys, guest=guest, stay=stay, source=BookingSource.MANUAL
    )


async def book_confirmed(
    session: AsyncSession,
    *,
    caller: Caller,
    keys: TenantKeys,
    guest: Guest,
    stay: Stay,
    source: BookingSource,
) -> BookingWithLink:
    """A confirmed booking staff made (by hand, or by confirming an inquiry), with its
    confirmation message and lifecycle schedule."""
    actor = caller.actor
    # A partner's key is no staff user: the booking then names no creator.
    by_staff = actor is not None and actor.kind is PrincipalKind.STAFF
    added = await add_booking(
        session,
        keys=keys,
        guest=guest,
        stay=stay,
        status=BookingStatus.CONFIRMED,
        source=source,
        staff_id=actor.subject_id if actor is not None and by_staff else None,
    )
    await _confirmed(session, caller, keys, added)
    return added


async def _confirmed(session: AsyncSession, caller: Caller, keys: TenantKeys, added: BookingWithLink) -> None:
    """A booking that is (now) confirmed: its confirmation message and lifecycle schedule."""
    guest = await session.get(Guest, added.booking.guest_id)
    assert guest is not None
    await lifecycle.booking_confirmed(
        session,
        tenant=caller.tenant,
        keys=keys,
        booking=added.booking,
        guest=guest,
        portal_link=added.link.url if added.link else None,
        lease_seconds=caller.outbox_lease_seconds,
    )


async def import_ota_booking(
    session: AsyncSession,
    *,
    caller: Caller,
    keys: TenantKeys,
    channel: str,
    external_id: str,
    stay: Stay,
    details: GuestDetails,
    status: BookingStatus,
) -> tuple[BookingWithLink, bool] | Rejection:
    """Create or update a channel booking; True when it was created. Re-imports update dates,
    party, amount and status in place; status CANCELLED cancels. The booking keeps its guest: a
    re-import naming a different email is refused rather than silently moving the booking or
    rewriting the guest."""
    await session.execute(_LOCK, {"key": f"ota:{channel}:{external_id}"})
    if not await property_exists(session, stay.property_pk):
        return rejected("propertyId", UserErrorCode.NOT_FOUND, "Property not found.")
    existing = await session.scalar(
        sa.select(Booking)
        .where(col(Booking.channel) == channel, col(Booking.external_id) == external_id)
        .with_for_update()
    )
    if existing is None:
        guest, _ = await intake.find_or_create_guest(
            session, keys, details, actor=caller.actor, source=f"ota:{channel}"
        )
        added = await add_booking(
            session,
            keys=keys,
            guest=guest,
            stay=stay,
            status=status,
            source=BookingSource.OTA,
            channel=channel,
            external_id=external_id,
        )
        if status is BookingStatus.CONFIRMED:
            await _confirmed(session, caller, keys, added)
        return added, True
    owner = await session.get(Guest, existing.guest_id)
    assert owner is not None
    known_email = guest_fields.email_of(owner, await caller.keys(session, owner.email_enc))
    if details.email is not None and known_email is not None and details.email != known_email:
        return rejected(
            "guest.email",
            UserErrorCode.CONFLICT,
            "This booking belongs to a guest with another email; change the guest record instead.",
        )
    was_confirmed = existing.status == BookingStatus.CONFIRMED.value
    _update_stay(existing, keys, stay=stay, status=status)
    await session.flush()
    if status is BookingStatus.CANCELLED:
        await portal_links.revoke_links(session, existing.id)
    await guests.refresh_booking_count(session, existing.guest_id)
    await guests.touch(session, existing.guest_id)
    updated = BookingWithLink(existing, None)
    if status is BookingStatus.CONFIRMED and not was_confirmed:
        updated = BookingWithLink(existing, await portal_links.issue_link(session, existing))
        await _confirmed(session, caller, keys, updated)
    else:  # new dates move the schedule; a cancellation cancels it
        await lifecycle.schedule(
            session, tenant=caller.tenant, booking=existing, lease_seconds=caller.outbox_lease_seconds
        )
    return updated, False


def _update_stay(booking: Booking, keys: TenantKeys, *, stay: Stay, status: BookingStatus) -> None:
    booking.property_id = stay.property_pk
    booking.check_in = stay.check_in
    booking.check_out = stay.check_out
    booking.adults = stay.adults
    booking.children = stay.children
    booking.amount = stay.amount
    booking.currency = stay.currency
    if stay.stay_guest.name is not None:
        guest_fields.set_stay_guest(
            booking, keys, name=stay.stay_guest.name, email=stay.stay_guest.email, phone=stay.stay_guest.phone
        )
    if status is BookingStatus.CANCELLED and booking.status != BookingStatus.CANCELLED.value:
        booking.cancelled_at = utcnow()
    elif status is not BookingStatus.CANCELLED:
        booking.cancelled_at = None
    booking.status = status.value


async def cancel_booking(
    session: AsyncSession, *, caller: Caller, booking_id: uuid.UUID, reason: str | None
) -> Booking | Rejection:
    """Cancel a booking; the guest record and everything else stays, the booking keeps its history."""
    booking = await session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if booking is None:
        return rejected("bookingId", UserErrorCode.NOT_FOUND, "Booking not found.")
    if booking.status == BookingStatus.CANCELLED.value:
        return rejected("bookingId", UserErrorCode.INVALID_STATE, "The booking is already cancelled.")
    booking.status = BookingStatus.CANCELLED.value
    booking.cancelled_at = utcnow()
    CANCEL_REASON.write(booking, await caller.keys(session), reason)
    await session.flush()
    await portal_links.revoke_links(session, booking.id)
    await guests.refresh_booking_count(session, booking.guest_id)
    await lifecycle.schedule(
        session, tenant=caller.tenant, booking=booking, lease_seconds=caller.outbox_lease_seconds
    )
    audit.record(
        session, actor=caller.actor, action="booking.cancelled", entity="booking", entity_id=booking.id
    )
    return booking
