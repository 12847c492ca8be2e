"""Permission classes for the schema's fields. Each raises the contract's error code itself:
`UNAUTHENTICATED` without a usable credential, `FORBIDDEN` for the wrong kind of caller."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from tenancy.principal import PrincipalKind


class IsStaff(BasePermission):
    """A logged-in staff user of the tenant the request is bound to."""

    message = "Staff only."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        info.context.require(PrincipalKind.STAFF)
        return True


class IsTenantCaller(BasePermission):
    """Any caller bound to a tenant, including the public forms' bare `X-Tenant`."""

    message = "Name the company with X-Tenant."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        info.context.require(*PrincipalKind)
        return True


class IsAuthenticated(BasePermission):
    """Any credential that resolved to a principal (not the public forms' bare `X-Tenant`)."""

    message = "Authentication required."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        info.context.require(
            PrincipalKind.STAFF,
            PrincipalKind.GUEST_ACCOUNT,
            PrincipalKind.PORTAL,
            PrincipalKind.PARTNER,
        )
        return True
