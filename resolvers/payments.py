"""Payments recorded against bookings."""

from __future__ import annotations

from hospes.models.columns import SHORT_MAX
from hospes.models.tenant import Payment
from hospes.resolvers import validation as check
from hospes.resolvers.caller import caller_of
from hospes.resolvers.context import Context
from hospes.schema.inputs import RecordPaymentInput
from hospes.services import payments
from hospes.services.rejections import Problems, Rejection


async def record_payment(ctx: Context, data: RecordPaymentInput) -> Payment | Rejection:
    problems = Problems()
    booking_pk = check.object_id(problems, "bookingId", "Booking", data.booking_id)
    amount = check.amount(problems, "amount", data.amount, positive=True)
    currency = check.currency(problems, "currency", data.currency)
    method = check.text(problems, "method", data.method, max_length=SHORT_MAX, required=True)
    reference = check.text(problems, "providerReference", data.provider_reference, max_length=200)
    if problems or booking_pk is None or amount is None or currency is None or method is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: payments.record_payment(
            session,
            caller=caller,
            booking_id=booking_pk,
            amount=amount,
            currency=currency,
            method=method,
            reference=reference,
            status=data.status,
            paid_at=data.paid_at,
        )
    )
