"""Partner API keys: issued by owners (or the `hospes apikey create` command) with a set of scopes,
shown once, listed without their secret, and revoked at once (the credential lookup checks
`revoked_at` on every request). The scopes are the API's (`permissions.SCOPES`), checked here;
the rest and the SQL are `services/access.py`'s."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import NAME_MAX
from hospes.models.public import ApiKey
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.resolvers.permissions import SCOPES
from hospes.schema.errors import UserErrorCode
from hospes.services import access
from hospes.services.access import IssuedKey
from hospes.services.rejections import Problems, Rejection
from hospes.tenancy.principal import Principal

NEWEST_FIRST = Sort("created", *access.LIST_ORDER, "datetime", descending=True)


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
    """Check the name and scopes, then issue a key for `tenant_id` in the caller's transaction
    (`actor` None: the command line)."""
    problems = Problems()
    clean_name = check.text(problems, "name", name, max_length=NAME_MAX, required=True)
    clean = clean_scopes(problems, "scopes", scopes)
    if problems or clean_name is None or clean is None:
        return problems.rejection()
    return await access.create_api_key(
        session, tenant_id=tenant_id, name=clean_name, scopes=clean, actor=actor
    )


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
    tenant_id = ctx.tenant.id
    page = await keyset_page(
        ctx, query=access.list_query(tenant_id=tenant_id), sort=NEWEST_FIRST, first=first, after=after
    )

    async def total() -> int:
        return int(await ctx.scalar(access.count_query(tenant_id=tenant_id)))

    return page, total


async def revoke_api_key(ctx: Context, *, api_key_id: str) -> ApiKey | Rejection:
    """Revoke one of the company's keys; revoking a revoked key changes nothing. A key of
    another company is not found, like a missing one."""
    problems = Problems()
    pk = check.object_id(problems, "apiKeyId", "ApiKey", api_key_id)
    if problems or pk is None:
        return problems.rejection()
    tenant_id, actor = ctx.tenant.id, ctx.principal
    return await ctx.write(
        lambda session: access.revoke_api_key(session, tenant_id=tenant_id, actor=actor, api_key_id=pk)
    )
