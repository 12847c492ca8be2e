from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hospes.models.tenant import Channel
from hospes.models.tenant import Guest as GuestRow
from hospes.models.tenant import GuestAccount as GuestAccountRow
from hospes.resolvers import accounts
from hospes.resolvers.context import Info
from hospes.resolvers.permissions import READ_BOOKINGS, READ_INQUIRIES, STAFF_ONLY
from hospes.schema.bookings import Booking
from hospes.schema.catalogue import ServiceRequest
from hospes.schema.communications import Communication
from hospes.schema.ids import encode_id
from hospes.schema.pagination import PageInfo
from hospes.schema.payments import Payment
from hospes.tenancy.encrypted_columns import GUEST_EMAIL, GUEST_NOTES, GUEST_PHONE

if TYPE_CHECKING:
    from hospes.schema.history import HistoryConnection
    from hospes.schema.inquiries import Inquiry


@strawberry.type(description="A guest's login, as staff see it (never its credentials).")
class GuestAccountInfo:
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None

    @classmethod
    def from_row(cls, row: GuestAccountRow) -> GuestAccountInfo:
        return cls(created_at=row.created_at, last_login_at=row.last_login_at, disabled_at=row.disabled_at)


@strawberry.type(description="One person, once per company, with everything they did with it.")
class Guest:
    id: strawberry.ID
    name: str
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2")
    language: str | None = strawberry.field(description="BCP 47")
    preferred_channel: Channel | None
    sms_opt_in: bool
    marketing_email_consent: bool
    registered_at: datetime
    last_activity_at: datetime
    erased_at: datetime | None
    booking_count: int = strawberry.field(description="Bookings that were not cancelled.")
    pk: strawberry.Private[uuid.UUID]
    row: strawberry.Private[GuestRow]

    @classmethod
    def from_row(cls, row: GuestRow) -> Guest:
        return cls(
            id=strawberry.ID(encode_id("Guest", row.id)),
            name=row.name,
            country=row.country,
            language=row.language,
            preferred_channel=Channel(row.preferred_channel) if row.preferred_channel else None,
            sms_opt_in=row.sms_opt_in,
            marketing_email_consent=row.marketing_email_consent,
            registered_at=row.created_at,
            last_activity_at=row.last_activity_at,
            erased_at=row.erased_at,
            booking_count=row.booking_count,
            pk=row.id,
            row=row,
        )

    @strawberry.field(description="Stored encrypted; decrypted only when asked for.")
    async def email(self, info: Info) -> str | None:
        return await info.context.decrypt(GUEST_EMAIL, self.row)

    @strawberry.field(description="E.164. Stored encrypted.")
    async def phone(self, info: Info) -> str | None:
        return await info.context.decrypt(GUEST_PHONE, self.row)

    @strawberry.field(description="Staff notes. Stored encrypted.")
    async def notes(self, info: Info) -> str | None:
        return await info.context.decrypt(GUEST_NOTES, self.row)

    @strawberry.field(
        permission_classes=[READ_BOOKINGS], description="Bookings made by this guest, newest first."
    )
    async def bookings(self, info: Info) -> list[Booking]:
        return [Booking.from_row(row) for row in await info.context.loaders.bookings_of_guest.load(self.pk)]

    @strawberry.field(
        permission_classes=[READ_INQUIRIES], description="This guest's inquiries, newest first."
    )
    async def inquiries(
        self, info: Info
    ) -> list[Annotated[Inquiry, strawberry.lazy("hospes.schema.inquiries")]]:
        from hospes.schema.inquiries import Inquiry

        return [Inquiry.from_row(row) for row in await info.context.loaders.inquiries_of_guest.load(self.pk)]

    @strawberry.field(description="Messages to and from this guest, newest first.")
    async def communications(self, info: Info) -> list[Communication]:
        rows = await info.context.loaders.communications_of_guest.load(self.pk)
        return [Communication.from_row(row) for row in rows]

    @strawberry.field(
        permission_classes=[READ_BOOKINGS], description="Trip services this guest requested, newest first."
    )
    async def service_requests(self, info: Info) -> list[ServiceRequest]:
        rows = await info.context.loaders.service_requests_of_guest.load(self.pk)
        return [ServiceRequest.from_row(row) for row in rows]

    @strawberry.field(
        permission_classes=[READ_BOOKINGS], description="Payments on this guest's bookings, newest first."
    )
    async def payments(self, info: Info) -> list[Payment]:
        return [Payment.from_row(row) for row in await info.context.loaders.payments_of_guest.load(self.pk)]

    @strawberry.field(description="Whether the guest has an account to log in with.")
    async def has_account(self, info: Info) -> bool:
        return await info.context.loaders.has_account.load(self.pk)

    @strawberry.field(permission_classes=[STAFF_ONLY], description="The guest's account, if they have one.")
    async def account(self, info: Info) -> GuestAccountInfo | None:
        row = await accounts.account_of_guest(info.context).load(self.pk)
        return GuestAccountInfo.from_row(row) if row is not None else None

    @strawberry.field(
        permission_classes=[READ_BOOKINGS],
        description="Bookings, inquiries, messages, service requests and payments, newest first.",
    )
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Annotated[HistoryConnection, strawberry.lazy("hospes.schema.history")]:
        from hospes.resolvers.history import guest_history
        from hospes.schema.history import HistoryConnection, HistoryEdge, event_of

        entries, more = await guest_history(info.context, self.pk, first=first, after=after)
        # Gathered, so the DataLoaders batch each kind into one statement.
        events = await asyncio.gather(*(event_of(info, entry) for entry in entries))
        return HistoryConnection(
            edges=[
                HistoryEdge(cursor=entry.cursor, node=event)
                for entry, event in zip(entries, events, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=more,
                has_previous_page=after is not None,
                start_cursor=entries[0].cursor if entries else None,
                end_cursor=entries[-1].cursor if entries else None,
            ),
        )
