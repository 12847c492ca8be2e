"""An inquiry's reminder that fell due: queue the follow-up, or cancel it if the guest is no longer
silent or the inquiry is settled.

Everything happens in one transaction under the inquiry's lock (the order the services lock in:
inquiry, then its reminders), and the reminder row records what was done; a redelivered message
finds the reminder sent or cancelled and does nothing, so a guest never gets one twice."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.public import OutboxKind
from hospes.models.tenant import (
    OPEN_STAGES,
    Guest,
    Inquiry,
    InquiryEventKind,
    InquiryReminder,
    ReminderStatus,
)
from hospes.notifications import inquiry_messages, outgoing, routing
from hospes.notifications.inquiry_trail import SYSTEM, cancel_pending_reminders, record_event
from hospes.tasks import outbox
from hospes.tasks.runtime import Runtime
from hospes.tenancy.registry import TenantRef

REMINDER_KEY = "inquiry_reminder"
_OPEN = frozenset(stage.value for stage in OPEN_STAGES)


def guest_wrote_last(inquiry: Inquiry) -> bool:
    """The guest wrote after our last reply (or we never replied): a reminder would be out of turn."""
    if inquiry.guest_wrote_at is None:
        return False
    return inquiry.replied_at is None or inquiry.guest_wrote_at > inquiry.replied_at


async def send_reminder(runtime: Runtime, *, tenant_id: uuid.UUID, reminder_id: uuid.UUID) -> None:
    """The `inquiries.send_reminder` actor."""
    tenant = await runtime.registry.by_id(tenant_id)
    if tenant is None or not tenant.active:
        return
    async with runtime.transaction(tenant) as session:
        inquiry_id = await session.scalar(
            sa.select(col(InquiryReminder.inquiry_id)).where(col(InquiryReminder.id) == reminder_id)
        )
        inquiry = (
            await session.scalar(sa.select(Inquiry).where(col(Inquiry.id) == inquiry_id).with_for_update())
            if inquiry_id is not None
            else None
        )
        reminder = await session.scalar(
            sa.select(InquiryReminder).where(col(InquiryReminder.id) == reminder_id).with_for_update()
        )
        if inquiry is None or reminder is None or reminder.status != ReminderStatus.SCHEDULED.value:
            await _done(session, tenant, reminder_id)
            return
        if reminder.due_at > utcnow():
            return  # enqueued early (a clock apart); the outbox row still carries its time
        await _done(session, tenant, reminder_id)
        if inquiry.stage not in _OPEN:
            await cancel_pending_reminders(session, inquiry=inquiry, who=SYSTEM, reason=inquiry.stage)
        elif guest_wrote_last(inquiry):
            await cancel_pending_reminders(session, inquiry=inquiry, who=SYSTEM, reason="guest_wrote")
        else:
            await _send(runtime, session, tenant, inquiry, reminder)


async def _done(session: AsyncSession, tenant: TenantRef, reminder_id: uuid.UUID) -> None:
    await outbox.done(session, tenant_id=tenant.id, kind=OutboxKind.INQUIRY_REMINDER, ref_id=reminder_id)


async def _send(
    runtime: Runtime, session: AsyncSession, tenant: TenantRef, inquiry: Inquiry, reminder: InquiryReminder
) -> None:
    """Queue the reminder on the channel of our last message about the inquiry (or the usual
    routing when that no longer reaches the guest); a guest nothing reaches any more, or a
    template that is gone, cancels it."""
    guest = await session.get(Guest, inquiry.guest_id)
    assert guest is not None  # a foreign key
    keys = await runtime.keys(session, tenant, guest.email_enc, guest.phone_enc)
    last = await inquiry_messages.last_outbound_channel(session, inquiry.id)
    way = inquiry_messages.reminder_way(outgoing.recipient_of(guest, keys), last)
    if isinstance(way, routing.Suppressed):
        await _cancel(session, inquiry, reminder, reason="unreachable")
        return
    try:
        communication = await inquiry_messages.queue_about_inquiry(
            session,
            tenant=tenant,
            keys=keys,
            inquiry=inquiry,
            guest=guest,
            way=way,
            key=REMINDER_KEY,
            lease_seconds=runtime.settings.outbox_lease_seconds,
        )
    except outgoing.NoTemplate:
        await _cancel(session, inquiry, reminder, reason="no_template")
        return
    now = utcnow()
    reminder.status = ReminderStatus.SENT.value
    reminder.communication_id = communication.id
    reminder.updated_at = now
    inquiry.last_activity_at = now
    record_event(
        session,
        inquiry,
        InquiryEventKind.REMINDER_SENT,
        SYSTEM,
        at=now,
        communication_id=communication.id,
        reminder_id=reminder.id,
        data={"sequence": reminder.sequence},
    )


async def _cancel(session: AsyncSession, inquiry: Inquiry, reminder: InquiryReminder, *, reason: str) -> None:
    reminder.status = ReminderStatus.CANCELLED.value
    reminder.updated_at = utcnow()
    record_event(
        session,
        inquiry,
        InquiryEventKind.REMINDER_CANCELLED,
        SYSTEM,
        reminder_id=reminder.id,
        data={"sequence": reminder.sequence, "reason": reason},
    )
