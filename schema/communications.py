from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hospes.models.tenant import Channel, CommunicationStatus, DeliveryStep, Direction, MessageClass
from hospes.models.tenant import Communication as CommunicationRow
from hospes.models.tenant import CommunicationEvent as CommunicationEventRow
from hospes.resolvers.context import Info
from hospes.resolvers.loaders import existing
from hospes.resolvers.permissions import READ_GUESTS, READ_MESSAGE_CONTENT
from hospes.schema.ids import encode_id
from hospes.tenancy.encrypted_columns import MESSAGE_BODY, MESSAGE_SUBJECT

if TYPE_CHECKING:
    from hospes.schema.bookings import Booking
    from hospes.schema.guests import Guest


@strawberry.type(description="One step of a message's delivery: an attempt, a retry, a fallback, a report.")
class DeliveryEvent:
    at: datetime
    step: DeliveryStep
    channel: Channel | None
    provider: str | None
    detail: str | None

    @classmethod
    def from_row(cls, row: CommunicationEventRow) -> DeliveryEvent:
        return cls(
            at=row.at,
            step=DeliveryStep(row.step),
            channel=Channel(row.channel) if row.channel else None,
            provider=row.provider,
            detail=row.detail,
        )


@strawberry.type(description="One message to or from a guest, on any channel.")
class Communication:
    id: strawberry.ID
    channel: Channel
    direction: Direction
    template_key: str | None
    message_class: MessageClass
    status: CommunicationStatus
    status_at: datetime | None
    language: str | None
    provider: str | None
    provider_message_id: str | None
    error: str | None = strawberry.field(
        description="Why it failed or was suppressed, or why its outcome is unknown."
    )
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    pk: strawberry.Private[uuid.UUID]
    guest_pk: strawberry.Private[uuid.UUID | None]
    booking_pk: strawberry.Private[uuid.UUID | None]
    row: strawberry.Private[CommunicationRow]

    @classmethod
    def from_row(cls, row: CommunicationRow) -> Communication:
        return cls(
            id=strawberry.ID(encode_id("Communication", row.id)),
            channel=Channel(row.channel),
            direction=Direction(row.direction),
            template_key=row.template_key,
            message_class=MessageClass(row.message_class),
            status=CommunicationStatus(row.status),
            status_at=row.status_at,
            language=row.language,
            provider=row.provider,
            provider_message_id=row.provider_message_id,
            error=row.error,
            attempts=row.attempts,
            created_at=row.created_at,
            sent_at=row.sent_at,
            pk=row.id,
            guest_pk=row.guest_id,
            booking_pk=row.booking_id,
            row=row,
        )

    @strawberry.field(
        permission_classes=[READ_MESSAGE_CONTENT],
        description="Stored encrypted. Links the message carried read as markers.",
    )
    async def subject(self, info: Info) -> str | None:
        return await info.context.decrypt(MESSAGE_SUBJECT, self.row)

    @strawberry.field(
        permission_classes=[READ_MESSAGE_CONTENT],
        description="Stored encrypted; empty once the guest was erased. Links read as markers.",
    )
    async def body(self, info: Info) -> str:
        return await info.context.decrypt(MESSAGE_BODY, self.row) or ""

    @strawberry.field(description="The delivery timeline, oldest first.")
    async def timeline(self, info: Info) -> list[DeliveryEvent]:
        rows = await info.context.loaders.timeline_of_communication.load(self.pk)
        return [DeliveryEvent.from_row(row) for row in rows]

    @strawberry.field(permission_classes=[READ_GUESTS])
    async def guest(self, info: Info) -> Annotated[Guest, strawberry.lazy("hospes.schema.guests")]:
        from hospes.schema.guests import Guest

        # Only mails to a guest are listed (under the guest, a booking or an inquiry): a mail to an
        # address no guest record holds yet (a registration's link) is never reached here.
        assert self.guest_pk is not None
        return Guest.from_row(await existing(info.context.loaders.guest, self.guest_pk))

    @strawberry.field
    async def booking(
        self, info: Info
    ) -> Annotated[Booking, strawberry.lazy("hospes.schema.bookings")] | None:
        from hospes.schema.bookings import Booking

        if self.booking_pk is None:
            return None
        return Booking.from_row(await existing(info.context.loaders.booking, self.booking_pk))
