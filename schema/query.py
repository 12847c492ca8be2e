"""The root Query type: thin fields that check permission and call into `resolvers/`."""

from __future__ import annotations

import strawberry

from hospes.resolvers import auth, bookings, catalogue, guests, properties
from hospes.resolvers.context import Info
from hospes.resolvers.permissions import READ_BOOKINGS, READ_GUESTS, STAFF_ONLY
from hospes.schema.bookings import Booking
from hospes.schema.catalogue import Service
from hospes.schema.guests import Guest
from hospes.schema.inputs import GuestFilter, GuestOrder
from hospes.schema.pagination import Connection, connection
from hospes.schema.properties import Property
from hospes.schema.staff import Me


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[STAFF_ONLY], description="The logged-in staff user.")
    async def me(self, info: Info) -> Me:
        return Me.from_row(await auth.current_staff_user(info.context), info.context.tenant)

    @strawberry.field(permission_classes=[READ_GUESTS])
    async def guest(self, info: Info, id: strawberry.ID) -> Guest | None:
        return Guest.from_row(await guests.guest_by_id(info.context, id))

    @strawberry.field(permission_classes=[READ_GUESTS], description="The company's customer list.")
    async def guests(
        self,
        info: Info,
        *,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: GuestOrder | None = None,
        filter: GuestFilter | None = None,
    ) -> Connection[Guest]:
        page, count = await guests.list_guests(
            info.context,
            search=search,
            first=first,
            after=after,
            order=order_by or GuestOrder(),
            filter_=filter,
        )
        return connection(page, count, Guest.from_row)

    @strawberry.field(permission_classes=[READ_BOOKINGS])
    async def booking(self, info: Info, id: strawberry.ID) -> Booking | None:
        return Booking.from_row(await bookings.booking_by_id(info.context, id))

    @strawberry.field(permission_classes=[READ_BOOKINGS], description="The company's properties, by name.")
    async def properties(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Property]:
        page, count = await properties.list_properties(info.context, first=first, after=after)
        return connection(page, count, Property.from_row)

    @strawberry.field(permission_classes=[READ_BOOKINGS], description="The trip-services catalogue, by name.")
    async def services(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_inactive: bool = False,
    ) -> Connection[Service]:
        page, count = await catalogue.list_services(
            info.context, first=first, after=after, active_only=not include_inactive
        )
        return connection(page, count, Service.from_row)
