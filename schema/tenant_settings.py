"""Company settings: `settings` and `updateSettings` (owners and managers)."""

from __future__ import annotations

import strawberry

from hospes.resolvers import tenant_settings
from hospes.resolvers.context import Info
from hospes.resolvers.payloads import to_payload
from hospes.resolvers.permissions import MANAGE_SETTINGS
from hospes.schema.enums import AccountCreation
from hospes.schema.errors import UserError
from hospes.schema.inputs import UpdateSettingsInput
from hospes.tenancy.tenant_settings import TenantSettings


@strawberry.type(name="Settings")
class SettingsType:
    default_language: str
    default_region: str | None
    default_currency: str
    portal_base_url: str
    portal_expiry_days_after_checkout: int
    check_in_instructions_days_before: int
    account_creation: AccountCreation
    allow_login_at_checkout: bool
    send_booking_confirmed: bool
    send_payment_receipt: bool
    send_pre_arrival: bool
    pre_arrival_days_before: int
    send_check_in_instructions: bool
    check_in_message_days_before: int
    send_post_stay: bool
    post_stay_days_after: int
    lifecycle_send_hour: int = strawberry.field(description="Local hour (0-23) lifecycle messages go at.")

    @classmethod
    def of(cls, settings: TenantSettings) -> SettingsType:
        return cls(**vars(settings))


@strawberry.type
class UpdateSettingsPayload:
    settings: SettingsType | None
    errors: list[UserError]


@strawberry.type
class SettingsQuery:
    @strawberry.field(permission_classes=[MANAGE_SETTINGS], description="The company's settings.")
    def settings(self, info: Info) -> SettingsType:
        return SettingsType.of(TenantSettings.of(info.context.tenant))


@strawberry.type
class SettingsMutation:
    @strawberry.mutation(permission_classes=[MANAGE_SETTINGS])
    async def update_settings(self, info: Info, input: UpdateSettingsInput) -> UpdateSettingsPayload:
        outcome = await tenant_settings.update_settings(info.context, input)
        return await to_payload(UpdateSettingsPayload, outcome, settings=SettingsType.of)
