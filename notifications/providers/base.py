"""What every message provider offers: send one message, or say why it could not.

Providers are synchronous (the `sendgrid` and `twilio` libraries are); the worker calls them from a
thread. A provider never retries by itself: the delivery task decides, from the failure's kind."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from hospes.models.tenant import Channel


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one recipient. `to` is an E.164 number for SMS/WhatsApp, an address for email."""

    communication_id: uuid.UUID
    tenant_id: uuid.UUID
    channel: Channel
    to: str
    subject: str | None
    body: str
    # Where the provider should report delivery status (Twilio), or None.
    status_callback: str | None = None
    # Email about an inquiry: the inquiry's own Reply-To address and our Message-ID for the mail
    # (`notifications/inquiry_addresses.py`), so the guest's answer finds its inquiry again.
    reply_to: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The provider took the message; `provider_message_id` finds it again in status callbacks."""

    provider: str
    provider_message_id: str


class DeliveryError(Exception):
    """The provider did not take the message. `reason` is the provider's own words, fit to store."""

    def __init__(self, reason: str, *, provider: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider = provider


class TransientFailure(DeliveryError):
    """The provider certainly did not take the message, and may later: it could not be reached, or it
    answered that it refused the message for now (429, 503). Worth trying again."""

    def __init__(self, reason: str, *, provider: str, retry_after: float | None = None) -> None:
        super().__init__(reason, provider=provider)
        self.retry_after = retry_after


class PermanentFailure(DeliveryError):
    """Trying again will not help: invalid number, unsubscribed address, any other 4xx."""


class UnknownOutcome(DeliveryError):
    """The request may have reached the provider, which may have sent the message: a timeout or a
    dropped connection after the request went out, an answer that cannot be read, a 5xx the provider
    does not document as a refusal. Never retried (the guest could get it twice); the provider's
    delivery report settles it."""


class Provider(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> Accepted:
        """Hand the message to the provider; raise `TransientFailure`, `PermanentFailure` or
        `UnknownOutcome` (see `notifications.providers.failures`, which decides between them)."""
        ...
