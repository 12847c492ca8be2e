"""Properties: the company's rental units."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import ADDRESS_MAX, NAME_MAX, TEXT_MAX
from hospes.models.tenant import Property
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.schema.inputs import CreatePropertyInput
from hospes.services.rejections import Problems, Rejection
from hospes.tenancy.encrypted_columns import CHECK_IN_INSTRUCTIONS, VILLA_GUIDE

BY_NAME = Sort("name", sa.func.lower(Property.name), Property.id, "text", descending=False)


async def list_properties(
    ctx: Context, *, first: int | None, after: str | None
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    page = await keyset_page(ctx, query=sa.select(Property), sort=BY_NAME, first=first, after=after)

    async def total() -> int:
        return int(await ctx.scalar(sa.select(sa.func.count()).select_from(Property)))

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

    async def work(session: AsyncSession) -> Property:
        row = Property(name=name, timezone=timezone or "UTC", address=address)
        keys = await ctx.keys_within(session)
        VILLA_GUIDE.write(row, keys, villa_guide)
        CHECK_IN_INSTRUCTIONS.write(row, keys, instructions)
        session.add(row)
        await session.flush()
        return row

    return await ctx.write(work)
