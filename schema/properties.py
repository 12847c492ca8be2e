from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from hospes.models.tenant import Property as PropertyRow
from hospes.resolvers.context import Info
from hospes.schema.ids import encode_id
from hospes.tenancy.encrypted_columns import CHECK_IN_INSTRUCTIONS, VILLA_GUIDE


@strawberry.type(description="A rental unit: a villa, an apartment, a hotel.")
class Property:
    id: strawberry.ID
    name: str
    address: str | None
    timezone: str
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]
    row: strawberry.Private[PropertyRow]

    @classmethod
    def from_row(cls, row: PropertyRow) -> Property:
        return cls(
            id=strawberry.ID(encode_id("Property", row.id)),
            name=row.name,
            address=row.address,
            timezone=row.timezone,
            created_at=row.created_at,
            pk=row.id,
            row=row,
        )

    @strawberry.field(description="The guide to the house (Wi-Fi, pool, beach). Stored encrypted.")
    async def villa_guide(self, info: Info) -> str | None:
        return await info.context.decrypt(VILLA_GUIDE, self.row)

    @strawberry.field(description="Door codes and the like. Stored encrypted.")
    async def check_in_instructions(self, info: Info) -> str | None:
        return await info.context.decrypt(CHECK_IN_INSTRUCTIONS, self.row)
