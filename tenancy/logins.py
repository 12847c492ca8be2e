"""Logins (what a bearer token of a staff user or guest account stands for), kept in Redis under the
SHA-256 of their token (the token itself is never stored); called logins, not sessions, so they are
not confused with database sessions. Their Redis keys keep their first names (`session:…`), so a
deploy logs nobody out. Each user's logins are also indexed in a set, so that deactivating a user
or changing their role ends every login they hold at once."""

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
class Login:
    tenant_id: uuid.UUID
    kind: str
    subject_id: uuid.UUID
    role: str | None
    token_hash: str


class LoginStore:
    def __init__(self, redis: Redis, *, ttl_seconds: int, namespace: str = "hospes") -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._namespace = namespace

    def _key(self, hashed: str) -> str:
        return f"{self._namespace}:session:{hashed}"

    def _index(self, tenant_id: uuid.UUID, subject_id: uuid.UUID) -> str:
        return f"{self._namespace}:user_sessions:{tenant_id}:{subject_id}"

    async def create(
        self, *, tenant_id: uuid.UUID, kind: str, subject_id: uuid.UUID, role: str | None
    ) -> str:
        """Start a session and return its bearer token (256 bits from `secrets`)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        hashed = token_hash(token)
        payload = {
            "tenant_id": str(tenant_id),
            "kind": kind,
            "subject_id": str(subject_id),
            "role": role,
        }
        index = self._index(tenant_id, subject_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(hashed), json.dumps(payload), ex=self._ttl)
            pipe.sadd(index, hashed)
            # The index lives as long as the newest session it lists.
            pipe.expire(index, self._ttl)
            await pipe.execute()
        return token

    async def get(self, token: str) -> Login | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        hashed = token_hash(token)
        raw = await self._redis.get(self._key(hashed))
        if raw is None:
            return None
        data = json.loads(raw)
        return Login(
            tenant_id=uuid.UUID(data["tenant_id"]),
            kind=data["kind"],
            subject_id=uuid.UUID(data["subject_id"]),
            role=data.get("role"),
            token_hash=hashed,
        )

    async def end(self, hashed: str) -> bool:
        """End one session (by its token's hash); False if it had already ended."""
        key = self._key(hashed)
        raw = await self._redis.get(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if raw is not None:
                data = json.loads(raw)
                pipe.srem(self._index(uuid.UUID(data["tenant_id"]), uuid.UUID(data["subject_id"])), hashed)
            deleted, *_ = await pipe.execute()
        return bool(deleted)

    async def end_all(self, *, tenant_id: uuid.UUID, subject_id: uuid.UUID) -> int:
        """End every session of one user of one tenant; returns how many were still live."""
        index = self._index(tenant_id, subject_id)
        members = await self._redis.smembers(index)
        if not members:
            return 0
        hashes = [member.decode() if isinstance(member, bytes) else str(member) for member in members]
        async with self._redis.pipeline(transaction=True) as pipe:
            for hashed in hashes:
                pipe.delete(self._key(hashed))
            # Only what was read: a session started meanwhile stays indexed.
            pipe.srem(index, *hashes)
            results = await pipe.execute()
        return sum(int(result) for result in results[: len(hashes)])
