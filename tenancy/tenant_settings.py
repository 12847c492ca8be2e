"""A company's settings: JSON on its registry row, read with defaults. Every layer reads them (the
API, the services, messaging and the actors); `services/tenant_settings.py` changes them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any

from hospes.tenancy.registry import TenantRef


class AccountCreation(Enum):
    """Whether guests get accounts."""

    AUTOMATIC = "automatic"  # every booking-form booking creates one
    OPTIONAL = "optional"  # the booking form offers a "create an account" box
    DISABLED = "disabled"


@dataclass(frozen=True)
class TenantSettings:
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
    def of(cls, tenant: TenantRef) -> TenantSettings:
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
