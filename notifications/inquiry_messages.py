"""Messages to a guest about their inquiry (replies, quotes, reminders): which channel they go on,
and queueing them through the usual outbox and delivery. Shared by the services (staff's replies
and quotes) and the reminder actor, so it sits below both. Runs in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import (
    Channel,
    Communication,
    Direction,
    Guest,
    Inquiry,
    InquiryQuote,
    InquirySource,
    MessageClass,
)
from hospes.notifications import outgoing, routing
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.registry import TenantRef

# Inquiries that came by mail (or by a form or call that left an address) are answered by mail.
MAIL_SOURCES = frozenset(
    {InquirySource.EMAIL.value, InquirySource.CONTACT_FORM.value, InquirySource.PHONE.value}
)


@dataclass(frozen=True)
class Way:
    """The channel a message about an inquiry goes on now. `pinned`: the inquiry's own channel (the
    delivery keeps to it); otherwise routing chose it and may fall back as for any message."""

    channel: Channel
    pinned: bool

    @property
    def requested(self) -> Channel | None:
        return self.channel if self.pinned else None


def reply_way(inquiry: Inquiry, recipient: routing.Recipient) -> Way | routing.Suppressed:
    """Email for email, contact-form and phone inquiries whose guest has an address; otherwise the
    guest's channel by the usual routing (WhatsApp and SMS with their consent rules)."""
    if inquiry.source in MAIL_SOURCES and routing.usable(recipient, Channel.EMAIL) is None:
        return Way(Channel.EMAIL, pinned=True)
    return _routed(recipient)


def reminder_way(recipient: routing.Recipient, last: Channel | None) -> Way | routing.Suppressed:
    """The channel of our last message about the inquiry while it still reaches the guest;
    otherwise the usual routing."""
    if last is not None and routing.usable(recipient, last) is None:
        return Way(last, pinned=True)
    return _routed(recipient)


def _routed(recipient: routing.Recipient) -> Way | routing.Suppressed:
    decision = routing.route(recipient, message_class=MessageClass.TRANSACTIONAL)
    return Way(decision.channel, pinned=False) if isinstance(decision, routing.Routed) else decision


async def last_outbound_channel(session: AsyncSession, inquiry_id: uuid.UUID) -> Channel | None:
    """The channel of our most recent message about the inquiry, if any."""
    channel = await session.scalar(
        sa.select(col(Communication.channel))
        .where(
            col(Communication.inquiry_id) == inquiry_id, col(Communication.direction) == Direction.OUT.value
        )
        .order_by(col(Communication.created_at).desc(), col(Communication.id).desc())
        .limit(1)
    )
    return Channel(channel) if channel else None


async def queue_about_inquiry(
    session: AsyncSession,
    *,
    tenant: TenantRef,
    keys: TenantKeys,
    inquiry: Inquiry,
    guest: Guest,
    way: Way,
    key: str,
    subject: str | None = None,
    extra: Mapping[str, str] | None = None,
    quote: InquiryQuote | None = None,
    staff_id: uuid.UUID | None = None,
    lease_seconds: float,
) -> Communication:
    """Queue the `key` message to the inquiry's guest in their language, filed on the inquiry.
    Raises `outgoing.NoTemplate` before writing anything when the key has no template."""
    return await outgoing.queue(
        session,
        tenant=tenant,
        keys=keys,
        draft=outgoing.Draft(
            guest=guest,
            inquiry=inquiry,
            quote=quote,
            template_key=key,
            subject=subject,
            channel=way.requested,
            message_class=MessageClass.TRANSACTIONAL,
            extra=dict(extra or {}),
            staff_id=staff_id,
        ),
        lease_seconds=lease_seconds,
    )
