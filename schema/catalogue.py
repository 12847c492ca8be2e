from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hospes.models.tenant import Service as ServiceRow
from hospes.models.tenant import ServiceRequest as ServiceRequestRow
from hospes.models.tenant import ServiceRequestStatus
from hospes.resolvers.context import Info
from hospes.resolvers.loaders import existing
from hospes.resolvers.permissions import READ_GUESTS
from hospes.schema.ids import encode_id
from hospes.tenancy.encrypted_columns import SERVICE_REQUEST_NOTES

if TYPE_CHECKING:
    from hospes.schema.bookings import Booking
    from hospes.schema.guests import Guest


@strawberry.type(description="An item of the company's trip-services catalogue.")
class Service:
    id: strawberry.ID
    name: str
    description: str | None
    price: Decimal
    currency: str
    active: bool
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: ServiceRow) -> Service:
        return cls(
            id=strawberry.ID(encode_id("Service", row.id)),
            name=row.name,
            description=row.description,
            price=row.price,
            currency=row.currency,
            active=row.active,
            created_at=row.created_at,
            pk=row.id,
        )


@strawberry.type(description="A guest's request for a catalogue service during a booking.")
class ServiceRequest:
    id: strawberry.ID
    date: date
    people: int
    price: Decimal
    currency: str
    status: ServiceRequestStatus
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]
    guest_pk: strawberry.Private[uuid.UUID]
    booking_pk: strawberry.Private[uuid.UUID]
    service_pk: strawberry.Private[uuid.UUID]
    row: strawberry.Private[ServiceRequestRow]

    @classmethod
    def from_row(cls, row: ServiceRequestRow) -> ServiceRequest:
        return cls(
            id=strawberry.ID(encode_id("ServiceRequest", row.id)),
            date=row.service_date,
            people=row.people,
            price=row.price,
            currency=row.currency,
            status=ServiceRequestStatus(row.status),
            created_at=row.created_at,
            pk=row.id,
            guest_pk=row.guest_id,
            booking_pk=row.booking_id,
            service_pk=row.service_id,
            row=row,
        )

    @strawberry.field(description="Stored encrypted.")
    async def notes(self, info: Info) -> str | None:
        return await info.context.decrypt(SERVICE_REQUEST_NOTES, self.row)

    @strawberry.field
    async def service(self, info: Info) -> Service:
        row = await existing(info.context.loaders.service, self.service_pk)
        return Service.from_row(row)

    @strawberry.field
    async def booking(self, info: Info) -> Annotated[Booking, strawberry.lazy("hospes.schema.bookings")]:
        from hospes.schema.bookings import Booking

        return Booking.from_row(await existing(info.context.loaders.booking, self.booking_pk))

    @strawberry.field(permission_classes=[READ_GUESTS])
    async def guest(self, info: Info) -> Annotated[Guest, strawberry.lazy("hospes.schema.guests")]:
        from hospes.schema.guests import Guest

        return Guest.from_row(await existing(info.context.loaders.guest, self.guest_pk))
