"""Queueing an outgoing message: choose the channel (or record why it may not go), render the
template in the guest's language, write the `communication` row and its outbox work, all in the
caller's transaction. Sending happens after commit (`tasks/delivery.py`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.public import OutboxKind
from hospes.models.tenant import (
    Booking,
    Channel,
    Communication,
    CommunicationEvent,
    CommunicationStatus,
    DeliveryStep,
    Direction,
    Guest,
    Inquiry,
    InquiryQuote,
    MessageClass,
    MessageTemplate,
    Payment,
)
from hospes.notifications import routing, templates, values
from hospes.notifications.routing import Recipient, Routed
from hospes.tasks import outbox
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import (
    GUEST_EMAIL,
    GUEST_PHONE,
    MESSAGE_BODY,
    MESSAGE_RECIPIENT,
    MESSAGE_SECRETS,
    MESSAGE_SUBJECT,
)
from hospes.tenancy.registry import TenantRef
from hospes.tenancy.tenant_settings import TenantSettings

# Values that are credentials: never in the body staff read, only in `secrets_enc` beside it.
SECRET_VALUES = frozenset({"portal_link", "set_password_link", "link"})


def marker(name: str) -> str:
    """What a secret value reads as in the stored body (and in the staff's view of it)."""
    return f"[{name.replace('_', ' ')}]"


def reveal(text: str | None, secrets: Mapping[str, str]) -> str | None:
    """The text as sent: markers replaced by the secret values."""
    if text is None:
        return None
    for name, value in secrets.items():
        text = text.replace(marker(name), value)
    return text


class SealedText(Protocol):
    """A stored message's ciphertexts: a `Communication`, or a row the delivery path read with Core."""

    @property
    def subject_enc(self) -> bytes | None: ...
    @property
    def body_enc(self) -> bytes | None: ...
    @property
    def secrets_enc(self) -> bytes | None: ...


def as_sent(communication: SealedText, keys: TenantKeys) -> tuple[str | None, str]:
    """Subject and body as they go to the guest: decrypted, the markers replaced by the links."""
    secrets: dict[str, str] = json.loads(MESSAGE_SECRETS.unseal(keys, communication.secrets_enc) or "{}")
    subject = reveal(MESSAGE_SUBJECT.unseal(keys, communication.subject_enc), secrets)
    return subject, reveal(MESSAGE_BODY.unseal(keys, communication.body_enc), secrets) or ""


# Messages that only make sense while their booking stands.
LIFECYCLE_KEYS = frozenset({"pre_arrival", "check_in_instructions", "post_stay"})


class NoTemplate(LookupError):
    """No template of that key exists in any language."""


@dataclass(frozen=True)
class Draft:
    """What to send to a guest: a template key (rendered here; a given `subject` replaces the
    template's) or a free subject/body (the key then only labels it), and either a channel a person
    chose or none (routing decides). Without a guest (an address no guest record holds yet), a free
    body to an explicit `recipient`. A message about an inquiry is filed on it and fills the
    inquiry's placeholders (and its quote's)."""

    guest: Guest | None
    booking: Booking | None = None
    payment: Payment | None = None
    inquiry: Inquiry | None = None
    quote: InquiryQuote | None = None
    template_key: str | None = None
    subject: str | None = None
    body: str | None = None
    channel: Channel | None = None
    message_class: MessageClass = MessageClass.TRANSACTIONAL
    extra: Mapping[str, str] = field(default_factory=dict)
    # An explicit email address (an email change's new address) instead of the guest's own.
    recipient: str | None = None
    staff_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str | None
    body: str


class Contact(Protocol):
    """What routing needs of a guest: a `Guest`, or a row the delivery path read with Core."""

    @property
    def email_enc(self) -> bytes | None: ...
    @property
    def phone_enc(self) -> bytes | None: ...
    @property
    def preferred_channel(self) -> str | None: ...
    @property
    def sms_opt_in(self) -> bool: ...
    @property
    def marketing_email_consent(self) -> bool: ...
    @property
    def erased_at(self) -> datetime | None: ...


def recipient_of(guest: Contact | None, keys: TenantKeys, *, override: str | None = None) -> Recipient:
    """The guest as routing sees them, contact decrypted; an override address replaces both (and
    stands alone when there is no guest: transactional mail only)."""
    if override is not None or guest is None:
        return Recipient(
            email=override,
            phone=None,
            preferred_channel=Channel.EMAIL,
            sms_opt_in=False,
            marketing_email_consent=guest.marketing_email_consent if guest else False,
            erased=guest is not None and guest.erased_at is not None,
        )
    return Recipient(
        email=GUEST_EMAIL.unseal(keys, guest.email_enc),
        phone=GUEST_PHONE.unseal(keys, guest.phone_enc),
        preferred_channel=Channel(guest.preferred_channel) if guest.preferred_channel else None,
        sms_opt_in=guest.sms_opt_in,
        marketing_email_consent=guest.marketing_email_consent,
        erased=guest.erased_at is not None,
    )


async def template_candidates(session: AsyncSession, key: str) -> list[templates.TemplateCandidate]:
    rows = (await session.scalars(sa.select(MessageTemplate).where(col(MessageTemplate.key) == key))).all()
    return [
        templates.TemplateCandidate(
            key=row.key,
            language=row.language,
            channel=Channel(row.channel) if row.channel else None,
            message_class=MessageClass(row.message_class),
            subject=row.subject,
            body=row.body,
        )
        for row in rows
    ]


async def render(
    session: AsyncSession,
    *,
    tenant: TenantRef,
    keys: TenantKeys,
    key: str,
    language: str | None,
    channel: Channel,
    guest: Guest,
    booking: Booking | None,
    payment: Payment | None = None,
    inquiry: Inquiry | None = None,
    quote: InquiryQuote | None = None,
    extra: Mapping[str, str] | None = None,
) -> Rendered:
    """The template of `key` for the guest's language and the channel (with the fallback chain),
    rendered. Raises `NoTemplate` when the key has no template at all."""
    default_language = TenantSettings.of(tenant).default_language
    chosen = templates.choose(
        await template_candidates(session, key),
        key=key,
        language=language,
        channel=channel,
        default_language=default_language,
    )
    if chosen is None:
        raise NoTemplate(key)
    filled = await values.values_for(
        session,
        keys=keys,
        key=key,
        language=chosen.language,
        company_name=tenant.name,
        guest=guest,
        booking=booking,
        payment=payment,
        inquiry=inquiry,
        quote=quote,
        extra=extra,
    )
    subject = templates.render(chosen.subject, filled) if chosen.subject else None
    return Rendered(
        language=chosen.language,
        subject=subject_for(channel, subject, tenant),
        body=templates.render(chosen.body, filled),
    )


def subject_for(channel: Channel, subject: str | None, tenant: TenantRef) -> str | None:
    """An email needs a subject: the company's name when the message has none."""
    return (subject or tenant.name) if channel is Channel.EMAIL else subject


def add_event(
    session: AsyncSession,
    communication: Communication,
    step: DeliveryStep,
    *,
    provider: str | None = None,
    detail: str | None = None,
    at: datetime | None = None,
) -> None:
    """A step on the communication's timeline, on its current channel (`at`: now)."""
    session.add(
        CommunicationEvent(
            id=uuid.uuid4(),
            communication_id=communication.id,
            step=step.value,
            channel=communication.channel,
            provider=provider,
            detail=detail,
            at=at or utcnow(),
        )
    )


async def queue(
    session: AsyncSession,
    *,
    tenant: TenantRef,
    keys: TenantKeys,
    draft: Draft,
    lease_seconds: float,
) -> Communication:
    """Write the message as `queued` (with its outbox work) or as `suppressed` with the reason.
    Nothing is dropped: a message that may not go is still recorded, rendered, with why."""
    guest = draft.guest
    if guest is None and (draft.recipient is None or draft.body is None):
        raise ValueError("a message without a guest needs an explicit recipient and its own body")
    secrets = {name: value for name, value in draft.extra.items() if name in SECRET_VALUES and value}
    shown = {**draft.extra, **{name: marker(name) for name in secrets}}
    recipient = recipient_of(guest, keys, override=draft.recipient)
    decision = routing.route(recipient, message_class=draft.message_class, requested=draft.channel)
    channel = decision.channel if isinstance(decision, Routed) else (draft.channel or Channel.EMAIL)
    language = guest.language if guest else None
    if draft.body is None and draft.template_key is not None:
        assert guest is not None
        rendered = await render(
            session,
            tenant=tenant,
            keys=keys,
            key=draft.template_key,
            language=language,
            channel=channel,
            guest=guest,
            booking=draft.booking,
            payment=draft.payment,
            inquiry=draft.inquiry,
            quote=draft.quote,
            extra=shown,
        )
        subject, body, language = rendered.subject, rendered.body, rendered.language
        if draft.subject is not None:
            subject = subject_for(channel, draft.subject, tenant)
    else:
        subject, body = subject_for(channel, draft.subject, tenant), draft.body or ""
    communication = Communication(
        id=uuid.uuid4(),
        guest_id=guest.id if guest else None,
        booking_id=draft.booking.id if draft.booking else None,
        inquiry_id=draft.inquiry.id if draft.inquiry else None,
        channel=channel.value,
        direction=Direction.OUT.value,
        template_key=draft.template_key,
        language=language,
        message_class=draft.message_class.value,
        channel_requested=draft.channel is not None,
        created_by_staff_id=draft.staff_id,
    )
    MESSAGE_SUBJECT.write(communication, keys, subject)
    MESSAGE_BODY.write(communication, keys, body)
    MESSAGE_RECIPIENT.write(communication, keys, draft.recipient)
    MESSAGE_SECRETS.write(communication, keys, json.dumps(secrets) if secrets else None)
    if isinstance(decision, Routed):
        communication.status = CommunicationStatus.QUEUED.value
    else:
        communication.status = CommunicationStatus.SUPPRESSED.value
        communication.error = decision.reason
    communication.status_at = utcnow()
    session.add(communication)
    await session.flush()
    if isinstance(decision, Routed):
        add_event(session, communication, DeliveryStep.QUEUED)
        await outbox.put(
            session,
            tenant_id=tenant.id,
            kind=OutboxKind.DELIVER,
            ref_id=communication.id,
            lease_seconds=lease_seconds,
        )
    else:
        add_event(session, communication, DeliveryStep.SUPPRESSED, detail=decision.reason)
    return communication
