"""Staff working an inquiry: logging one (a phone call, a message taken elsewhere), filling in what
the guest left out, assigning it, marking it lost and reopening it. Each step writes its history
line with who did it and bumps the inquiry's activity. Nothing here commits."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import utcnow
from hospes.models.tenant import (
    Inquiry,
    InquiryEventKind,
    InquirySource,
    InquiryStage,
    LostReason,
    Property,
    StaffUser,
)
from hospes.notifications.inquiry_trail import Who, cancel_pending_reminders, record_event
from hospes.services import intake
from hospes.services import validation as check
from hospes.services.caller import Caller
from hospes.services.inquiries import calendar
from hospes.services.inquiries.core import Request, change_stage, open_inquiry
from hospes.services.intake import GuestDetails
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import INQUIRY_LOST_NOTE, INQUIRY_NOTES
from hospes.tenancy.principal import PrincipalKind

# The fields `update_inquiry` may change, by their input names.
UPDATABLE = ("propertyId", "checkIn", "checkOut", "adults", "children", "notes")
_ATTRIBUTES = {
    "propertyId": "property_id",
    "checkIn": "check_in",
    "checkOut": "check_out",
    "adults": "adults",
    "children": "children",
}


def who_of(caller: Caller) -> Who:
    """The caller as the history names them: a staff user, or (a partner's key) the system."""
    actor = caller.actor
    staff_id = actor.subject_id if actor is not None and actor.kind is PrincipalKind.STAFF else None
    return Who.staff(staff_id)


async def locked_inquiry(session: AsyncSession, inquiry_id: uuid.UUID) -> Inquiry | None:
    """The inquiry, locked for the caller's change (concurrent steps on one inquiry take turns)."""
    return await session.get(Inquiry, inquiry_id, with_for_update=True, populate_existing=True)


def not_found() -> Rejection:
    return rejected("inquiryId", UserErrorCode.NOT_FOUND, "Inquiry not found.")


async def create_inquiry(
    session: AsyncSession,
    *,
    caller: Caller,
    keys: TenantKeys,
    source: InquirySource,
    guest_id: uuid.UUID | None,
    details: GuestDetails | None,
    request: Request,
) -> Inquiry | Rejection:
    """An inquiry staff log, for a known guest (`guest_id`) or a person found or created by
    `details` exactly as a booking's guest is."""
    found = Problems()
    if request.property_id is not None and await session.get(Property, request.property_id) is None:
        found.add("propertyId", UserErrorCode.NOT_FOUND, "Property not found.")
    guest = await intake.known_guest(session, found, guest_id)
    for field_name, day in (("checkIn", request.check_in), ("checkOut", request.check_out)):
        if day is not None:
            await _not_past(session, found, field_name, day, request.property_id)
    if found:
        return found.rejection()
    if details is not None:
        guest, _ = await intake.find_or_create_guest(
            session, keys, details, actor=caller.actor, source=f"inquiry:{source.value}"
        )
    assert guest is not None
    return await open_inquiry(
        session, keys=keys, guest=guest, source=source, request=request, who=who_of(caller)
    )


async def _not_past(
    session: AsyncSession, problems: Problems, field_name: str, day: date, property_id: uuid.UUID | None
) -> None:
    calendar.check_not_past(problems, field_name, day, await calendar.today_at(session, property_id))


async def update_inquiry(
    session: AsyncSession, *, caller: Caller, inquiry_id: uuid.UUID, values: dict[str, Any]
) -> Inquiry | Rejection:
    """Change the fields in clean `values` (input name -> value; None clears); the history line
    names the fields that changed, never their values."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return not_found()
    if inquiry.stage == InquiryStage.CONFIRMED.value and set(values) - {"notes"}:
        # The stay is the booking's now: a change here would not reach it.
        return rejected(
            "inquiryId", UserErrorCode.INVALID_STATE, "The inquiry is confirmed; change its booking instead."
        )
    problems = Problems()
    property_id = values.get("propertyId", inquiry.property_id)
    given_property = "propertyId" in values and property_id is not None
    if given_property and await session.get(Property, property_id) is None:
        return rejected("propertyId", UserErrorCode.NOT_FOUND, "Property not found.")
    for name in ("checkIn", "checkOut"):
        if values.get(name) is not None:
            await _not_past(session, problems, name, values[name], property_id)
    check_in = values.get("checkIn", inquiry.check_in)
    check_out = values.get("checkOut", inquiry.check_out)
    if check_in is not None and check_out is not None and not problems:
        check.stay_dates(problems, check_in, check_out)
    if problems:
        return problems.rejection()
    keys = await caller.keys(session, inquiry.notes_enc)
    changed = []
    for name, value in values.items():
        if name == "notes":
            if INQUIRY_NOTES.read(inquiry, keys) != value:
                INQUIRY_NOTES.write(inquiry, keys, value)
                changed.append(name)
        elif getattr(inquiry, _ATTRIBUTES[name]) != value:
            setattr(inquiry, _ATTRIBUTES[name], value)
            changed.append(name)
    if changed:
        record_event(session, inquiry, InquiryEventKind.UPDATED, who_of(caller), data={"fields": changed})
        inquiry.last_activity_at = utcnow()
    await session.flush()
    return inquiry


async def assign_inquiry(
    session: AsyncSession, *, caller: Caller, inquiry_id: uuid.UUID, staff_user_id: uuid.UUID | None
) -> Inquiry | Rejection:
    """Give the inquiry to an active staff user of the company, or (None) to nobody."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return not_found()
    if staff_user_id is not None:
        user = await session.get(StaffUser, staff_user_id)
        if user is None:
            return rejected("staffUserId", UserErrorCode.NOT_FOUND, "Staff user not found.")
        if not user.active:
            return rejected("staffUserId", UserErrorCode.INVALID_STATE, "This staff user is deactivated.")
    if inquiry.assignee_id != staff_user_id:
        inquiry.assignee_id = staff_user_id
        inquiry.last_activity_at = utcnow()
        record_event(
            session,
            inquiry,
            InquiryEventKind.ASSIGNED,
            who_of(caller),
            data={"assignee_id": str(staff_user_id) if staff_user_id is not None else None},
        )
    await session.flush()
    return inquiry


async def mark_inquiry_lost(
    session: AsyncSession,
    *,
    caller: Caller,
    inquiry_id: uuid.UUID,
    reason: LostReason,
    note: str | None,
) -> Inquiry | Rejection:
    """LOST with a reason (and staff's note, stored encrypted); the pending reminders are cancelled
    and nothing waits on us any more. A confirmed or already lost inquiry is refused."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return not_found()
    if inquiry.stage == InquiryStage.CONFIRMED.value:
        return rejected("inquiryId", UserErrorCode.INVALID_STATE, "A confirmed inquiry cannot be lost.")
    if inquiry.stage == InquiryStage.LOST.value:
        return rejected("inquiryId", UserErrorCode.INVALID_STATE, "The inquiry is already lost.")
    who = who_of(caller)
    INQUIRY_LOST_NOTE.write(inquiry, await caller.keys(session), note)
    inquiry.lost_reason = reason.value
    inquiry.needs_action = False
    change_stage(session, inquiry, InquiryStage.LOST, who, data={"reason": reason.value})
    await cancel_pending_reminders(session, inquiry=inquiry, who=who, reason="lost")
    await session.flush()
    return inquiry


async def reopen_inquiry(
    session: AsyncSession, *, caller: Caller, inquiry_id: uuid.UUID
) -> Inquiry | Rejection:
    """A lost inquiry back in the pipeline: RESPONDED if we ever replied, else NEW; it needs action
    if nobody answered yet or the guest wrote after our last reply."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return not_found()
    if inquiry.stage != InquiryStage.LOST.value:
        return rejected("inquiryId", UserErrorCode.INVALID_STATE, "Only a lost inquiry can be reopened.")
    replied, wrote = inquiry.replied_at, inquiry.guest_wrote_at
    stage = InquiryStage.RESPONDED if replied is not None else InquiryStage.NEW
    inquiry.needs_action = replied is None or (wrote is not None and wrote > replied)
    inquiry.lost_reason = None
    inquiry.lost_note_enc = None
    change_stage(session, inquiry, stage, who_of(caller))
    await session.flush()
    return inquiry
