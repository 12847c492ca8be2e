"""The request as the domain services see it."""

from __future__ import annotations

from hospes.resolvers.context import Context
from hospes.services.caller import Caller


def caller_of(ctx: Context) -> Caller:
    resources = ctx.resources
    return Caller(
        tenant=ctx.tenant,
        actor=ctx.principal,
        keyring=resources.keyring,
        outbox_lease_seconds=resources.settings.outbox_lease_seconds,
    )
