"""Follow-up reminders for an inquiry, as staff schedule and cancel them. A schedule replaces the
reminders still pending (they are cancelled with the reason `rescheduled`), so an inquiry never has
more than three pending; the new ones are numbered 1 to 3 in the order they fall due. Each gets an
outbox row due at its time, which `hospes scheduler` hands to the reminder actor
(`tasks/inquiry_reminders.py`) when it falls due."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import utcnow
from hospes.models.tenant import (
    MAX_REMINDERS,
    Inquiry,
    InquiryEventKind,
    InquiryReminder,
    ReminderStatus,
)
from hospes.notifications.inquiry_trail import cancel_pending_reminders, record_event, schedule_reminder_work
from hospes.services.caller import Caller
from hospes.services.inquiries.core import OPEN_STAGE_VALUES
from hospes.services.inquiries.replies import inquiry_not_found, locked_inquiry, who_of
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected

# A follow-up a year out is a mistake, not a plan.
MAX_HOURS = 8760.0


def clean_delays(problems: Problems, after_hours: list[float]) -> list[float] | None:
    """The delays in hours, soonest first: one to three, each above zero and at most a year
    (fractions allowed: 0.5 is half an hour)."""
    if not after_hours:
        problems.add("afterHours", UserErrorCode.REQUIRED, "Give one to three delays in hours.")
        return None
    if len(after_hours) > MAX_REMINDERS:
        problems.add(
            "afterHours", UserErrorCode.OUT_OF_RANGE, f"An inquiry has at most {MAX_REMINDERS} reminders."
        )
        return None
    for index, hours in enumerate(after_hours):
        if not math.isfinite(hours) or hours <= 0 or hours > MAX_HOURS:
            problems.add(
                f"afterHours.{index}",
                UserErrorCode.OUT_OF_RANGE,
                f"Must be more than 0 and at most {MAX_HOURS:g} hours.",
            )
    return None if problems else sorted(after_hours)


def _open(inquiry: Inquiry) -> Rejection | None:
    if inquiry.stage in OPEN_STAGE_VALUES:
        return None
    return rejected(
        "inquiryId", UserErrorCode.INVALID_STATE, f"The inquiry is {inquiry.stage}: no reminders."
    )


async def schedule_reminders(
    session: AsyncSession,
    *,
    caller: Caller,
    inquiry_id: uuid.UUID,
    delays: list[float],
) -> Inquiry | Rejection:
    """Replace the inquiry's pending reminders by one per delay (`clean_delays`'d), each due that
    many hours from now, on the history and in the outbox. Only an open inquiry has reminders."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return inquiry_not_found()
    closed = _open(inquiry)
    if closed is not None:
        return closed
    who = who_of(caller.actor)
    await cancel_pending_reminders(session, inquiry=inquiry, who=who, reason="rescheduled")
    # The cancelled rows leave the partial unique index before the new ones take their numbers.
    await session.flush()
    now = utcnow()
    for sequence, hours in enumerate(delays, start=1):
        reminder = InquiryReminder(
            id=uuid.uuid4(),
            inquiry_id=inquiry.id,
            sequence=sequence,
            due_at=now + timedelta(hours=hours),
            status=ReminderStatus.SCHEDULED.value,
            created_at=now,
            updated_at=now,
        )
        session.add(reminder)
        record_event(
            session,
            inquiry,
            InquiryEventKind.REMINDER_SCHEDULED,
            who,
            at=now,
            reminder_id=reminder.id,
            data={"sequence": sequence, "due_at": reminder.due_at.isoformat()},
        )
        await schedule_reminder_work(
            session, tenant_id=caller.tenant.id, reminder=reminder, lease_seconds=caller.outbox_lease_seconds
        )
    await session.flush()
    return inquiry


async def cancel_reminders(
    session: AsyncSession, *, caller: Caller, inquiry_id: uuid.UUID
) -> Inquiry | Rejection:
    """Cancel the inquiry's pending reminders, each on the history; none pending is no error."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return inquiry_not_found()
    await cancel_pending_reminders(session, inquiry=inquiry, who=who_of(caller.actor), reason="cancelled")
    return inquiry
