"""The trip-services catalogue and the guests' service requests (asked for by staff or, through the
portal, by the guest): the rules and the SQL."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Booking, BookingStatus, Service, ServiceRequest
from hospes.services import guests
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy.encrypted_columns import SERVICE_REQUEST_NOTES
from hospes.tenancy.keyring import Keyring

# The list's order, for the API's keyset pagination: by name regardless of case, then id.
LIST_ORDER = (sa.func.lower(Service.name), Service.id)


def _listed(active_only: bool) -> sa.ColumnElement[bool]:
    return Service.active.is_(True) if active_only else sa.true()  # type: ignore[attr-defined]


def list_query(*, active_only: bool) -> sa.Select[Any]:
    return sa.select(Service).where(_listed(active_only))


def count_query(*, active_only: bool) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(Service).where(_listed(active_only))


def active_services_query(*, limit: int) -> sa.Select[Any]:
    """What the portal offers: the active services by name, at most `limit` of them."""
    return (
        sa.select(Service)
        .where(col(Service.active).is_(True))
        .order_by(sa.func.lower(col(Service.name)), col(Service.id))
        .limit(limit)
    )


async def create_service(
    session: AsyncSession, *, name: str, description: str | None, price: Decimal, currency: str, active: bool
) -> Service:
    row = Service(name=name, description=description, price=price, currency=currency, active=active)
    session.add(row)
    await session.flush()
    return row


async def create_service_request(
    session: AsyncSession,
    *,
    keyring: Keyring,
    schema_name: str,
    booking_id: uuid.UUID,
    service_id: uuid.UUID,
    day: date,
    people: int,
    notes: str | None,
    price: Decimal | None,
) -> ServiceRequest | Rejection:
    """A request for an offered service within a booking's stay, priced per person unless `price`
    is given; the guest record is touched."""
    booking = await session.get(Booking, booking_id)
    service = await session.get(Service, service_id)
    found = Problems()
    if booking is None:
        found.add("bookingId", UserErrorCode.NOT_FOUND, "Booking not found.")
    if service is None:
        found.add("serviceId", UserErrorCode.NOT_FOUND, "Service not found.")
    if found or booking is None or service is None:
        return found.rejection()
    if not service.active:
        return rejected("serviceId", UserErrorCode.INVALID_STATE, "This service is not offered any more.")
    if booking.status == BookingStatus.CANCELLED.value:
        return rejected("bookingId", UserErrorCode.INVALID_STATE, "The booking is cancelled.")
    if not booking.check_in <= day <= booking.check_out:
        return rejected("date", UserErrorCode.OUT_OF_RANGE, "The date must fall within the stay.")
    row = ServiceRequest(
        guest_id=booking.guest_id,
        booking_id=booking.id,
        service_id=service.id,
        service_date=day,
        people=people,
        price=price if price is not None else service.price * people,
        currency=service.currency,
    )
    SERVICE_REQUEST_NOTES.write(row, await keyring.keys(session, schema_name), notes)
    session.add(row)
    await session.flush()
    await guests.touch(session, booking.guest_id)
    return row
