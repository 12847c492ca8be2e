"""`updateSettings`: the given fields of the input, handed to `services/company.py`."""

from __future__ import annotations

from dataclasses import fields

import strawberry

from hospes.resolvers.context import Context
from hospes.schema.inputs import UpdateSettingsInput
from hospes.services import company
from hospes.services.rejections import Rejection
from hospes.tenancy.company_settings import CompanySettings


async def update_settings(ctx: Context, data: UpdateSettingsInput) -> CompanySettings | Rejection:
    changes = {
        item.name: getattr(data, item.name)
        for item in fields(CompanySettings)
        if getattr(data, item.name) is not strawberry.UNSET
    }
    tenant = ctx.tenant
    outcome = await ctx.write(
        lambda session: company.update_settings(session, tenant=tenant, changes=changes)
    )
    if not isinstance(outcome, Rejection):
        ctx.resources.registry.forget()
    return outcome
