"""What staff see of outgoing messages without sending any: a message rendered as it would go,
and the company's sending setup."""

from __future__ import annotations

import strawberry

from hospes.models.tenant import Channel


@strawberry.type(name="MessagePreview", description="A message rendered as it would go now; nothing is sent.")
class Preview:
    channel: Channel
    language: str
    subject: str | None
    body: str
    suppressed_reason: str | None = strawberry.field(description="Why it would not go, if it would not.")


@strawberry.type(description="What the company's messages go out through; secrets are never shown.")
class MessagingSettings:
    email_provider: str
    sms_provider: str
    whatsapp_provider: str
    email_from: str | None
    sms_from: str | None
    whatsapp_from: str | None
    own_sendgrid_key: bool
    own_twilio_account: bool
