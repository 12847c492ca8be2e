from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hospes.models.tenant import Booking as BookingRow
from hospes.models.tenant import BookingSource, BookingStatus, PaymentStatus
from hospes.resolvers.context import Info
from hospes.resolvers.loaders import existing
from hospes.resolvers.permissions import READ_GUESTS
from hospes.schema.catalogue import ServiceRequest
from hospes.schema.communications import Communication
from hospes.schema.ids import encode_id
from hospes.schema.messaging import ScheduledMessage
from hospes.schema.payments import Payment
from hospes.schema.properties import Property
from hospes.services import guest_fields
from hospes.tenancy.encrypted_columns import CANCEL_REASON

if TYPE_CHECKING:
    from hospes.schema.guests import Guest


@strawberry.type(description="The person who stays, when the booker books for someone else.")
class StayGuest:
    name: str
    email: str | None
    phone: str | None


@strawberry.type
class Booking:
    id: strawberry.ID
    check_in: date
    check_out: date
    adults: int
    children: int
    amount: Decimal
    currency: str
    status: BookingStatus
    source: BookingSource
    channel: str | None
    external_id: str | None
    created_at: datetime
    cancelled_at: datetime | None
    pk: strawberry.Private[uuid.UUID]
    guest_pk: strawberry.Private[uuid.UUID]
    property_pk: strawberry.Private[uuid.UUID]
    row: strawberry.Private[BookingRow]

    @classmethod
    def from_row(cls, row: BookingRow) -> Booking:
        return cls(
            id=strawberry.ID(encode_id("Booking", row.id)),
            check_in=row.check_in,
            check_out=row.check_out,
            adults=row.adults,
            children=row.children,
            amount=row.amount,
            currency=row.currency,
            status=BookingStatus(row.status),
            source=BookingSource(row.source),
            channel=row.channel,
            external_id=row.external_id,
            created_at=row.created_at,
            cancelled_at=row.cancelled_at,
            pk=row.id,
            guest_pk=row.guest_id,
            property_pk=row.property_id,
            row=row,
        )

    @strawberry.field(description="Why it was cancelled, as staff wrote it. Stored encrypted.")
    async def cancel_reason(self, info: Info) -> str | None:
        return await info.context.decrypt(CANCEL_REASON, self.row)

    @strawberry.field(description="Who stays, when the booker booked for someone else.")
    async def stay_guest(self, info: Info) -> StayGuest | None:
        keys = await info.context.keys(self.row.stay_guest_email_enc, self.row.stay_guest_phone_enc)
        stay = guest_fields.stay_guest_of(self.row, keys)
        return StayGuest(**stay) if stay else None

    @strawberry.field
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @strawberry.field(
        permission_classes=[READ_GUESTS], description="The booker: the guest record this booking belongs to."
    )
    async def guest(self, info: Info) -> Annotated[Guest, strawberry.lazy("hospes.schema.guests")]:
        from hospes.schema.guests import Guest

        return Guest.from_row(await existing(info.context.loaders.guest, self.guest_pk))

    @strawberry.field
    async def property(self, info: Info) -> Property:
        return Property.from_row(await existing(info.context.loaders.property, self.property_pk))

    @strawberry.field(description="Payments on this booking, newest first.")
    async def payments(self, info: Info) -> list[Payment]:
        return [Payment.from_row(row) for row in await info.context.loaders.payments_of_booking.load(self.pk)]

    @strawberry.field(description="Trip services requested for this booking, newest first.")
    async def service_requests(self, info: Info) -> list[ServiceRequest]:
        rows = await info.context.loaders.service_requests_of_booking.load(self.pk)
        return [ServiceRequest.from_row(row) for row in rows]

    @strawberry.field(description="Messages about this booking, newest first.")
    async def communications(self, info: Info) -> list[Communication]:
        rows = await info.context.loaders.communications_of_booking.load(self.pk)
        return [Communication.from_row(row) for row in rows]

    @strawberry.field(description="The stay's automatic messages and when they go, soonest first.")
    async def scheduled_messages(self, info: Info) -> list[ScheduledMessage]:
        rows = await info.context.loaders.scheduled_of_booking.load(self.pk)
        return [ScheduledMessage.from_row(row) for row in rows]

    @strawberry.field(description="Whether the booking's guest-portal link works now.")
    async def portal_link_active(self, info: Info) -> bool:
        return await info.context.loaders.portal_link_active.load(self.pk)

    @strawberry.field(description="Sum of the paid payments.")
    async def amount_paid(self, info: Info) -> Decimal:
        rows = await info.context.loaders.payments_of_booking.load(self.pk)
        return sum((row.amount for row in rows if row.status == PaymentStatus.PAID.value), Decimal("0.00"))

    @strawberry.field(description="What remains to be paid (never negative).")
    async def amount_due(self, info: Info) -> Decimal:
        paid = await self.amount_paid(info)
        return max(self.amount - paid, Decimal("0.00"))
