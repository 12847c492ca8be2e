"""The tenant registry (`public.tenant`) as the request path sees it: a short-lived in-process
cache in front of one indexed lookup, so a request costs no registry query in the common case."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from hospes.models.public import Tenant, TenantStatus
from hospes.tenancy.database import first_row


@dataclass(frozen=True)
class TenantRef:
    id: uuid.UUID
    slug: str
    name: str
    schema_name: str
    status: str
    settings: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def active(self) -> bool:
        return self.status == TenantStatus.ACTIVE.value

    @classmethod
    def from_row(cls, row: Any) -> TenantRef:
        return cls(
            id=row.id,
            slug=row.slug,
            name=row.name,
            schema_name=row.schema_name,
            status=row.status,
            settings=dict(row.settings or {}),
        )


_COLUMNS = tuple(Tenant.__table__.c)  # type: ignore[attr-defined]


class TenantRegistry:
    """Looks tenants up by slug or id. Misses are never cached, so a new tenant works at once;
    a suspension takes effect within `ttl_seconds`."""

    def __init__(self, engine: AsyncEngine, *, ttl_seconds: float) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._by_key: dict[object, tuple[float, TenantRef]] = {}

    async def by_slug(self, slug: str) -> TenantRef | None:
        return await self._lookup(("slug", slug), col(Tenant.slug) == slug)

    async def by_id(self, tenant_id: uuid.UUID) -> TenantRef | None:
        return await self._lookup(("id", tenant_id), col(Tenant.id) == tenant_id)

    def forget(self) -> None:
        self._by_key.clear()

    async def _lookup(self, key: tuple[str, object], condition: sa.ColumnElement[bool]) -> TenantRef | None:
        cached = self._by_key.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        row = await first_row(self._engine, sa.select(*_COLUMNS).where(condition))
        if row is None:
            self._by_key.pop(key, None)
            return None
        tenant = TenantRef.from_row(row)
        expires = now + self._ttl
        self._by_key[("slug", tenant.slug)] = (expires, tenant)
        self._by_key[("id", tenant.id)] = (expires, tenant)
        return tenant
