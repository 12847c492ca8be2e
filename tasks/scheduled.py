"""A lifecycle message that fell due: render it for today's booking and guest, and queue it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.public import OutboxKind
from hospes.models.tenant import Booking, BookingStatus, Guest, ScheduledMessage, ScheduledStatus
from hospes.notifications import lifecycle
from hospes.tasks import outbox
from hospes.tasks.runtime import Runtime
from hospes.tenancy import portal_links
from hospes.tenancy.tenant_settings import TenantSettings


async def send_scheduled(runtime: Runtime, *, tenant_id: uuid.UUID, scheduled_id: uuid.UUID) -> None:
    """The `messages.send_scheduled` actor: turn a due scheduled message into a queued communication
    (or a cancelled schedule, if its booking or the company's switch no longer wants it)."""
    tenant = await runtime.registry.by_id(tenant_id)
    if tenant is None or not tenant.active:
        return
    async with runtime.transaction(tenant) as session:
        scheduled = await session.scalar(
            sa.select(ScheduledMessage)
            .where(col(ScheduledMessage.id) == scheduled_id)
            .with_for_update(skip_locked=True)
        )
        if scheduled is None:
            return
        if scheduled.status != ScheduledStatus.SCHEDULED.value:
            await outbox.done(session, tenant_id=tenant.id, kind=OutboxKind.LIFECYCLE, ref_id=scheduled_id)
            return
        if scheduled.due_at > utcnow():
            return  # moved later since it was enqueued; the outbox row carries the new time
        booking = await session.get(Booking, scheduled.booking_id)
        guest = await session.get(Guest, booking.guest_id) if booking is not None else None
        scheduled.updated_at = utcnow()
        await outbox.done(session, tenant_id=tenant.id, kind=OutboxKind.LIFECYCLE, ref_id=scheduled_id)
        if (
            booking is None
            or guest is None
            or booking.status != BookingStatus.CONFIRMED.value
            or not lifecycle.switched_on(TenantSettings.of(tenant), scheduled.template_key)
        ):
            scheduled.status = ScheduledStatus.CANCELLED.value
            return
        keys = await runtime.keys(session, tenant, guest.email_enc, guest.phone_enc)
        # The portal link is issued now: tokens are stored only as hashes, so the confirmation's
        # link cannot be repeated.
        link = await portal_links.issue_link(session, booking)
        communication = await lifecycle.queue_for_booking(
            session,
            tenant=tenant,
            keys=keys,
            booking=booking,
            guest=guest,
            key=scheduled.template_key,
            portal_link=link.url if link else None,
            lease_seconds=runtime.settings.outbox_lease_seconds,
        )
        scheduled.status = ScheduledStatus.DONE.value
        scheduled.communication_id = communication.id
