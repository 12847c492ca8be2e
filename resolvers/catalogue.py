"""The trip-services catalogue and the guests' service requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import NAME_MAX, TEXT_MAX
from hospes.models.tenant import Booking, BookingStatus, Service, ServiceRequest
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.schema.errors import UserErrorCode
from hospes.schema.inputs import CreateServiceInput, CreateServiceRequestInput
from hospes.services import guests
from hospes.services.rejections import Problems, Rejection, rejected
from hospes.tenancy.encrypted_columns import SERVICE_REQUEST_NOTES

BY_NAME = Sort("name", sa.func.lower(Service.name), Service.id, "text", descending=False)
MAX_PEOPLE = 100


async def list_services(
    ctx: Context, *, first: int | None, after: str | None, active_only: bool
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    condition = Service.active.is_(True) if active_only else sa.true()  # type: ignore[attr-defined]
    page = await keyset_page(
        ctx, query=sa.select(Service).where(condition), sort=BY_NAME, first=first, after=after
    )

    async def total() -> int:
        return int(await ctx.scalar(sa.select(sa.func.count()).select_from(Service).where(condition)))

    return page, total


async def create_service(ctx: Context, data: CreateServiceInput) -> Service | Rejection:
    problems = Problems()
    name = check.text(problems, "name", data.name, max_length=NAME_MAX, required=True)
    description = check.text(problems, "description", data.description, max_length=TEXT_MAX)
    price = check.amount(problems, "price", data.price)
    currency = check.currency(problems, "currency", data.currency)
    if problems or name is None or price is None or currency is None:
        return problems.rejection()

    async def work(session: AsyncSession) -> Service:
        row = Service(name=name, description=description, price=price, currency=currency, active=data.active)
        session.add(row)
        await session.flush()
        return row

    return await ctx.write(work)


async def create_service_request(ctx: Context, data: CreateServiceRequestInput) -> ServiceRequest | Rejection:
    problems = Problems()
    booking_pk = check.object_id(problems, "bookingId", "Booking", data.booking_id)
    service_pk = check.object_id(problems, "serviceId", "Service", data.service_id)
    people = check.count(problems, "people", data.people, minimum=1, maximum=MAX_PEOPLE)
    notes = check.text(problems, "notes", data.notes, max_length=TEXT_MAX)
    price = check.amount(problems, "price", data.price) if data.price is not None else None
    if problems or booking_pk is None or service_pk is None or people is None:
        return problems.rejection()

    async def work(session: AsyncSession) -> ServiceRequest | Rejection:
        booking = await session.get(Booking, booking_pk)
        service = await session.get(Service, service_pk)
        found = Problems()
        if booking is None:
            found.add("bookingId", UserErrorCode.NOT_FOUND, "Booking not found.")
        if service is None:
            found.add("serviceId", UserErrorCode.NOT_FOUND, "Service not found.")
        if found or booking is None or service is None:
            return found.rejection()
        if not service.active:
            return rejected("serviceId", UserErrorCode.INVALID_STATE, "This service is not offered any more.")
        if booking.status == BookingStatus.CANCELLED.value:
            return rejected("bookingId", UserErrorCode.INVALID_STATE, "The booking is cancelled.")
        if not booking.check_in <= data.date <= booking.check_out:
            return rejected("date", UserErrorCode.OUT_OF_RANGE, "The date must fall within the stay.")
        row = ServiceRequest(
            guest_id=booking.guest_id,
            booking_id=booking.id,
            service_id=service.id,
            service_date=data.date,
            people=people,
            price=price if price is not None else service.price * people,
            currency=service.currency,
        )
        SERVICE_REQUEST_NOTES.write(row, await ctx.keys_within(session), notes)
        session.add(row)
        await session.flush()
        await guests.touch(session, booking.guest_id)
        return row

    return await ctx.write(work)
