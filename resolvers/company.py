"""A company's settings (kept as JSON on its registry row), read with defaults and changed by
owners and managers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from hospes.models.public import Tenant
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.validation import Problems, Rejection
from hospes.schema.errors import UserErrorCode
from hospes.tenancy.registry import TenantRef


@strawberry.enum(description="Whether guests get accounts.")
class AccountCreation(Enum):
    AUTOMATIC = "automatic"  # every booking-form booking creates one
    OPTIONAL = "optional"  # the booking form offers a "create an account" box
    DISABLED = "disabled"


@dataclass(frozen=True)
class CompanySettings:
    default_language: str = "en"
    default_region: str | None = None
    default_currency: str = "USD"
    portal_base_url: str = "https://portal.hospes.example/p"
    portal_expiry_days_after_checkout: int = 30
    check_in_instructions_days_before: int = 3
    account_creation: AccountCreation = AccountCreation.OPTIONAL
    allow_login_at_checkout: bool = True
    # Automatic messages of a stay: a switch each, offsets in days, sent at `lifecycle_send_hour`
    # in the property's timezone.
    send_booking_confirmed: bool = True
    send_payment_receipt: bool = True
    send_pre_arrival: bool = True
    pre_arrival_days_before: int = 7
    send_check_in_instructions: bool = True
    check_in_message_days_before: int = 1
    send_post_stay: bool = True
    post_stay_days_after: int = 1
    lifecycle_send_hour: int = 10

    @classmethod
    def of(cls, tenant: TenantRef) -> CompanySettings:
        """The tenant's settings; unknown or malformed stored values fall back to the defaults."""
        stored = tenant.settings
        values: dict[str, Any] = {}
        for item in fields(cls):
            if stored.get(item.name) is None:
                continue
            raw = stored[item.name]
            if item.name == "account_creation":
                try:
                    values[item.name] = AccountCreation(raw)
                except ValueError:
                    continue
            else:
                values[item.name] = raw
        return cls(**values)

    def stored(self) -> dict[str, Any]:
        data = asdict(self)
        data["account_creation"] = self.account_creation.value
        return data


@strawberry.input
class UpdateSettingsInput:
    default_language: str | None = strawberry.UNSET
    default_region: str | None = strawberry.UNSET
    default_currency: str | None = strawberry.UNSET
    portal_base_url: str | None = strawberry.UNSET
    portal_expiry_days_after_checkout: int | None = strawberry.UNSET
    check_in_instructions_days_before: int | None = strawberry.UNSET
    account_creation: AccountCreation | None = strawberry.UNSET
    allow_login_at_checkout: bool | None = strawberry.UNSET
    send_booking_confirmed: bool | None = strawberry.UNSET
    send_payment_receipt: bool | None = strawberry.UNSET
    send_pre_arrival: bool | None = strawberry.UNSET
    pre_arrival_days_before: int | None = strawberry.UNSET
    send_check_in_instructions: bool | None = strawberry.UNSET
    check_in_message_days_before: int | None = strawberry.UNSET
    send_post_stay: bool | None = strawberry.UNSET
    post_stay_days_after: int | None = strawberry.UNSET
    lifecycle_send_hour: int | None = strawberry.UNSET


def _clean(problems: Problems, data: UpdateSettingsInput) -> dict[str, Any]:
    given = {
        item.name: getattr(data, item.name)
        for item in fields(CompanySettings)
        if getattr(data, item.name) is not strawberry.UNSET
    }
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


async def update_settings(ctx: Context, data: UpdateSettingsInput) -> CompanySettings | Rejection:
    problems = Problems()
    values = _clean(problems, data)
    if problems:
        return problems.rejection()
    tenant = ctx.tenant
    updated = replace(CompanySettings.of(tenant), **values)
    # The registry row lives in `public`; the request's session may write it (it is qualified).
    await ctx.write(lambda session: _store(session, tenant, updated))
    ctx.resources.registry.forget()
    return updated


async def _store(session: Any, tenant: TenantRef, settings: CompanySettings) -> CompanySettings:
    await session.execute(
        sa.update(Tenant)
        .where(col(Tenant.id) == tenant.id)
        .values(settings={**tenant.settings, **settings.stored()})
    )
    return settings
