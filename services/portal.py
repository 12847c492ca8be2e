"""Portal links as staff manage them: rotate (a new link; the earlier ones stop working at once)
and revoke. Issuing itself is `tenancy/portal_links.py`, which bookings and the lifecycle actor use."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import Booking, BookingStatus
from hospes.services import audit
from hospes.services.rejections import Rejection, UserErrorCode, rejected
from hospes.tenancy.portal_links import PortalLink, issue_link, revoke_links
from hospes.tenancy.principal import Principal


async def issue_portal_link(
    session: AsyncSession, *, booking_id: uuid.UUID, actor: Principal | None
) -> PortalLink | Rejection:
    """A new link for the booking, audited; its earlier links are revoked in the same transaction."""
    # The row lock serialises concurrent rotations, so one live link remains.
    booking = await session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if booking is None:
        return rejected("bookingId", UserErrorCode.NOT_FOUND, "Booking not found.")
    if booking.status == BookingStatus.CANCELLED.value:
        return rejected("bookingId", UserErrorCode.INVALID_STATE, "The booking is cancelled.")
    await revoke_links(session, booking.id)
    link = await issue_link(session, booking)
    if link is None:
        return rejected(
            "bookingId", UserErrorCode.INVALID_STATE, "The stay ended too long ago for a portal link."
        )
    audit.record(session, actor=actor, action="portal_link.issued", entity="booking", entity_id=booking.id)
    return link


async def revoke_portal_link(
    session: AsyncSession, *, booking_id: uuid.UUID, actor: Principal | None
) -> Booking | Rejection:
    """End every live link of the booking (audited when there was one); the booking, for the payload."""
    booking = await session.get(Booking, booking_id, with_for_update=True)
    if booking is None:
        return rejected("bookingId", UserErrorCode.NOT_FOUND, "Booking not found.")
    if await revoke_links(session, booking.id):
        audit.record(
            session, actor=actor, action="portal_link.revoked", entity="booking", entity_id=booking.id
        )
    return booking
