"""Rate limits kept in Redis: fixed windows counted with INCR, so every API process shares them."""

from __future__ import annotations

import time

from starlette.requests import HTTPConnection

from resolvers.context import Context
from schema.errors import ApiError, ErrorCode


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
