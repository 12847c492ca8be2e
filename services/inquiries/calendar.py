"""Which day it is for an inquiry: the date at its property, or, while it names none, the earliest
date that is today anywhere on Earth (UTC-12), so nothing a guest could still mean as today is
refused as past. Dates asked for, quote validity and expiry all follow this one rule."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import zone_of
from hospes.models.tenant import Property
from hospes.services.rejections import Problems, UserErrorCode

EARLIEST_ZONE = ZoneInfo("Etc/GMT+12")


def today_in(timezone: str | None, *, now: datetime | None = None) -> date:
    """Today at a property in `timezone`; with none, the earliest today on Earth."""
    zone = zone_of(timezone) if timezone else EARLIEST_ZONE
    return (now or datetime.now(UTC)).astimezone(zone).date()


async def today_at(session: AsyncSession, property_id: uuid.UUID | None) -> date:
    place = await session.get(Property, property_id) if property_id is not None else None
    return today_in(place.timezone if place is not None else None)


def check_not_past(problems: Problems, field_name: str, day: date | None, today: date) -> None:
    """A date asked for must not have passed."""
    if day is not None and day < today:
        problems.add(field_name, UserErrorCode.OUT_OF_RANGE, "The date has passed.")
