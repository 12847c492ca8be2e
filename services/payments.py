"""Payments recorded against bookings."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import utcnow
from hospes.models.tenant import Booking, Payment, PaymentStatus
from hospes.notifications import lifecycle
from hospes.services import guests
from hospes.services.caller import Caller
from hospes.services.rejections import Rejection, UserErrorCode, rejected
from hospes.tenancy.encrypted_columns import PAYMENT_REFERENCE


async def record_payment(
    session: AsyncSession,
    *,
    caller: Caller,
    booking_id: uuid.UUID,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str | None,
    status: PaymentStatus,
    paid_at: datetime | None,
) -> Payment | Rejection:
    """A payment on the booking, in the booking's currency; a paid one sends its receipt."""
    booking = await session.get(Booking, booking_id)
    if booking is None:
        return rejected("bookingId", UserErrorCode.NOT_FOUND, "Booking not found.")
    if currency != booking.currency:
        return rejected("currency", UserErrorCode.CURRENCY_MISMATCH, f"The booking is in {booking.currency}.")
    paid = status is PaymentStatus.PAID
    payment = Payment(
        booking_id=booking.id,
        amount=amount,
        currency=currency,
        method=method,
        status=status.value,
        paid_at=(paid_at or utcnow()) if paid else paid_at,
    )
    keys = await caller.keys(session)
    PAYMENT_REFERENCE.write(payment, keys, reference)
    session.add(payment)
    await session.flush()
    await guests.touch(session, booking.guest_id)
    if paid:
        await lifecycle.payment_recorded(
            session,
            tenant=caller.tenant,
            keys=keys,
            booking=booking,
            payment=payment,
            lease_seconds=caller.outbox_lease_seconds,
        )
    return payment
