"""Staff users of a company: created, renamed, given another role or deactivated by owners.
A role change or a deactivation ends the user's sessions at once, and no change may leave the
company without an active owner."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from strawberry.types.unset import UnsetType

from hospes.models.columns import NAME_MAX
from hospes.models.tenant import StaffRole, StaffUser
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.schema.errors import UserErrorCode
from hospes.services import audit
from hospes.services.rejections import Problems, Rejection, rejected
from hospes.services.staff import create_staff_user

BY_EMAIL = Sort("email", col(StaffUser.email), col(StaffUser.id), "text", descending=False)
LAST_OWNER = "The company needs at least one active owner."
# Serialises changes to a company's staff, so two owners cannot demote each other at once.
_STAFF_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/staff'))")


async def add_staff_user(
    ctx: Context, *, email: str, password: str, name: str | None, role: StaffRole
) -> StaffUser | Rejection:
    """`createStaffUser`: a new login of the caller's company, audited."""

    async def work(session: AsyncSession) -> StaffUser | Rejection:
        outcome = await create_staff_user(
            session, passwords=ctx.resources.passwords, email=email, password=password, role=role, name=name
        )
        if not isinstance(outcome, Rejection):
            audit.record(
                session,
                actor=ctx.principal,
                action="staff_user.created",
                entity="staff_user",
                entity_id=outcome.id,
                data={"role": outcome.role},
            )
        return outcome

    return await ctx.write(work)


async def list_staff_users(
    ctx: Context, *, first: int | None, after: str | None
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """The company's staff users, deactivated ones included, by email."""
    page = await keyset_page(ctx, query=sa.select(StaffUser), sort=BY_EMAIL, first=first, after=after)

    async def total() -> int:
        return int(await ctx.scalar(sa.select(sa.func.count()).select_from(StaffUser)))

    return page, total


async def _locked(session: AsyncSession, pk: uuid.UUID) -> StaffUser | None:
    """The user's row, locked: a login of this user waits for the change to commit (and then
    sees it), and a login that came first has already indexed the session this change ends."""
    await session.execute(_STAFF_LOCK)
    return await session.get(StaffUser, pk, with_for_update=True, populate_existing=True)


async def _another_active_owner(session: AsyncSession, user: StaffUser) -> bool:
    others = await session.scalar(
        sa.select(sa.func.count())
        .select_from(StaffUser)
        .where(
            col(StaffUser.role) == StaffRole.OWNER.value,
            col(StaffUser.active).is_(True),
            col(StaffUser.id) != user.id,
        )
    )
    return bool(others)


def _is_active_owner(user: StaffUser) -> bool:
    return user.active and user.role == StaffRole.OWNER.value


async def update_staff_user(
    ctx: Context,
    *,
    staff_user_id: str,
    name: str | UnsetType | None = strawberry.UNSET,
    role: StaffRole | UnsetType | None = strawberry.UNSET,
) -> StaffUser | Rejection:
    """Rename a user or change their role (fields left out stay as they are; a null name clears
    it). A new role ends the user's sessions, so it applies from their next login."""
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

    async def work(session: AsyncSession) -> StaffUser | Rejection:
        user = await _locked(session, pk)
        if user is None:
            return rejected("staffUserId", UserErrorCode.NOT_FOUND, "Staff user not found.")
        changed = {field: value for field, value in changes.items() if getattr(user, field) != value}
        demoted = "role" in changed and changed["role"] != StaffRole.OWNER.value
        if demoted and _is_active_owner(user) and not await _another_active_owner(session, user):
            return rejected("role", UserErrorCode.INVALID_STATE, LAST_OWNER)
        if not changed:
            return user
        for field, value in changed.items():
            setattr(user, field, value)
        data: dict[str, Any] = {"fields": sorted(changed)}
        if "role" in changed:
            data["role"] = changed["role"]
        audit.record(
            session,
            actor=ctx.principal,
            action="staff_user.updated",
            entity="staff_user",
            entity_id=user.id,
            data=data,
        )
        await session.flush()
        if "role" in changed:
            await ctx.resources.sessions.end_all(tenant_id=ctx.tenant.id, subject_id=user.id)
        return user

    return await ctx.write(work)


async def deactivate_staff_user(ctx: Context, *, staff_user_id: str) -> StaffUser | Rejection:
    """Deactivate a user: they can no longer log in and their sessions end at once. Deactivating
    a deactivated user changes nothing."""
    problems = Problems()
    pk = check.object_id(problems, "staffUserId", "StaffUser", staff_user_id)
    if problems or pk is None:
        return problems.rejection()

    async def work(session: AsyncSession) -> StaffUser | Rejection:
        user = await _locked(session, pk)
        if user is None:
            return rejected("staffUserId", UserErrorCode.NOT_FOUND, "Staff user not found.")
        if _is_active_owner(user) and not await _another_active_owner(session, user):
            return rejected("staffUserId", UserErrorCode.INVALID_STATE, LAST_OWNER)
        if user.active:
            user.active = False
            audit.record(
                session,
                actor=ctx.principal,
                action="staff_user.deactivated",
                entity="staff_user",
                entity_id=user.id,
            )
            await session.flush()
        await ctx.resources.sessions.end_all(tenant_id=ctx.tenant.id, subject_id=user.id)
        return user

    return await ctx.write(work)
