"""Properties: the company's rental units."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hospes.models.columns import ADDRESS_MAX, NAME_MAX, TEXT_MAX
from hospes.models.tenant import Property
from hospes.resolvers import validation as check
from hospes.resolvers.caller import caller_of
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, keyset_page
from hospes.schema.inputs import CreatePropertyInput
from hospes.services import properties
from hospes.services.rejections import Problems, Rejection


async def list_properties(
    ctx: Context, *, first: int | None, after: str | None
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    listing = properties.property_list()
    page = await keyset_page(ctx, query=listing.query, sort=listing.sort, first=first, after=after)

    async def total() -> int:
        return int(await ctx.scalar(listing.count))

    return page, total


async def create_property(ctx: Context, data: CreatePropertyInput) -> Property | Rejection:
    problems = Problems()
    name = check.text(problems, "name", data.name, max_length=NAME_MAX, required=True)
    timezone = check.timezone(problems, "timezone", data.timezone)
    address = check.text(problems, "address", data.address, max_length=ADDRESS_MAX)
    villa_guide = check.text(problems, "villaGuide", data.villa_guide, max_length=TEXT_MAX)
    instructions = check.text(
        problems, "checkInInstructions", data.check_in_instructions, max_length=TEXT_MAX
    )
    if problems or name is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: properties.create_property(
            session,
            caller=caller,
            name=name,
            timezone=timezone,
            address=address,
            villa_guide=villa_guide,
            check_in_instructions=instructions,
        )
    )
