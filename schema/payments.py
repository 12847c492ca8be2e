from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hospes.models.tenant import Payment as PaymentRow
from hospes.models.tenant import PaymentStatus
from hospes.resolvers.context import Info
from hospes.resolvers.loaders import existing
from hospes.schema.ids import encode_id
from hospes.tenancy.encrypted_columns import PAYMENT_REFERENCE

if TYPE_CHECKING:
    from hospes.schema.bookings import Booking


@strawberry.type
class Payment:
    id: strawberry.ID
    amount: Decimal
    currency: str
    method: str
    status: PaymentStatus
    paid_at: datetime | None
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]
    booking_pk: strawberry.Private[uuid.UUID]
    row: strawberry.Private[PaymentRow]

    @classmethod
    def from_row(cls, row: PaymentRow) -> Payment:
        return cls(
            id=strawberry.ID(encode_id("Payment", row.id)),
            amount=row.amount,
            currency=row.currency,
            method=row.method,
            status=PaymentStatus(row.status),
            paid_at=row.paid_at,
            created_at=row.created_at,
            pk=row.id,
            booking_pk=row.booking_id,
            row=row,
        )

    @strawberry.field(description="Stored encrypted.")
    async def provider_reference(self, info: Info) -> str | None:
        return await info.context.decrypt(PAYMENT_REFERENCE, self.row)

    @strawberry.field
    async def booking(self, info: Info) -> Annotated[Booking, strawberry.lazy("hospes.schema.bookings")]:
        from hospes.schema.bookings import Booking

        return Booking.from_row(await existing(info.context.loaders.booking, self.booking_pk))
