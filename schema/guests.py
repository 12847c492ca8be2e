from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models.tenant import Channel
from models.tenant import Guest as GuestRow
from resolvers.context import Info
from schema.bookings import Booking
from schema.catalogue import ServiceRequest
from schema.communications import Communication
from schema.ids import encode_id
from schema.payments import Payment


@strawberry.type(description="One person, once per company, with everything they did with it.")
class Guest:
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None = strawberry.field(description="E.164")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2")
    language: str | None = strawberry.field(description="BCP 47")
    notes: str | None
    preferred_channel: Channel | None
    sms_opt_in: bool
    marketing_email_consent: bool
    registered_at: datetime
    last_activity_at: datetime
    erased_at: datetime | None
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: GuestRow) -> Guest:
        return cls(
            id=strawberry.ID(encode_id("Guest", row.id)),
            name=row.name,
            email=row.email,
            phone=row.phone,
            country=row.country,
            language=row.language,
            notes=row.notes,
            preferred_channel=Channel(row.preferred_channel) if row.preferred_channel else None,
            sms_opt_in=row.sms_opt_in,
            marketing_email_consent=row.marketing_email_consent,
            registered_at=row.created_at,
            last_activity_at=row.last_activity_at,
            erased_at=row.erased_at,
            pk=row.id,
        )

    @strawberry.field(description="Bookings made by this guest, newest first.")
    async def bookings(self, info: Info) -> list[Booking]:
        return [Booking.from_row(row) for row in await info.context.loaders.bookings_of_guest.load(self.pk)]

    @strawberry.field
    async def booking_count(self, info: Info) -> int:
        return await info.context.loaders.booking_count_of_guest.load(self.pk)

    @strawberry.field(description="Messages to and from this guest, newest first.")
    async def communications(self, info: Info) -> list[Communication]:
        rows = await info.context.loaders.communications_of_guest.load(self.pk)
        return [Communication.from_row(row) for row in rows]

    @strawberry.field(description="Trip services this guest requested, newest first.")
    async def service_requests(self, info: Info) -> list[ServiceRequest]:
        rows = await info.context.loaders.service_requests_of_guest.load(self.pk)
        return [ServiceRequest.from_row(row) for row in rows]

    @strawberry.field(description="Payments on this guest's bookings, newest first.")
    async def payments(self, info: Info) -> list[Payment]:
        return [Payment.from_row(row) for row in await info.context.loaders.payments_of_guest.load(self.pk)]
