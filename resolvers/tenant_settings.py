"""`updateSettings`: the given fields of the input, handed to `services/tenant_settings.py`."""

from __future__ import annotations

from dataclasses import fields

import strawberry

from hospes.resolvers.context import Context
from hospes.schema.inputs import UpdateSettingsInput
from hospes.services import tenant_settings
from hospes.services.rejections import Rejection
from hospes.tenancy.tenant_settings import TenantSettings


async def update_settings(ctx: Context, data: UpdateSettingsInput) -> TenantSettings | Rejection:
    changes = {
        item.name: getattr(data, item.name)
        for item in fields(TenantSettings)
        if getattr(data, item.name) is not strawberry.UNSET
    }
    tenant = ctx.tenant
    outcome = await ctx.write(
        lambda session: tenant_settings.update_settings(session, tenant=tenant, changes=changes)
    )
    if not isinstance(outcome, Rejection):
        ctx.resources.registry.forget()
    return outcome
