"""Guest records: the bookkeeping every guest-touching write shares."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Booking, BookingStatus, Guest


async def touch(session: AsyncSession, guest_id: uuid.UUID) -> None:
    """Mark activity on a guest record (bookings, payments, messages, service requests)."""
    await session.execute(
        sa.update(Guest).where(col(Guest.id) == guest_id).values(last_activity_at=sa.func.now())
    )


async def refresh_booking_count(session: AsyncSession, guest_id: uuid.UUID) -> None:
    """Recount a guest's non-cancelled bookings (the customer list sorts by it)."""
    live = (
        sa.select(sa.func.count())
        .where(col(Booking.guest_id) == guest_id, col(Booking.status) != BookingStatus.CANCELLED.value)
        .scalar_subquery()
    )
    await session.execute(sa.update(Guest).where(col(Guest.id) == guest_id).values(booking_count=live))
