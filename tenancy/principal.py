"""Who is calling: the principal a credential resolves to, or why it resolved to nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from hospes.tenancy.registry import TenantRef


class PrincipalKind(StrEnum):
    STAFF = "staff"
    GUEST_ACCOUNT = "guest_account"
    PORTAL = "portal"
    PARTNER = "partner"
    PUBLIC = "public"


class FailureCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True)
class Principal:
    """`subject_id` is the staff user, the guest account, the API key, or (portal) the booking."""

    tenant: TenantRef
    kind: PrincipalKind
    subject_id: uuid.UUID | None = None
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # Hash of the credential that authenticated this call (lets `logout` end exactly this session).
    credential_hash: str | None = None


@dataclass(frozen=True)
class AuthFailure:
    code: FailureCode
    message: str
    retry_after: int | None = None


@dataclass(frozen=True)
class AuthResult:
    """The outcome of reading a request's credentials: a principal, a failure, or neither (anonymous)."""

    principal: Principal | None = None
    failure: AuthFailure | None = None

    @classmethod
    def anonymous(cls) -> AuthResult:
        return cls()

    @classmethod
    def failed(cls, code: FailureCode, message: str, *, retry_after: int | None = None) -> AuthResult:
        return cls(failure=AuthFailure(code, message, retry_after))
