"""Changing a company's settings (owners and managers): every given value checked, then stored on
the registry row in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.public import Tenant
from hospes.services import validation as check
from hospes.services.rejections import Problems, Rejection, UserErrorCode
from hospes.tenancy.registry import TenantRef
from hospes.tenancy.tenant_settings import TenantSettings


async def update_settings(
    session: AsyncSession, *, tenant: TenantRef, changes: Mapping[str, Any]
) -> TenantSettings | Rejection:
    """The tenant's settings with `changes` (field name -> value; only the fields given) applied
    and stored. The registry row lives in `public`; a tenant-bound session may write it (it is
    qualified). The caller forgets its cached registry rows after the commit."""
    problems = Problems()
    values = _clean(problems, changes)
    if problems:
        return problems.rejection()
    updated = replace(TenantSettings.of(tenant), **values)
    await session.execute(
        sa.update(Tenant)
        .where(col(Tenant.id) == tenant.id)
        .values(settings={**tenant.settings, **updated.stored()})
    )
    return updated


def _clean(problems: Problems, given: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in given.items():
        field_name = "".join(part if i == 0 else part.title() for i, part in enumerate(name.split("_")))
        if value is None and name != "default_region":
            problems.add(field_name, UserErrorCode.REQUIRED, "Must not be null.")
            continue
        if name == "default_language":
            values[name] = check.language(problems, field_name, value)
        elif name == "default_region":
            values[name] = check.country(problems, field_name, value) if value is not None else None
        elif name == "default_currency":
            values[name] = check.currency(problems, field_name, value)
        elif name == "portal_base_url":
            url = check.text(problems, field_name, value, max_length=300, required=True)
            if url is not None and not url.startswith(("https://", "http://")):
                problems.add(field_name, UserErrorCode.INVALID, "Must be an http(s) URL.")
            values[name] = url.rstrip("/") if url else None
        elif name == "portal_expiry_days_after_checkout":
            values[name] = check.count(problems, field_name, value, minimum=1, maximum=365)
        elif name == "check_in_instructions_days_before":
            values[name] = check.count(problems, field_name, value, minimum=0, maximum=60)
        elif name in ("pre_arrival_days_before", "check_in_message_days_before", "post_stay_days_after"):
            values[name] = check.count(problems, field_name, value, minimum=0, maximum=90)
        elif name == "lifecycle_send_hour":
            values[name] = check.count(problems, field_name, value, minimum=0, maximum=23)
        else:
            values[name] = value
    return values
