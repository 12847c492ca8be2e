"""Staff users of a company, for owners: `staffUsers`, `createStaffUser`, `updateStaffUser`,
`deactivateStaffUser`. The rules are `services/staff.py`'s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types.unset import UnsetType

from hospes.models.columns import NAME_MAX
from hospes.models.tenant import StaffRole, StaffUser
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.schema.errors import UserErrorCode
from hospes.services import staff
from hospes.services.rejections import Problems, Rejection

BY_EMAIL = Sort("email", *staff.LIST_ORDER, "text", descending=False)


async def add_staff_user(
    ctx: Context, *, email: str, password: str, name: str | None, role: StaffRole
) -> StaffUser | Rejection:
    """`createStaffUser`: a new login of the caller's company, audited."""
    passwords, actor = ctx.resources.passwords, ctx.principal
    return await ctx.write(
        lambda session: staff.add_staff_user(
            session, passwords=passwords, actor=actor, email=email, password=password, name=name, role=role
        )
    )


async def list_staff_users(
    ctx: Context, *, first: int | None, after: str | None
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """The company's staff users, deactivated ones included, by email."""
    page = await keyset_page(ctx, query=staff.list_query(), sort=BY_EMAIL, first=first, after=after)

    async def total() -> int:
        return int(await ctx.scalar(staff.count_query()))

    return page, total


async def update_staff_user(
    ctx: Context,
    *,
    staff_user_id: str,
    name: str | UnsetType | None = strawberry.UNSET,
    role: StaffRole | UnsetType | None = strawberry.UNSET,
) -> StaffUser | Rejection:
    """Rename a user or change their role (fields left out stay as they are; a null name clears it)."""
    problems = Problems()
    pk = check.object_id(problems, "staffUserId", "StaffUser", staff_user_id)
    changes: dict[str, Any] = {}
    if not isinstance(name, UnsetType):
        changes["name"] = check.text(problems, "name", name, max_length=NAME_MAX)
    if not isinstance(role, UnsetType):
        if role is None:
            problems.add("role", UserErrorCode.REQUIRED, "Must not be null.")
        else:
            changes["role"] = StaffRole(role).value
    if problems or pk is None:
        return problems.rejection()
    logins, tenant_id, actor = ctx.resources.logins, ctx.tenant.id, ctx.principal
    return await ctx.write(
        lambda session: staff.update_staff_user(
            session, logins=logins, tenant_id=tenant_id, actor=actor, user_id=pk, changes=changes
        )
    )


async def deactivate_staff_user(ctx: Context, *, staff_user_id: str) -> StaffUser | Rejection:
    """`deactivateStaffUser`; deactivating a deactivated user changes nothing."""
    problems = Problems()
    pk = check.object_id(problems, "staffUserId", "StaffUser", staff_user_id)
    if problems or pk is None:
        return problems.rejection()
    logins, tenant_id, actor = ctx.resources.logins, ctx.tenant.id, ctx.principal
    return await ctx.write(
        lambda session: staff.deactivate_staff_user(
            session, logins=logins, tenant_id=tenant_id, actor=actor, user_id=pk
        )
    )
