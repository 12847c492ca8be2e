"""The guest-account lane's resolvers: who is calling, the rate limits and login sessions (both in
Redis, both the request's), and each mutation's input turned into calls of `services/accounts/`,
which hold the rules and the SQL."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.dataloader import DataLoader

from hospes.models.tenant import Guest, GuestAccount
from hospes.resolvers import ratelimit
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.schema.errors import unauthenticated
from hospes.services.accounts import (
    checkout,
    disabling,
    email_change,
    login,
    passwords,
    profile,
    registration,
    repository,
)
from hospes.services.accounts.deps import AccountDeps, checked_address
from hospes.services.rejections import Problems, Rejection
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.principal import PrincipalKind
from hospes.tenancy.tenant_settings import TenantSettings


def deps_of(ctx: Context) -> AccountDeps:
    """What the account services need of the request."""
    resources = ctx.resources
    return AccountDeps(
        tenant=ctx.tenant,
        actor=ctx.principal,
        keyring=resources.keyring,
        passwords=resources.passwords,
        outbox_lease_seconds=resources.settings.outbox_lease_seconds,
    )


# --- who is calling -------------------------------------------------------------------------


async def current_account(ctx: Context) -> tuple[GuestAccount, Guest]:
    """The caller's account and its guest. A session of a disabled or deleted account (or of an
    erased guest) is refused like an expired one."""
    principal = ctx.require(PrincipalKind.GUEST_ACCOUNT)
    async with ctx.lock:
        account = await repository.by_id(ctx.session(), principal.subject_id)
    if account is None or account.disabled_at is not None:
        raise unauthenticated("Invalid or expired session.")
    guest = await ctx.loaders.guest.load(account.guest_id)
    if guest is None or guest.erased_at is not None:
        raise unauthenticated("Invalid or expired session.")
    return account, guest


async def booking_holder(ctx: Context) -> tuple[GuestAccount, Guest] | None:
    """The logged-in account a booking-form booking belongs to; None for a public caller, and
    when the company does not let guests log in at checkout (the form is then taken as public)."""
    principal = ctx.principal
    if principal is None or principal.kind is not PrincipalKind.GUEST_ACCOUNT:
        return None
    if not TenantSettings.of(ctx.tenant).allow_login_at_checkout:
        return None
    return await current_account(ctx)


def account_of_guest(ctx: Context) -> DataLoader[uuid.UUID, GuestAccount | None]:
    """The request's loader of guests' accounts (one statement per nesting level)."""
    # Kept beside the request's other loaders (which `resolvers/loaders.py` builds lazily, the same
    # way), so it lives and dies with the request.
    store: dict[str, Any] = vars(ctx.loaders)
    loader = store.get("account_of_guest")
    if loader is None:

        async def load(keys: list[uuid.UUID]) -> list[GuestAccount | None]:
            async with ctx.lock:
                return await repository.of_guests(ctx.session(), keys)

        loader = store["account_of_guest"] = DataLoader(load)
    return loader


# --- rate limits and sessions -----------------------------------------------------------------


async def _limit(ctx: Context, *, bucket: str, subject: str, limit: int) -> None:
    window = ctx.resources.settings.account_limit_window_seconds
    await ratelimit.hit(ctx, bucket=bucket, subject=subject, limit=limit, window_seconds=window)


async def _limit_ip(ctx: Context, *, bucket: str, limit: int) -> None:
    ip = ratelimit.client_ip(ctx.request, trusted_hops=ctx.resources.settings.trusted_proxy_hops)
    await _limit(ctx, bucket=f"{bucket}:ip", subject=ip, limit=limit)


def _address_key(email_bidx: bytes) -> str:
    # The blind index: no address is ever written to Redis.
    return bytes(email_bidx).hex()[:32]


async def _limit_address(ctx: Context, *, bucket: str, email_bidx: bytes) -> None:
    limit = ctx.resources.settings.account_request_limit_per_address
    await _limit(ctx, bucket=f"{bucket}:account", subject=_address_key(email_bidx), limit=limit)


async def _count_login(ctx: Context, email_bidx: bytes | None) -> ratelimit.LoginAttempt:
    """Count a password attempt on the account of `email_bidx` (None: an input naming no account)
    from the caller's address; see `ratelimit.count_login`."""
    settings = ctx.resources.settings
    return await ratelimit.count_login(
        ctx,
        scope=f"account_login:{ctx.tenant.id}",
        account=_address_key(email_bidx) if email_bidx is not None else None,
        limits=ratelimit.LoginLimits(
            per_account_and_client=settings.account_login_limit_per_account,
            per_client=settings.account_login_limit_per_ip,
            slowdown_after=settings.account_login_slowdown_after,
            slowdown_max_seconds=settings.login_slowdown_max_seconds,
            window_seconds=settings.account_limit_window_seconds,
        ),
    )


async def _start_session(ctx: Context, account_id: uuid.UUID) -> str:
    return await ctx.resources.logins.create(
        tenant_id=ctx.tenant.id, kind=PrincipalKind.GUEST_ACCOUNT.value, subject_id=account_id, role=None
    )


async def end_sessions(ctx: Context, account_id: uuid.UUID) -> int:
    """End every session of the account; returns how many were live."""
    return await ctx.resources.logins.end_all(tenant_id=ctx.tenant.id, subject_id=account_id)


async def _address_index(ctx: Context, address: str) -> tuple[TenantKeys, bytes]:
    """The tenant's keys and the blind index of a valid `address`."""
    keys = await ctx.keys()
    email_bidx = keys.blind_index(address, kind="email")
    assert email_bidx is not None
    return keys, email_bidx


# --- registration and login -------------------------------------------------------------------


async def register(ctx: Context, *, email: str, password: str, name: str) -> bool | Rejection:
    """Start a registration (see `registration.register`); the answer is the same whether or not
    the address has an account."""
    await _limit_ip(ctx, bucket="account_register", limit=ctx.resources.settings.account_request_limit_per_ip)
    deps = deps_of(ctx)
    request = registration.check_registration(deps=deps, email=email, password=password, name=name)
    if isinstance(request, Rejection):
        return request
    keys, email_bidx = await _address_index(ctx, request.address)
    # Per address too: nobody can have a stranger's inbox flooded.
    await _limit_address(ctx, bucket="account_register", email_bidx=email_bidx)
    # Hashed on both paths, though only a new registration keeps it: the same cost either way.
    password_hash = await deps.hash_password(password)
    return await ctx.write(
        lambda session: registration.register(
            session,
            deps=deps,
            keys=keys,
            registration=request,
            email_bidx=email_bidx,
            password_hash=password_hash,
        )
    )


async def verify_email(ctx: Context, *, token: str, password: str) -> str | Rejection:
    """Follow a registration's link (see `registration.verify_email`); a session starts."""
    deps = deps_of(ctx)
    refused = registration.closed(deps=deps)
    if refused is not None:
        return refused
    # Every attempt counts per address: links cannot be guessed, nor passwords tried on one.
    await _limit_ip(ctx, bucket="verify", limit=ctx.resources.settings.account_request_limit_per_ip)
    refused = registration.malformed_link(token)
    if refused is not None:
        return refused
    outcome = await ctx.write(
        lambda session: registration.verify_email(session, deps=deps, token=token, password=password)
    )
    if isinstance(outcome, Rejection):
        return outcome
    return await _start_session(ctx, outcome)


async def log_in(ctx: Context, *, email: str, password: str) -> str | Rejection:
    """A session token for valid credentials (see `services/accounts/login.py`). Limited per
    account and address, per address, and slowed down per account."""
    keys = await ctx.keys()
    email_bidx = keys.blind_index(login.address_of(email), kind="email")
    attempt = await _count_login(ctx, email_bidx)
    account: GuestAccount | None = None
    if email_bidx is not None:
        async with ctx.lock:
            account = await repository.by_address(ctx.session(), email_bidx)
    deps = deps_of(ctx)
    checked = await login.authenticate(deps=deps, account=account, password=password)
    if isinstance(checked, Rejection):
        return checked
    outcome = await ctx.write(lambda session: login.record_login(session, login=checked))
    if isinstance(outcome, Rejection):
        return outcome
    await ratelimit.login_succeeded(ctx, attempt)
    return await _start_session(ctx, outcome)


async def logout(ctx: Context) -> bool:
    """End the session the request was sent with."""
    principal = ctx.require(PrincipalKind.GUEST_ACCOUNT)
    if principal.credential_hash is None:
        raise unauthenticated()
    return await ctx.resources.logins.end(principal.credential_hash)


# --- passwords --------------------------------------------------------------------------------


async def request_password_reset(ctx: Context, *, email: str) -> bool | Rejection:
    """Mail a reset link, or word that the address has no account; the answer is the same."""
    await _limit_ip(ctx, bucket="account_reset", limit=ctx.resources.settings.account_request_limit_per_ip)
    address = checked_address("email", email)
    if isinstance(address, Rejection):
        return address
    _, email_bidx = await _address_index(ctx, address)
    await _limit_address(ctx, bucket="account_reset", email_bidx=email_bidx)
    deps = deps_of(ctx)
    return await ctx.write(
        lambda session: passwords.request_reset(session, deps=deps, address=address, email_bidx=email_bidx)
    )


async def reset_password(ctx: Context, *, token: str, password: str) -> bool | Rejection:
    """Set a new password with a mailed link; every session of the account ends."""
    refused = passwords.weak_password("password", password)
    if refused is not None:
        return refused
    deps = deps_of(ctx)
    password_hash = await deps.hash_password(password)
    outcome = await ctx.write(
        lambda session: passwords.reset(session, deps=deps, token=token, password_hash=password_hash)
    )
    if isinstance(outcome, Rejection):
        return outcome
    await end_sessions(ctx, outcome)
    return True


async def change_password(ctx: Context, *, current_password: str, new_password: str) -> str | Rejection:
    """Change the caller's password, proven by the current one. Every session of the account ends,
    the caller's too; returns the caller's new session token."""
    account, _ = await current_account(ctx)
    # The same budget as logins: a stolen session cannot guess the password faster than a login.
    attempt = await _count_login(ctx, account.email_bidx)
    deps = deps_of(ctx)
    checked = await passwords.check_change(
        deps=deps, account=account, current_password=current_password, new_password=new_password
    )
    if checked.current_valid:
        await ratelimit.login_succeeded(ctx, attempt)
    if checked.rejection is not None:
        return checked.rejection
    password_hash = await deps.hash_password(new_password)
    await ctx.write(
        lambda session: passwords.change(session, deps=deps, account=account, password_hash=password_hash)
    )
    await end_sessions(ctx, account.id)
    return await _start_session(ctx, account.id)


# --- profile and email ------------------------------------------------------------------------


async def update_profile(ctx: Context, changes: dict[str, Any]) -> Guest | Rejection:
    """Update the caller's own guest record with `changes` (the fields given, snake_case)."""
    _, guest = await current_account(ctx)
    deps = deps_of(ctx)
    values = profile.check_changes(deps=deps, changes=changes)
    if isinstance(values, Rejection):
        return values
    return await ctx.write(
        lambda session: profile.update(session, deps=deps, guest_id=guest.id, values=values)
    )


async def request_email_change(ctx: Context, *, new_email: str) -> bool | Rejection:
    """Mail a confirmation link to the new address; the email changes only when it is followed."""
    account, guest = await current_account(ctx)
    address = checked_address("newEmail", new_email)
    if isinstance(address, Rejection):
        return address
    keys, email_bidx = await _address_index(ctx, address)
    await _limit_address(ctx, bucket="account_email_change", email_bidx=account.email_bidx)
    refused = email_change.same_address(account=account, email_bidx=email_bidx)
    if refused is not None:
        return refused
    deps = deps_of(ctx)
    return await ctx.write(
        lambda session: email_change.request(
            session,
            deps=deps,
            keys=keys,
            account=account,
            guest=guest,
            address=address,
            email_bidx=email_bidx,
        )
    )


async def confirm_email_change(ctx: Context, *, token: str) -> bool | Rejection:
    """Follow an email-change link; single use."""
    deps = deps_of(ctx)
    return await ctx.write(lambda session: email_change.confirm(session, deps=deps, token=token))


# --- accounts the booking form opens, and staff -----------------------------------------------


def form_opens_account(ctx: Context, *, create_account: bool) -> bool:
    """Whether a public booking-form booking gives its guest an account."""
    return checkout.form_opens_account(deps=deps_of(ctx), create_account=create_account)


async def disable_account(ctx: Context, *, guest_id: str) -> Guest | Rejection:
    """Staff disable a guest's account (see `disabling.disable`); its sessions end."""
    problems = Problems()
    guest_pk = check.object_id(problems, "guestId", "Guest", guest_id)
    if problems or guest_pk is None:
        return problems.rejection()
    deps = deps_of(ctx)
    outcome = await ctx.write(lambda session: disabling.disable(session, deps=deps, guest_pk=guest_pk))
    if isinstance(outcome, Rejection):
        return outcome
    guest, account_id = outcome
    await end_sessions(ctx, account_id)
    return guest
