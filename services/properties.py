"""Properties: the company's rental units."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import Property
from hospes.services.caller import Caller
from hospes.services.paging import Listing, Sort
from hospes.tenancy.encrypted_columns import CHECK_IN_INSTRUCTIONS, VILLA_GUIDE

BY_NAME = Sort("name", sa.func.lower(Property.name), Property.id, "text", descending=False)


def property_list() -> Listing:
    """All properties, by name."""
    return Listing(sa.select(Property), BY_NAME, sa.select(sa.func.count()).select_from(Property))


async def property_exists(session: AsyncSession, property_pk: uuid.UUID) -> bool:
    return await session.get(Property, property_pk) is not None


async def create_property(
    session: AsyncSession,
    *,
    caller: Caller,
    name: str,
    timezone: str | None,
    address: str | None,
    villa_guide: str | None,
    check_in_instructions: str | None,
) -> Property:
    row = Property(name=name, timezone=timezone or "UTC", address=address)
    keys = await caller.keys(session)
    VILLA_GUIDE.write(row, keys, villa_guide)
    CHECK_IN_INSTRUCTIONS.write(row, keys, check_in_instructions)
    session.add(row)
    await session.flush()
    return row
