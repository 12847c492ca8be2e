"""Payments recorded against bookings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import SHORT_MAX, utcnow
from hospes.models.tenant import Booking, Payment, PaymentStatus
from hospes.notifications import lifecycle
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.schema.errors import UserErrorCode
from hospes.schema.inputs import RecordPaymentInput
from hospes.services import guests
from hospes.services.rejections import Problems, Rejection, rejected
from hospes.tenancy.encrypted_columns import PAYMENT_REFERENCE


async def record_payment(ctx: Context, data: RecordPaymentInput) -> Payment | Rejection:
    problems = Problems()
    booking_pk = check.object_id(problems, "bookingId", "Booking", data.booking_id)
    amount = check.amount(problems, "amount", data.amount, positive=True)
    currency = check.currency(problems, "currency", data.currency)
    method = check.text(problems, "method", data.method, max_length=SHORT_MAX, required=True)
    reference = check.text(problems, "providerReference", data.provider_reference, max_length=200)
    if problems or booking_pk is None or amount is None or currency is None or method is None:
        return problems.rejection()

    async def work(session: AsyncSession) -> Payment | Rejection:
        booking = await session.get(Booking, booking_pk)
        if booking is None:
            return rejected("bookingId", UserErrorCode.NOT_FOUND, "Booking not found.")
        if currency != booking.currency:
            return rejected(
                "currency",
                UserErrorCode.CURRENCY_MISMATCH,
                f"The booking is in {booking.currency}.",
            )
        paid = data.status is PaymentStatus.PAID
        payment = Payment(
            booking_id=booking.id,
            amount=amount,
            currency=currency,
            method=method,
            status=data.status.value,
            paid_at=(data.paid_at or utcnow()) if paid else data.paid_at,
        )
        keys = await ctx.keys_within(session)
        PAYMENT_REFERENCE.write(payment, keys, reference)
        session.add(payment)
        await session.flush()
        await guests.touch(session, booking.guest_id)
        if paid:
            await lifecycle.payment_recorded(
                session,
                tenant=ctx.tenant,
                keys=keys,
                booking=booking,
                payment=payment,
                lease_seconds=ctx.resources.settings.outbox_lease_seconds,
            )
        return payment

    return await ctx.write(work)
