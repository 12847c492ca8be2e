"""Partner API keys: issued with a set of scopes (only the key's SHA-256 is stored), listed
without their secret, and revoked. Keys live in `public.api_key`; every statement here is filtered
by the tenant it is given."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.public import ApiKey
from hospes.services import audit
from hospes.services.rejections import Rejection, UserErrorCode, rejected
from hospes.tenancy import tokens
from hospes.tenancy.principal import Principal, PrincipalKind

# The list's order, for the API's keyset pagination: newest first.
LIST_ORDER = (col(ApiKey.created_at), col(ApiKey.id))
# A new prefix is drawn if one collides with an existing key (32 random bits: rare, not impossible).
_PREFIX_ATTEMPTS = 3


@dataclass(frozen=True)
class IssuedKey:
    """A new key's row and its full secret, which exists only in this answer."""

    row: ApiKey
    key: str


async def create_api_key(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    name: str,
    scopes: list[str],
    actor: Principal | None,
) -> IssuedKey:
    """Issue a key for `tenant_id` with a checked name and scopes, audited (`actor` None: the
    command line)."""
    created_by = actor.subject_id if actor is not None and actor.kind is PrincipalKind.STAFF else None
    for attempt in range(_PREFIX_ATTEMPTS):
        prefix, key = tokens.new_api_key()
        row = ApiKey(
            tenant_id=tenant_id,
            name=name,
            prefix=prefix,
            key_hash=tokens.digest(key),
            scopes=scopes,
            created_by=created_by,
        )
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:
            if attempt + 1 == _PREFIX_ATTEMPTS:
                raise
            continue
        audit.record(
            session,
            actor=actor,
            action="api_key.created",
            entity="api_key",
            entity_id=row.id,
            data={"prefix": prefix, "scopes": scopes},
        )
        return IssuedKey(row=row, key=key)
    raise AssertionError("unreachable")


def list_query(*, tenant_id: uuid.UUID) -> sa.Select[Any]:
    """The tenant's keys, revoked ones included."""
    return sa.select(ApiKey).where(col(ApiKey.tenant_id) == tenant_id)


def count_query(*, tenant_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(ApiKey).where(col(ApiKey.tenant_id) == tenant_id)


async def revoke_api_key(
    session: AsyncSession, *, tenant_id: uuid.UUID, actor: Principal | None, api_key_id: uuid.UUID
) -> ApiKey | Rejection:
    """Revoke one of the tenant's keys; revoking a revoked key changes nothing. A key of another
    tenant is not found, like a missing one."""
    row = await session.scalar(
        sa.select(ApiKey)
        .where(col(ApiKey.id) == api_key_id, col(ApiKey.tenant_id) == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        return rejected("apiKeyId", UserErrorCode.NOT_FOUND, "API key not found.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="api_key.revoked",
            entity="api_key",
            entity_id=row.id,
            data={"prefix": row.prefix},
        )
        await session.flush()
    return row
