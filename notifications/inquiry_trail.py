"""An inquiry's trail, written by the services (staff, forms, inbound messages) and by the reminder
actor alike, so it sits below both: the history line every step adds, and the reminders still
pending (cancelled when the guest writes, the inquiry is confirmed or lost, or staff cancel them).
Everything here runs in the caller's transaction and never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.public import OutboxKind
from hospes.models.tenant import (
    Inquiry,
    InquiryActor,
    InquiryEvent,
    InquiryEventKind,
    InquiryReminder,
    ReminderStatus,
)
from hospes.tasks import outbox


@dataclass(frozen=True)
class Who:
    """Who did a step: a staff user, the guest, or the system (the scheduler, a provider)."""

    actor: InquiryActor
    staff_id: uuid.UUID | None = None

    @classmethod
    def staff(cls, staff_id: uuid.UUID | None) -> Who:
        # A partner's API key is no staff user: its steps are the system's, as far as history goes.
        return cls(InquiryActor.STAFF, staff_id) if staff_id is not None else cls(InquiryActor.SYSTEM)


GUEST = Who(InquiryActor.GUEST)
SYSTEM = Who(InquiryActor.SYSTEM)


def record_event(
    session: AsyncSession,
    inquiry: Inquiry,
    kind: InquiryEventKind,
    who: Who,
    *,
    at: datetime | None = None,
    communication_id: uuid.UUID | None = None,
    reminder_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> InquiryEvent:
    """Add one line to the inquiry's history. `data` must hold no private text."""
    event = InquiryEvent(
        id=uuid.uuid4(),
        inquiry_id=inquiry.id,
        kind=kind.value,
        actor=who.actor.value,
        staff_id=who.staff_id,
        communication_id=communication_id,
        reminder_id=reminder_id,
        quote_id=quote_id,
        data=data or {},
        at=at or utcnow(),
    )
    session.add(event)
    return event


async def pending_reminders(session: AsyncSession, inquiry_id: uuid.UUID) -> list[InquiryReminder]:
    """The inquiry's reminders still to be sent, first due first, locked for the caller's change."""
    rows = await session.scalars(
        sa.select(InquiryReminder)
        .where(
            col(InquiryReminder.inquiry_id) == inquiry_id,
            col(InquiryReminder.status) == ReminderStatus.SCHEDULED.value,
        )
        .order_by(col(InquiryReminder.sequence))
        .with_for_update()
    )
    return list(rows)


async def cancel_pending_reminders(
    session: AsyncSession, *, inquiry: Inquiry, who: Who, reason: str
) -> list[InquiryReminder]:
    """Cancel every reminder of the inquiry not yet sent, each on the history with `reason`
    (a code, not text: `guest_wrote`, `confirmed`, `lost`, `cancelled`). Their outbox rows stay;
    the reminder actor finds them cancelled and does nothing."""
    cancelled = await pending_reminders(session, inquiry.id)
    now = utcnow()
    for reminder in cancelled:
        reminder.status = ReminderStatus.CANCELLED.value
        reminder.updated_at = now
        record_event(
            session,
            inquiry,
            InquiryEventKind.REMINDER_CANCELLED,
            who,
            at=now,
            reminder_id=reminder.id,
            data={"sequence": reminder.sequence, "reason": reason},
        )
    return cancelled


async def schedule_reminder_work(
    session: AsyncSession, *, tenant_id: uuid.UUID, reminder: InquiryReminder, lease_seconds: float
) -> None:
    """The outbox row that has `hospes scheduler` hand the reminder to a worker when it falls due."""
    await outbox.put(
        session,
        tenant_id=tenant_id,
        kind=OutboxKind.INQUIRY_REMINDER,
        ref_id=reminder.id,
        due_at=reminder.due_at,
        lease_seconds=lease_seconds,
    )
