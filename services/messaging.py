"""Messaging as staff and partners drive it: send a message to a guest, the templates (listed and
saved), and the company's own provider credentials. The rules and the SQL; sending itself is
`notifications/outgoing.py`'s."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Booking, Channel, Communication, Guest, MessageClass, MessageTemplate
from hospes.notifications import credentials, outgoing
from hospes.notifications.providers import ProviderConfig
from hospes.services import audit, guests
from hospes.services.rejections import Rejection, UserErrorCode, rejected
from hospes.tenancy.crypto import versions_in
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.principal import Principal, PrincipalKind
from hospes.tenancy.registry import TenantRef

# --- sending ------------------------------------------------------------------------------------


async def send_message(
    session: AsyncSession,
    *,
    tenant: TenantRef,
    keyring: Keyring,
    actor: Principal | None,
    guest_id: uuid.UUID,
    booking_id: uuid.UUID | None,
    template_key: str | None,
    subject: str | None,
    body: str | None,
    channel: Channel | None,
    message_class: MessageClass,
    lease_seconds: float,
) -> Communication | Rejection:
    """Queue a message to a guest (or record it as suppressed, with why), about one of their
    bookings if `booking_id` is given; the guest record is touched."""
    staff_id = actor.subject_id if actor and actor.kind is PrincipalKind.STAFF else None
    guest = await session.get(Guest, guest_id)
    if guest is None:
        return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
    if guest.erased_at is not None:
        return rejected("guestId", UserErrorCode.INVALID_STATE, "This guest was erased.")
    booking = await session.get(Booking, booking_id) if booking_id is not None else None
    if booking_id is not None and booking is None:
        return rejected("bookingId", UserErrorCode.NOT_FOUND, "Booking not found.")
    if booking is not None and booking.guest_id != guest.id:
        return rejected("bookingId", UserErrorCode.INVALID, "The booking is another guest's.")
    versions = versions_in([guest.email_enc, guest.phone_enc])
    try:
        communication = await outgoing.queue(
            session,
            tenant=tenant,
            keys=await keyring.keys(session, tenant.schema_name, versions=versions),
            draft=outgoing.Draft(
                guest=guest,
                booking=booking,
                template_key=template_key,
                subject=subject,
                body=body,
                channel=channel,
                message_class=message_class,
                extra={"portal_link": ""},
                staff_id=staff_id,
            ),
            lease_seconds=lease_seconds,
        )
    except outgoing.NoTemplate:
        return rejected("templateKey", UserErrorCode.NOT_FOUND, "No template with this key.")
    await guests.touch(session, guest.id)
    return communication


def guest_query(guest_id: uuid.UUID) -> sa.Select[Any]:
    """The guest a preview is for (read on the request's session)."""
    return sa.select(Guest).where(col(Guest.id) == guest_id)


def booking_query(booking_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(Booking).where(col(Booking.id) == booking_id)


# --- templates ----------------------------------------------------------------------------------

# The list's order, for the API's keyset pagination: by key, then id.
LIST_ORDER = (MessageTemplate.key, MessageTemplate.id)


def _template_filter(key: str | None, language: str | None) -> list[Any]:
    conditions: list[Any] = []
    if key is not None:
        conditions.append(col(MessageTemplate.key) == key)
    if language is not None:
        conditions.append(sa.func.lower(col(MessageTemplate.language)) == language.lower())
    return conditions


def templates_query(*, key: str | None, language: str | None) -> sa.Select[Any]:
    """The templates, of one key and/or language (in any case) if given."""
    return sa.select(MessageTemplate).where(*_template_filter(key, language))


def templates_count_query(*, key: str | None, language: str | None) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(MessageTemplate).where(*_template_filter(key, language))


async def save_template(
    session: AsyncSession,
    *,
    actor: Principal | None,
    key: str,
    language: str,
    channel: Channel | None,
    message_class: MessageClass,
    subject: str | None,
    body: str,
) -> MessageTemplate:
    """Create or replace the template for (key, language, channel), checked by the caller; audited."""
    values = {
        "key": key,
        "language": language,
        "channel": channel.value if channel else None,
        "message_class": message_class.value,
        "subject": subject,
        "body": body,
        "updated_by_staff_id": actor.subject_id if actor else None,
    }
    statement = insert(MessageTemplate).values(id=uuid.uuid4(), **values)
    row = await session.scalar(
        statement.on_conflict_do_update(
            constraint="message_template_key_language_channel_key",
            set_={**values, "updated_at": sa.func.now()},
        )
        .returning(MessageTemplate)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    audit.record(
        session,
        actor=actor,
        action="template.saved",
        entity="message_template",
        entity_id=row.id,
        data={"key": key, "language": language},
    )
    return row


# --- the company's own providers ----------------------------------------------------------------

_SENDER_FIELDS = {"email": "emailFrom", "sms": "smsFrom", "whatsapp": "whatsappFrom"}


async def save_credentials(
    session: AsyncSession,
    *,
    tenant: TenantRef,
    keyring: Keyring,
    actor: Principal | None,
    given: dict[str, Any],
) -> ProviderConfig | Rejection:
    """Change the company's own credentials by `given` (field: value, None removes), stored
    encrypted, its senders claimed for inbound messages; audited by field name only. The updated
    configuration, or CONFLICT when another company already uses a sender."""
    current = await credentials.own_config(session, keyring, tenant.schema_name) or ProviderConfig()
    updated = replace(current, **given)
    try:
        await credentials.save(
            session, tenant_id=tenant.id, keys=await keyring.keys(session, tenant.schema_name), config=updated
        )
    except credentials.AddressTaken as taken:
        field_name = _SENDER_FIELDS[taken.channel.value]
        return rejected(field_name, UserErrorCode.CONFLICT, "Another company already uses this sender.")
    audit.record(
        session,
        actor=actor,
        action="messaging.credentials_changed",
        entity="provider_settings",
        entity_id=None,
        data={"fields": sorted(given)},
    )
    return updated
