"""Credential -> principal. Every path fails closed: a token, session or tenant that is not in the
registry yields a failure, never a default tenant."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tenancy.principal import AuthResult, FailureCode, Principal, PrincipalKind
from tenancy.registry import TenantRef, TenantRegistry
from tenancy.sessions import SessionStore

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,40}$")

INVALID_SESSION = "Invalid or expired session."
UNKNOWN_TENANT = "Unknown tenant."
WRONG_TENANT = "This credential does not belong to the tenant named in X-Tenant."


class CredentialResolver:
    def __init__(self, *, registry: TenantRegistry, sessions: SessionStore) -> None:
        self._registry = registry
        self._sessions = sessions

    async def resolve(self, headers: Mapping[str, str]) -> AuthResult:
        """Read `Authorization` / `X-Tenant` and return who is calling."""
        named_slug = headers.get("x-tenant")
        authorization = headers.get("authorization")
        if authorization is not None:
            return await self._from_bearer(authorization, named_slug)
        if named_slug is not None:
            tenant = await self._tenant_by_slug(named_slug)
            if tenant is None:
                return AuthResult.failed(FailureCode.UNAUTHENTICATED, UNKNOWN_TENANT)
            return AuthResult(principal=Principal(tenant=tenant, kind=PrincipalKind.PUBLIC))
        return AuthResult.anonymous()

    async def _from_bearer(self, authorization: str, named_slug: str | None) -> AuthResult:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_SESSION)
        session = await self._sessions.get(token.strip())
        if session is None:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_SESSION)
        tenant = await self._registry.by_id(session.tenant_id)
        if tenant is None or not tenant.active:
            return AuthResult.failed(FailureCode.UNAUTHENTICATED, INVALID_SESSION)
        if named_slug is not None and named_slug != tenant.slug:
            return AuthResult.failed(FailureCode.FORBIDDEN, WRONG_TENANT)
        return AuthResult(
            principal=Principal(
                tenant=tenant,
                kind=PrincipalKind(session.kind),
                subject_id=session.subject_id,
                role=session.role,
                credential_hash=session.token_hash,
            )
        )

    async def _tenant_by_slug(self, slug: str) -> TenantRef | None:
        if not SLUG.fullmatch(slug):
            return None
        tenant = await self._registry.by_slug(slug)
        return tenant if tenant is not None and tenant.active else None
