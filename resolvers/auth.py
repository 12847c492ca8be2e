"""Staff login and logout. Login is rate-limited in Redis per account and IP, per IP, and slowed
down per account (see `ratelimit.count_login`)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from hospes.models.tenant import StaffUser
from hospes.resolvers import ratelimit
from hospes.resolvers.context import Context
from hospes.schema.errors import UserErrorCode, unauthenticated
from hospes.schema.inputs import LoginInput
from hospes.services import auth
from hospes.services.rejections import Rejection, rejected
from hospes.settings import Settings
from hospes.tenancy.credentials import SLUG
from hospes.tenancy.principal import PrincipalKind
from hospes.tenancy.registry import TenantRef

INVALID_LOGIN = "Unknown email or wrong password."


def _invalid_login() -> Rejection:
    return rejected(None, UserErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN)


def _account_digest(ctx: Context, *, tenant: str, email: str) -> str:
    """A keyed hash of company and email: Redis never holds an address, and without the
    master key the counters cannot be matched to one by guessing."""
    secret = hmac.new(ctx.resources.keyring.master.raw, b"hospes/staff-login-limit", hashlib.sha256)
    return hmac.new(secret.digest(), f"{tenant}\n{email}".encode(), hashlib.sha256).hexdigest()[:32]


def _limits(settings: Settings) -> ratelimit.LoginLimits:
    return ratelimit.LoginLimits(
        per_account_and_client=settings.login_limit_per_account,
        per_client=settings.login_limit_per_ip,
        slowdown_after=settings.login_slowdown_after,
        slowdown_max_seconds=settings.login_slowdown_max_seconds,
        window_seconds=settings.login_limit_window_seconds,
    )


async def login(ctx: Context, data: LoginInput) -> str | Rejection:
    """A session token for valid staff credentials. Unknown tenant, unknown email, inactive user
    and wrong password all give the same answer at the same cost."""
    resources = ctx.resources
    email = data.email.strip().lower()
    attempt = await ratelimit.count_login(
        ctx,
        scope="staff_login",
        account=_account_digest(ctx, tenant=data.tenant[:64], email=email[:320]),
        limits=_limits(resources.settings),
    )
    tenant = await resources.registry.by_slug(data.tenant) if SLUG.fullmatch(data.tenant) else None
    user: StaffUser | None = None
    if tenant is not None and tenant.active and email:
        async with resources.tenant_sessions.open(tenant.schema_name) as session:
            user = await auth.staff_user_by_email(session, email=email)
    password_hash = user.password_hash if user is not None and user.active else None
    # argon2 is deliberately slow: keep it off the event loop.
    valid = await asyncio.to_thread(resources.passwords.verify, password_hash, data.password)
    if not valid or user is None or tenant is None:
        return _invalid_login()
    token = await _start_session(ctx, tenant=tenant, user=user, password=data.password)
    if token is None:
        return _invalid_login()
    await ratelimit.login_succeeded(ctx, attempt)
    return token


async def _start_session(ctx: Context, *, tenant: TenantRef, user: StaffUser, password: str) -> str | None:
    """Stamp the login and start the session while holding the user's row, with the role read
    under that lock. A deactivation or role change waits for this to commit and then ends the new
    session too; one that committed first makes this return None (or start with the new role)."""
    resources = ctx.resources
    async with resources.tenant_sessions.open(tenant.schema_name) as session, session.begin():
        role = await auth.stamp_login(session, passwords=resources.passwords, user=user, password=password)
        if role is None:
            return None
        return await resources.logins.create(
            tenant_id=tenant.id, kind=PrincipalKind.STAFF.value, subject_id=user.id, role=role
        )


async def logout(ctx: Context) -> bool:
    """End the session the request was sent with."""
    principal = ctx.require(PrincipalKind.STAFF, PrincipalKind.GUEST_ACCOUNT)
    if principal.credential_hash is None:
        raise unauthenticated()
    return await ctx.resources.logins.end(principal.credential_hash)


async def current_staff_user(ctx: Context) -> StaffUser:
    principal = ctx.require(PrincipalKind.STAFF)
    assert principal.subject_id is not None
    user = await ctx.loaders.staff_user.load(principal.subject_id)
    if user is None or not user.active:
        raise unauthenticated()
    return user
