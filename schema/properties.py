from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models.tenant import Property as PropertyRow
from schema.ids import encode_id


@strawberry.type(description="A rental unit: a villa, an apartment, a hotel.")
class Property:
    id: strawberry.ID
    name: str
    address: str | None
    timezone: str
    villa_guide: str | None
    check_in_instructions: str | None
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: PropertyRow) -> Property:
        return cls(
            id=strawberry.ID(encode_id("Property", row.id)),
            name=row.name,
            address=row.address,
            timezone=row.timezone,
            villa_guide=row.villa_guide,
            check_in_instructions=row.check_in_instructions,
            created_at=row.created_at,
            pk=row.id,
        )
