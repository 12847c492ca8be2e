"""ASGI middleware that reads each HTTP request's credentials once and leaves the outcome in
`request.state.auth`; the GraphQL context turns it into a tenant-bound database session."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from hospes.tenancy.credentials import CredentialResolver


class TenancyMiddleware:
    def __init__(self, app: ASGIApp, *, resolver: CredentialResolver) -> None:
        self.app = app
        self.resolver = resolver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            auth = await self.resolver.resolve(Headers(scope=scope))
            scope.setdefault("state", {})["auth"] = auth
        await self.app(scope, receive, send)
