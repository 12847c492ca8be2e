"""Staff login and logout."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlmodel import col, select

from models.columns import utcnow
from models.tenant import StaffUser
from resolvers.context import Context
from resolvers.validation import Rejection, rejected
from schema.errors import UserErrorCode, unauthenticated
from schema.inputs import LoginInput
from tenancy.credentials import SLUG
from tenancy.principal import PrincipalKind

INVALID_LOGIN = "Unknown email or wrong password."


def _invalid_login() -> Rejection:
    return rejected(None, UserErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN)


async def login(ctx: Context, data: LoginInput) -> str | Rejection:
    """A session token for valid staff credentials. Unknown tenant, unknown email, inactive user
    and wrong password all give the same answer at the same cost."""
    resources = ctx.resources
    email = data.email.strip().lower()
    tenant = await resources.registry.by_slug(data.tenant) if SLUG.fullmatch(data.tenant) else None
    user: StaffUser | None = None
    if tenant is not None and tenant.active and email:
        async with resources.tenant_sessions.open(tenant.schema_name) as session:
            user = await session.scalar(select(StaffUser).where(col(StaffUser.email) == email))
    password_hash = user.password_hash if user is not None and user.active else None
    # argon2 is deliberately slow: keep it off the event loop.
    valid = await asyncio.to_thread(resources.passwords.verify, password_hash, data.password)
    if not valid or user is None or tenant is None:
        return _invalid_login()
    async with resources.tenant_sessions.open(tenant.schema_name) as session, session.begin():
        values: dict[str, object] = {"last_login_at": utcnow()}
        if resources.passwords.needs_rehash(user.password_hash):
            values["password_hash"] = await asyncio.to_thread(resources.passwords.hash, data.password)
        await session.execute(sa.update(StaffUser).where(col(StaffUser.id) == user.id).values(**values))
    return await resources.sessions.create(
        tenant_id=tenant.id, kind=PrincipalKind.STAFF.value, subject_id=user.id, role=user.role
    )


async def logout(ctx: Context) -> bool:
    """End the session the request was sent with."""
    principal = ctx.require(PrincipalKind.STAFF, PrincipalKind.GUEST_ACCOUNT)
    if principal.credential_hash is None:
        raise unauthenticated()
    return await ctx.resources.sessions.end(principal.credential_hash)


async def current_staff_user(ctx: Context) -> StaffUser:
    principal = ctx.require(PrincipalKind.STAFF)
    assert principal.subject_id is not None
    user = await ctx.loaders.staff_user.load(principal.subject_id)
    if user is None or not user.active:
        raise unauthenticated()
    return user
