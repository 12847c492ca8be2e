"""The trip-services catalogue and the guests' service requests; the rules and SQL are
`services/catalogue.py`'s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hospes.models.columns import NAME_MAX, TEXT_MAX
from hospes.models.tenant import Service, ServiceRequest
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.schema.inputs import CreateServiceInput, CreateServiceRequestInput
from hospes.services import catalogue
from hospes.services.rejections import Problems, Rejection

BY_NAME = Sort("name", *catalogue.LIST_ORDER, "text", descending=False)
MAX_PEOPLE = 100


async def list_services(
    ctx: Context, *, first: int | None, after: str | None, active_only: bool
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    page = await keyset_page(
        ctx, query=catalogue.list_query(active_only=active_only), sort=BY_NAME, first=first, after=after
    )

    async def total() -> int:
        return int(await ctx.scalar(catalogue.count_query(active_only=active_only)))

    return page, total


async def create_service(ctx: Context, data: CreateServiceInput) -> Service | Rejection:
    problems = Problems()
    name = check.text(problems, "name", data.name, max_length=NAME_MAX, required=True)
    description = check.text(problems, "description", data.description, max_length=TEXT_MAX)
    price = check.amount(problems, "price", data.price)
    currency = check.currency(problems, "currency", data.currency)
    if problems or name is None or price is None or currency is None:
        return problems.rejection()
    return await ctx.write(
        lambda session: catalogue.create_service(
            session, name=name, description=description, price=price, currency=currency, active=data.active
        )
    )


async def create_service_request(ctx: Context, data: CreateServiceRequestInput) -> ServiceRequest | Rejection:
    problems = Problems()
    booking_pk = check.object_id(problems, "bookingId", "Booking", data.booking_id)
    service_pk = check.object_id(problems, "serviceId", "Service", data.service_id)
    people = check.count(problems, "people", data.people, minimum=1, maximum=MAX_PEOPLE)
    notes = check.text(problems, "notes", data.notes, max_length=TEXT_MAX)
    price = check.amount(problems, "price", data.price) if data.price is not None else None
    if problems or booking_pk is None or service_pk is None or people is None:
        return problems.rejection()
    keyring, schema_name = ctx.resources.keyring, ctx.tenant.schema_name
    return await ctx.write(
        lambda session: catalogue.create_service_request(
            session,
            keyring=keyring,
            schema_name=schema_name,
            booking_id=booking_pk,
            service_id=service_pk,
            day=data.date,
            people=people,
            notes=notes,
            price=price,
        )
    )
