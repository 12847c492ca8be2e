from __future__ import annotations

from datetime import datetime

import strawberry

from hospes.models.tenant import StaffRole
from hospes.models.tenant import StaffUser as StaffUserRow
from hospes.schema.ids import encode_id
from hospes.tenancy.registry import TenantRef


@strawberry.type(name="Company", description="The company a caller belongs to.")
class TenantType:
    slug: str
    name: str


@strawberry.type(description="The logged-in staff user.")
class Me:
    id: strawberry.ID
    email: str
    name: str | None
    role: StaffRole
    created_at: datetime
    last_login_at: datetime | None
    tenant: TenantType

    @classmethod
    def from_row(cls, row: StaffUserRow, tenant: TenantRef) -> Me:
        return cls(
            id=strawberry.ID(encode_id("StaffUser", row.id)),
            email=row.email,
            name=row.name,
            role=StaffRole(row.role),
            created_at=row.created_at,
            last_login_at=row.last_login_at,
            tenant=TenantType(slug=tenant.slug, name=tenant.name),
        )
