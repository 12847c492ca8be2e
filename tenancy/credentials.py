"""Credential -> principal. Every path fails closed: a token, session, key or tenant that is not in
the registry yields a failure, never a default tenant.

Credentials: `Authorization: Bearer` (staff or guest-account session), `X-Portal-Token` (one
booking), `X-Api-Key` (a partner, with scopes), or a bare `X-Tenant` (public forms). One
credential per request; `X-Tenant`, when sent with one, must name the credential's tenant."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from hospes.models.public import ApiKey, PortalToken
from hospes.tenancy import tokens
from hospes.tenancy.database import first_row
from hospes.tenancy.logins import LoginStore
from hospes.tenancy.principal import AuthResult, FailureCode, Principal, PrincipalKind
from hospes.tenancy.registry import TenantRef, TenantRegistry

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,40}$")

INVALID_SESSION = "Invalid or expired session."
INVALID_LINK = "Invalid or expired link."
INVALID_KEY = "Invalid or revoked API key."
UNKNOWN_TENANT = "Unknown tenant."
WRONG_TENANT = "This credential does not belong to the tenant named in X-Tenant."
ONE_CREDENTIAL = "Send one credential: Authorization, X-Portal-Token or X-Api-Key."

_CREDENTIAL_HEADERS = ("authorization", "x-portal-token", "x-api-key")


class CredentialResolver:
    def __init__(
        self,
        *,
        registry: TenantRegistry,
        logins: LoginStore,
        engine: AsyncEngine,
        redis: Redis,
        namespace: str,
        api_key_limit_per_minute: int,
    ) -> None:
        self._registry = registry
        self._logins = logins
        self._engine = engine
        self._redis = redis
        self._namespace = namespace
        self._api_key_limit = api_key_limit_per_minute

    async def resolve(self, headers: Mapping[str, str]) -> AuthResult:
        """Read the request's credential headers and return who is calling."""
        named_slug = headers.get("x-tenant")
        sent = [name for name in _CREDENTIAL_HEADERS if headers.get(name) is not None]
        if len(sent) > 1:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, ONE_CREDENTIAL)
        if sent == ["authorization"]:
            result = await self._from_bearer(headers["authorization"])
        elif sent == ["x-portal-token"]:
            result = await self._from_portal_token(headers["x-portal-token"].strip())
        elif sent == ["x-api-key"]:
            result = await self._from_api_key(headers["x-api-key"].strip())
        elif named_slug is not None:
            tenant = await self._tenant_by_slug(named_slug)
            if tenant is None:
                return AuthResult.failed(FailureCode.UNAUTHENTICATED, UNKNOWN_TENANT)
            return AuthResult(principal=Principal(tenant=tenant, kind=PrincipalKind.PUBLIC))
        else:
            return AuthResult.anonymous()
        principal = result.principal
        if principal is not None and named_slug is not None and named_slug != principal.tenant.slug:
            return AuthResult.failed(FailureCode.FORBIDDEN, WRONG_TENANT)
        return result

    async def _from_bearer(self, authorization: str) -> AuthResult:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_SESSION)
        session = await self._logins.get(token.strip())
        if session is None:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_SESSION)
        tenant = await self._registry.by_id(session.tenant_id)
        if tenant is None or not tenant.active:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_SESSION)
        return AuthResult(
            principal=Principal(
                tenant=tenant,
                kind=PrincipalKind(session.kind),
                subject_id=session.subject_id,
                role=session.role,
                credential_hash=session.token_hash,
            )
        )

    async def _from_portal_token(self, token: str) -> AuthResult:
        """Expired, revoked, unknown and cancelled-booking links (cancelling revokes) answer alike."""
        if not token.startswith(tokens.PORTAL_PREFIX) or len(token) > 100:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_LINK)
        row = await first_row(
            self._engine,
            sa.select(col(PortalToken.tenant_id), col(PortalToken.booking_id)).where(
                col(PortalToken.token_hash) == tokens.digest(token),
                col(PortalToken.revoked_at).is_(None),
                col(PortalToken.expires_at) > sa.func.now(),
            ),
        )
        tenant = await self._registry.by_id(row.tenant_id) if row is not None else None
        if row is None or tenant is None or not tenant.active:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_LINK)
        return AuthResult(
            principal=Principal(tenant=tenant, kind=PrincipalKind.PORTAL, subject_id=row.booking_id)
        )

    async def _from_api_key(self, key: str) -> AuthResult:
        prefix = tokens.api_key_prefix(key)
        if prefix is None:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_KEY)
        row = await first_row(
            self._engine,
            sa.select(col(ApiKey.id), col(ApiKey.tenant_id), col(ApiKey.key_hash), col(ApiKey.scopes)).where(
                col(ApiKey.prefix) == prefix, col(ApiKey.revoked_at).is_(None)
            ),
        )
        if row is None or not tokens.same_digest(key, row.key_hash):
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_KEY)
        tenant = await self._registry.by_id(row.tenant_id)
        if tenant is None or not tenant.active:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_KEY)
        limited = await self._count_key_use(row.id)
        if limited is not None:
            return limited
        return AuthResult(
            principal=Principal(
                tenant=tenant, kind=PrincipalKind.PARTNER, subject_id=row.id, scopes=frozenset(row.scopes)
            )
        )

    async def _count_key_use(self, key_id: uuid.UUID) -> AuthResult | None:
        """Per-key rate limit (fixed minute windows); also stamps `last_used_at` once a minute."""
        now = int(time.time())
        window = now - now % 60
        counter = f"{self._namespace}:rate:api_key:{key_id}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, 60)
            count, _ = await pipe.execute()
        if int(count) == 1:
            async with self._engine.begin() as conn:
                await conn.execute(
                    sa.update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=sa.func.now())
                )
        if int(count) > self._api_key_limit:
            retry_after = window + 60 - now
            return AuthResult.failed(
                FailureCode.RATE_LIMITED,
                f"Too many requests; try again in {retry_after} seconds.",
                retry_after=retry_after,
            )
        return None

    async def _tenant_by_slug(self, slug: str) -> TenantRef | None:
        if not SLUG.fullmatch(slug):
            return None
        tenant = await self._registry.by_slug(slug)
        return tenant if tenant is not None and tenant.active else None
