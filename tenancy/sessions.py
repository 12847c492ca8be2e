"""Login sessions, kept in Redis under the SHA-256 of their token (the token itself is never stored)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

TOKEN_PREFIX = "hs_"  # noqa: S105  (a marker, not a secret)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionData:
    tenant_id: uuid.UUID
    kind: str
    subject_id: uuid.UUID
    role: str | None
    token_hash: str


class SessionStore:
    def __init__(self, redis: Redis, *, ttl_seconds: int, namespace: str = "hospes") -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._namespace = namespace

    def _key(self, hashed: str) -> str:
        return f"{self._namespace}:session:{hashed}"

    async def create(
        self, *, tenant_id: uuid.UUID, kind: str, subject_id: uuid.UUID, role: str | None
    ) -> str:
        """Start a session and return its bearer token (256 bits from `secrets`)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        payload = {
            "tenant_id": str(tenant_id),
            "kind": kind,
            "subject_id": str(subject_id),
            "role": role,
        }
        await self._redis.set(self._key(token_hash(token)), json.dumps(payload), ex=self._ttl)
        return token

    async def get(self, token: str) -> SessionData | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        hashed = token_hash(token)
        raw = await self._redis.get(self._key(hashed))
        if raw is None:
            return None
        data = json.loads(raw)
        return SessionData(
            tenant_id=uuid.UUID(data["tenant_id"]),
            kind=data["kind"],
            subject_id=uuid.UUID(data["subject_id"]),
            role=data.get("role"),
            token_hash=hashed,
        )

    async def end(self, hashed: str) -> bool:
        return bool(await self._redis.delete(self._key(hashed)))
