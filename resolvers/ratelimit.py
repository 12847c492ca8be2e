"""Rate limits kept in Redis: fixed windows counted with INCR, so every API process shares them."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from hospes.resolvers.context import Context
from hospes.schema.errors import ApiError, ErrorCode


def client_ip(connection: HTTPConnection, *, trusted_hops: int) -> str:
    """The caller's address: the socket peer, or the address the trusted proxies saw."""
    if trusted_hops:
        forwarded = [
            part.strip() for part in connection.headers.get("x-forwarded-for", "").split(",") if part.strip()
        ]
        if len(forwarded) >= trusted_hops:
            return forwarded[-trusted_hops]
    return connection.client.host if connection.client else "unknown"


async def hit(ctx: Context, *, bucket: str, subject: str, limit: int, window_seconds: int) -> None:
    """Count one attempt; raise RATE_LIMITED (with `retryAfter` seconds) past `limit` per window."""
    now = int(time.time())
    window = now - now % window_seconds
    namespace = ctx.resources.settings.redis_namespace
    key = f"{namespace}:rate:{bucket}:{ctx.tenant.id}:{subject}:{window}"
    redis = ctx.resources.redis
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_seconds)
        count, _ = await pipe.execute()
    if int(count) > limit:
        retry_after = window + window_seconds - now
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            f"Too many requests; try again in {retry_after} seconds.",
            retryAfter=retry_after,
        )


# --- logins ------------------------------------------------------------------------------------

# How long an address stays known to an account after a successful login from it.
KNOWN_ADDRESS_SECONDS = 30 * 86400


@dataclass(frozen=True)
class LoginLimits:
    """How failed logins are held back, per fixed window: per account from one client, per client,
    and, past `slowdown_after` failures of the account from all clients together, a spacing of
    the account's attempts (1 s, doubling, at most `slowdown_max_seconds`) for clients the
    account has not logged in from."""

    per_account_and_client: int
    per_client: int
    slowdown_after: int
    slowdown_max_seconds: int
    window_seconds: int


@dataclass(frozen=True)
class LoginAttempt:
    """One counted attempt: the counters it used, so a success can give it back."""

    client_key: str
    pair_key: str | None
    account_key: str | None
    known_key: str | None
    window_seconds: int


def _rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        ErrorCode.RATE_LIMITED,
        f"Too many login attempts; try again in {retry_after} seconds.",
        retryAfter=retry_after,
    )


async def _count(redis: Redis, key: str, *, window_seconds: int) -> int:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_seconds)
        count, _ = await pipe.execute()
    return int(count)


async def count_login(ctx: Context, *, scope: str, account: str | None, limits: LoginLimits) -> LoginAttempt:
    """Count a login attempt before any password is checked (so parallel guesses stay within the
    limits); RATE_LIMITED with `retryAfter` when it may not be tried now. `account` is an opaque,
    keyed digest of the account (never an address), None when the input names none. A guessing
    client uses up only its own allowance for the account: the owner, from another address, is
    never locked out by it."""
    settings = ctx.resources.settings
    redis = ctx.resources.redis
    now = int(time.time())
    seconds = limits.window_seconds
    window = now - now % seconds
    ip = client_ip(ctx.request, trusted_hops=settings.trusted_proxy_hops)
    prefix = f"{settings.redis_namespace}:rate:{scope}"
    attempt = LoginAttempt(
        client_key=f"{prefix}:ip:{ip}:{window}",
        pair_key=f"{prefix}:pair:{account}:{ip}:{window}" if account else None,
        account_key=f"{prefix}:account:{account}:{window}" if account else None,
        known_key=f"{prefix}:known:{_pair_digest(account, ip)}" if account else None,
        window_seconds=seconds,
    )
    if account is not None:
        await _slow_down(ctx, attempt, slot_key=f"{prefix}:slowdown:{account}", limits=limits)
    for key, limit in (
        (attempt.pair_key, limits.per_account_and_client),
        (attempt.client_key, limits.per_client),
    ):
        if key is not None and await _count(redis, key, window_seconds=seconds) > limit:
            raise _rate_limited(window + seconds - now)
    # Only attempts that reach the password check count towards the account's slowdown.
    if attempt.account_key is not None:
        await _count(redis, attempt.account_key, window_seconds=seconds)
    return attempt


def _pair_digest(account: str, ip: str) -> str:
    # Which addresses an account logs in from is kept as a digest, not in the clear.
    return hashlib.sha256(f"{account}/{ip}".encode()).hexdigest()[:32]


async def _slow_down(ctx: Context, attempt: LoginAttempt, *, slot_key: str, limits: LoginLimits) -> None:
    """Past the account's slowdown threshold, one attempt per delay from clients it has not logged
    in from: the first to come takes the slot, the others get RATE_LIMITED until it frees. Never
    a sleep: the caller is told when to come back."""
    assert attempt.account_key is not None and attempt.known_key is not None
    redis = ctx.resources.redis
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(attempt.account_key)
        pipe.exists(attempt.known_key)
        failures, known = await pipe.execute()
    excess = int(failures or 0) - limits.slowdown_after
    if excess < 0 or known:
        return
    delay = min(2 ** min(excess, 20), limits.slowdown_max_seconds)
    if not await redis.set(slot_key, 1, ex=delay, nx=True):
        raise _rate_limited(max(int(await redis.ttl(slot_key)), 1))


async def login_succeeded(ctx: Context, attempt: LoginAttempt) -> None:
    """A successful login clears its client's failures on the account, gives its attempt back
    (only failures use up the limits: an office behind one address logs in all day) and makes
    the address known to the account, so the account's slowdown never holds it back."""
    async with ctx.resources.redis.pipeline(transaction=True) as pipe:
        for key in (attempt.client_key, attempt.account_key):
            if key is not None:
                pipe.decr(key)
                pipe.expire(key, attempt.window_seconds)  # a key that expired meanwhile must not stay
        if attempt.pair_key is not None:
            pipe.delete(attempt.pair_key)
        if attempt.known_key is not None:
            pipe.set(attempt.known_key, 1, ex=KNOWN_ADDRESS_SECONDS)
        await pipe.execute()
