"""Inbound messages (SMS and WhatsApp replies): filed on the sender's guest record, found by the
phone's blind index inside the company; an unknown sender becomes a new guest. The message joins
the guest's open inquiry; from someone with neither an open inquiry nor an upcoming stay it opens
one (source WHATSAPP or SMS); a guest with a stay coming and no open inquiry is just answered as
a guest (the message stays on their history)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.tenant import (
    Channel,
    Communication,
    CommunicationStatus,
    DeliveryStep,
    Direction,
    Guest,
    InquirySource,
    MessageClass,
)
from hospes.notifications import outgoing
from hospes.notifications.callbacks import InboundMessage
from hospes.services import guests, intake
from hospes.services.inquiries.core import Request, open_inquiry_of
from hospes.services.inquiries.intake import has_upcoming_booking, join_or_open
from hospes.tenancy.encrypted_columns import MESSAGE_BODY
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.registry import TenantRef

_SOURCE = {Channel.WHATSAPP: InquirySource.WHATSAPP, Channel.SMS: InquirySource.SMS}


async def record_inbound(
    session: AsyncSession, *, keyring: Keyring, tenant: TenantRef, inbound: InboundMessage
) -> None:
    """Store the message on its guest's history (a new guest for an unknown sender), once: a
    provider's retry of the same message changes nothing."""
    seen = await session.scalar(
        sa.select(col(Communication.id)).where(
            col(Communication.provider_message_id) == inbound.provider_message_id
        )
    )
    if seen is not None:
        return  # Twilio retried the webhook
    keys = await keyring.keys(session, tenant.schema_name)
    phone_bidx = keys.blind_index(inbound.sender, kind="phone")
    guest = await session.scalar(
        sa.select(Guest)
        .where(col(Guest.phone_bidx) == phone_bidx, col(Guest.erased_at).is_(None))
        .order_by(col(Guest.last_activity_at).desc())
        .limit(1)
    )
    if guest is None:
        details = intake.GuestDetails(
            name=inbound.profile_name or "Unknown sender",
            email=None,
            phone=inbound.sender,
            country=None,
            language=None,
        )
        guest, _ = await intake.find_or_create_guest(
            session, keys, details, actor=None, source=f"inbound:{inbound.channel.value}"
        )
    communication = received(
        guest_id=guest.id,
        channel=inbound.channel,
        provider="twilio",
        provider_message_id=inbound.provider_message_id,
    )
    MESSAGE_BODY.write(communication, keys, inbound.body)
    session.add(communication)
    await session.flush()
    outgoing.add_event(session, communication, DeliveryStep.RECEIVED, provider="twilio")
    await guests.touch(session, guest.id)
    # A guest with a stay coming writes about the stay, unless an inquiry of theirs is open.
    if not await has_upcoming_booking(session, guest.id) or await open_inquiry_of(session, guest.id):
        await join_or_open(
            session,
            keys=keys,
            guest=guest,
            communication=communication,
            source=_SOURCE[inbound.channel],
            request=Request(message=inbound.body or None),
        )


def received(
    *, guest_id: uuid.UUID, channel: Channel, provider: str, provider_message_id: str | None
) -> Communication:
    """A message a guest sent us, as delivered to us now (its text is the caller's to write)."""
    now = utcnow()
    return Communication(
        id=uuid.uuid4(),
        guest_id=guest_id,
        channel=channel.value,
        direction=Direction.IN.value,
        message_class=MessageClass.TRANSACTIONAL.value,
        status=CommunicationStatus.DELIVERED.value,
        provider=provider,
        provider_message_id=provider_message_id,
        status_at=now,
        sent_at=now,
        created_at=now,
    )
