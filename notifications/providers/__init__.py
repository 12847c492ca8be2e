"""Which provider carries each channel: SendGrid and Twilio when configured, the log provider otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from hospes.models.tenant import Channel
from hospes.notifications.providers.base import Provider
from hospes.notifications.providers.log import LogProvider
from hospes.notifications.providers.sendgrid import SendGridProvider
from hospes.notifications.providers.twilio import TwilioProvider


@dataclass(frozen=True)
class ProviderConfig:
    """Provider credentials and senders: the global ones from settings, or one tenant's own."""

    email_from: str | None = None
    # Out of the repr, so a logged or printed configuration never shows a secret.
    sendgrid_api_key: str | None = field(default=None, repr=False)
    sendgrid_base_url: str = "https://api.sendgrid.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_base_url: str = "https://api.twilio.com"
    sms_from: str | None = None
    whatsapp_from: str | None = None
    timeout_seconds: float = 10.0
    # Verifies SendGrid's signed event webhook (base64 DER public key, as SendGrid shows it).
    sendgrid_webhook_public_key: str | None = None

    def merged_over(self, fallback: ProviderConfig) -> ProviderConfig:
        """This configuration, with every field it leaves unset taken from `fallback`.

        A field is unset when it is None or, for the base URLs and the timeout, still at its default:
        a tenant's own credentials must not send a test or benchmark run to the real provider just
        because the tenant's row never mentions a base URL."""
        taken = {
            item.name: getattr(fallback, item.name)
            for item in fields(self)
            if getattr(self, item.name) in (None, item.default)
        }
        return replace(self, **taken)


def build_providers(config: ProviderConfig, *, log_provider: LogProvider) -> dict[Channel, Provider]:
    """One provider per channel: the real one when its credentials and sender are all configured,
    else `log_provider` (so a development setup sends nothing and still shows every message)."""
    providers: dict[Channel, Provider] = dict.fromkeys(Channel, log_provider)
    if config.sendgrid_api_key and config.email_from:
        providers[Channel.EMAIL] = SendGridProvider(
            api_key=config.sendgrid_api_key,
            sender=config.email_from,
            base_url=config.sendgrid_base_url,
            timeout=config.timeout_seconds,
        )
    if config.twilio_account_sid and config.twilio_auth_token and (config.sms_from or config.whatsapp_from):
        # One client for both channels; a channel without a sender stays on the log provider.
        twilio = TwilioProvider(
            account_sid=config.twilio_account_sid,
            auth_token=config.twilio_auth_token,
            sms_from=config.sms_from,
            whatsapp_from=config.whatsapp_from,
            base_url=config.twilio_base_url,
            timeout=config.timeout_seconds,
        )
        if config.sms_from:
            providers[Channel.SMS] = twilio
        if config.whatsapp_from:
            providers[Channel.WHATSAPP] = twilio
    return providers


__all__ = ["LogProvider", "Provider", "ProviderConfig", "build_providers"]
