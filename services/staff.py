"""Staff users of a company: created (by owners, `hospes user add` and the demo company), renamed,
given another role or deactivated. A role change or a deactivation ends the user's logins at once,
and no change may leave the company without an active owner."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import NAME_MAX
from hospes.models.tenant import StaffRole, StaffUser
from hospes.services import audit
from hospes.services import validation as check
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy.logins import LoginStore
from hospes.tenancy.passwords import Passwords, password_problem
from hospes.tenancy.principal import Principal

LAST_OWNER = "The company needs at least one active owner."
# Serialises changes to a company's staff, so two owners cannot demote each other at once.
_STAFF_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/staff'))")


async def create_staff_user(
    session: AsyncSession,
    *,
    passwords: Passwords,
    email: str,
    password: str,
    role: StaffRole,
    name: str | None = None,
) -> StaffUser | Rejection:
    """Add a staff user to the session's tenant; emails are unique per tenant, case-insensitively."""
    problems = Problems()
    clean_email = check.email(problems, "email", email, required=True)
    clean_name = check.text(problems, "name", name, max_length=NAME_MAX)
    weakness = password_problem(password)
    if weakness:
        problems.add("password", UserErrorCode.INVALID, weakness)
    if problems or clean_email is None:
        return problems.rejection()
    duplicate = rejected("email", UserErrorCode.DUPLICATE, "A staff user with this email exists.")
    taken = await session.scalar(sa.select(col(StaffUser.id)).where(col(StaffUser.email) == clean_email))
    if taken is not None:
        return duplicate
    user = StaffUser(
        email=clean_email,
        name=clean_name,
        role=role.value,
        password_hash=await asyncio.to_thread(passwords.hash, password),
    )
    try:
        async with session.begin_nested():  # two creations racing for one email
            session.add(user)
            await session.flush()
    except IntegrityError:
        return duplicate
    return user


async def add_staff_user(
    session: AsyncSession,
    *,
    passwords: Passwords,
    actor: Principal | None,
    email: str,
    password: str,
    name: str | None,
    role: StaffRole,
) -> StaffUser | Rejection:
    """`create_staff_user`, audited as done by `actor`."""
    outcome = await create_staff_user(
        session, passwords=passwords, email=email, password=password, role=role, name=name
    )
    if not isinstance(outcome, Rejection):
        audit.record(
            session,
            actor=actor,
            action="staff_user.created",
            entity="staff_user",
            entity_id=outcome.id,
            data={"role": outcome.role},
        )
    return outcome


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
    session: AsyncSession,
    *,
    logins: LoginStore,
    tenant_id: uuid.UUID,
    actor: Principal | None,
    user_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> StaffUser | Rejection:
    """Apply checked `changes` (`name`, `role` values) to the user, audited. A new role ends the
    user's logins, so it applies from their next login; the last active owner keeps the role."""
    user = await _locked(session, user_id)
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
        actor=actor,
        action="staff_user.updated",
        entity="staff_user",
        entity_id=user.id,
        data=data,
    )
    await session.flush()
    if "role" in changed:
        await logins.end_all(tenant_id=tenant_id, subject_id=user.id)
    return user


async def deactivate_staff_user(
    session: AsyncSession,
    *,
    logins: LoginStore,
    tenant_id: uuid.UUID,
    actor: Principal | None,
    user_id: uuid.UUID,
) -> StaffUser | Rejection:
    """The user can no longer log in and their logins end at once; never the last active owner."""
    user = await _locked(session, user_id)
    if user is None:
        return rejected("staffUserId", UserErrorCode.NOT_FOUND, "Staff user not found.")
    if _is_active_owner(user) and not await _another_active_owner(session, user):
        return rejected("staffUserId", UserErrorCode.INVALID_STATE, LAST_OWNER)
    if user.active:
        user.active = False
        audit.record(
            session,
            actor=actor,
            action="staff_user.deactivated",
            entity="staff_user",
            entity_id=user.id,
        )
        await session.flush()
    await logins.end_all(tenant_id=tenant_id, subject_id=user.id)
    return user


# The staff list: its statements, run by the API's keyset pagination on the request's session.
LIST_ORDER = (col(StaffUser.email), col(StaffUser.id))


def list_query() -> sa.Select[Any]:
    """Every staff user, deactivated ones included."""
    return sa.select(StaffUser)


def count_query() -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(StaffUser)
