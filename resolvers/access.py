"""Partner API keys: issued by owners (or the `hospes apikey create` command) with a set of scopes,
shown once, listed without their secret, and revoked at once (the credential lookup checks
`revoked_at` on every request). Keys live in `public.api_key`; every query here is filtered by
the caller's tenant."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import NAME_MAX, utcnow
from hospes.models.public import ApiKey
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.resolvers.permissions import SCOPES
from hospes.schema.errors import UserErrorCode
from hospes.services import audit
from hospes.services.rejections import Problems, Rejection, rejected
from hospes.tenancy import tokens
from hospes.tenancy.principal import Principal, PrincipalKind

NEWEST_FIRST = Sort("created", col(ApiKey.created_at), col(ApiKey.id), "datetime", descending=True)
# A new prefix is drawn if one collides with an existing key (32 random bits: rare, not impossible).
_PREFIX_ATTEMPTS = 3


@dataclass(frozen=True)
class IssuedKey:
    """A new key's row and its full secret, which exists only in this answer."""

    row: ApiKey
    key: str


def clean_scopes(problems: Problems, field_name: str, values: Sequence[str]) -> list[str] | None:
    """The known scopes asked for, without repeats, in the canonical order; REQUIRED when none
    are given, INVALID naming any scope that does not exist."""
    asked = {value.strip() for value in values if value.strip()}
    if not asked:
        problems.add(field_name, UserErrorCode.REQUIRED, "Give at least one scope.")
        return None
    unknown = sorted(asked - set(SCOPES))
    if unknown:
        named = ", ".join(repr(scope[:40]) for scope in unknown[:3]) + (", …" if len(unknown) > 3 else "")
        problems.add(
            field_name,
            UserErrorCode.INVALID,
            f"Unknown scope {named}; the scopes are {', '.join(SCOPES)}.",
        )
        return None
    return [scope for scope in SCOPES if scope in asked]


async def create_api_key(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    name: str | None,
    scopes: Sequence[str],
    actor: Principal | None,
) -> IssuedKey | Rejection:
    """Issue a key for `tenant_id` in the caller's transaction and audit it (`actor` None: the
    command line). Only the key's SHA-256 is stored."""
    problems = Problems()
    clean_name = check.text(problems, "name", name, max_length=NAME_MAX, required=True)
    clean = clean_scopes(problems, "scopes", scopes)
    if problems or clean_name is None or clean is None:
        return problems.rejection()
    created_by = actor.subject_id if actor is not None and actor.kind is PrincipalKind.STAFF else None
    for attempt in range(_PREFIX_ATTEMPTS):
        prefix, key = tokens.new_api_key()
        row = ApiKey(
            tenant_id=tenant_id,
            name=clean_name,
            prefix=prefix,
            key_hash=tokens.digest(key),
            scopes=clean,
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
            data={"prefix": prefix, "scopes": clean},
        )
        return IssuedKey(row=row, key=key)
    raise AssertionError("unreachable")


async def issue_api_key(ctx: Context, *, name: str | None, scopes: Sequence[str]) -> IssuedKey | Rejection:
    """`createApiKey`: a key of the caller's company, created by the calling owner."""
    tenant_id = ctx.tenant.id
    return await ctx.write(
        lambda session: create_api_key(
            session, tenant_id=tenant_id, name=name, scopes=scopes, actor=ctx.principal
        )
    )


async def list_api_keys(
    ctx: Context, *, first: int | None, after: str | None
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """The company's keys, revoked ones included, newest first."""
    own = col(ApiKey.tenant_id) == ctx.tenant.id
    page = await keyset_page(
        ctx, query=sa.select(ApiKey).where(own), sort=NEWEST_FIRST, first=first, after=after
    )

    async def total() -> int:
        return int(await ctx.scalar(sa.select(sa.func.count()).select_from(ApiKey).where(own)))

    return page, total


async def revoke_api_key(ctx: Context, *, api_key_id: str) -> ApiKey | Rejection:
    """Revoke one of the company's keys; revoking a revoked key changes nothing. A key of
    another company is not found, like a missing one."""
    problems = Problems()
    pk = check.object_id(problems, "apiKeyId", "ApiKey", api_key_id)
    if problems or pk is None:
        return problems.rejection()
    tenant_id = ctx.tenant.id

    async def work(session: AsyncSession) -> ApiKey | Rejection:
        row = await session.scalar(
            sa.select(ApiKey)
            .where(col(ApiKey.id) == pk, col(ApiKey.tenant_id) == tenant_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:
            return rejected("apiKeyId", UserErrorCode.NOT_FOUND, "API key not found.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.record(
                session,
                actor=ctx.principal,
                action="api_key.revoked",
                entity="api_key",
                entity_id=row.id,
                data={"prefix": row.prefix},
            )
            await session.flush()
        return row

    return await ctx.write(work)
