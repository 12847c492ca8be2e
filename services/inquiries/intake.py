"""A guest's message arriving on a channel that opens inquiries (email, the contact form, WhatsApp,
SMS): it joins the guest's open inquiry, or opens a new one with the message as its first word.

Everything here runs in the caller's transaction and never commits."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.tenant import (
    Booking,
    BookingStatus,
    Communication,
    Guest,
    Inquiry,
    InquiryEventKind,
    InquirySource,
)
from hospes.notifications.inquiry_trail import GUEST, record_event
from hospes.services.inquiries.core import Request, guest_wrote, open_inquiry, open_inquiry_of
from hospes.tenancy.crypto import TenantKeys

# What a message may fill in on an inquiry it joins; the dates only as a pair (see `fill_blanks`).
_FILLABLE = ("property_id", "adults", "children")


async def join_or_open(
    session: AsyncSession,
    *,
    keys: TenantKeys,
    guest: Guest,
    communication: Communication,
    source: InquirySource,
    request: Request,
) -> tuple[Inquiry, bool]:
    """The guest's message `communication` (already stored) joins their open inquiry (which then
    needs action, and whose pending reminders are cancelled), or opens a NEW one from `source`.
    Returns the inquiry and whether it was opened now."""
    inquiry = await open_inquiry_of(session, guest.id, lock=True)
    if inquiry is not None:
        await guest_wrote(session, inquiry=inquiry, communication=communication)
        return inquiry, False
    opened = await open_inquiry(
        session,
        keys=keys,
        guest=guest,
        source=source,
        request=request,
        who=GUEST,
        communication=communication,
    )
    return opened, True


def fill_blanks(session: AsyncSession, inquiry: Inquiry, request: Request) -> list[str]:
    """Fill what the inquiry does not know yet from `request`, never overwriting: property and
    party one by one, the stay's dates only as a pair and only when the inquiry has neither (a
    lone date beside one already there could make an impossible stay). On the history as UPDATED
    by the guest; returns the names of the fields filled."""
    filled = [
        name for name in _FILLABLE if getattr(inquiry, name) is None and getattr(request, name) is not None
    ]
    for name in filled:
        setattr(inquiry, name, getattr(request, name))
    if inquiry.check_in is None and inquiry.check_out is None and (request.check_in or request.check_out):
        inquiry.check_in, inquiry.check_out = request.check_in, request.check_out
        filled += [name for name in ("check_in", "check_out") if getattr(request, name) is not None]
    if filled:
        inquiry.last_activity_at = utcnow()
        record_event(session, inquiry, InquiryEventKind.UPDATED, GUEST, data={"fields": filled})
    return filled


async def has_upcoming_booking(session: AsyncSession, guest_id: uuid.UUID) -> bool:
    """Does the guest have a stay that is not over (check-out today or later) and not cancelled?"""
    found = await session.scalar(
        sa.select(sa.literal(1))
        .where(
            col(Booking.guest_id) == guest_id,
            col(Booking.status) != BookingStatus.CANCELLED.value,
            col(Booking.check_out) >= utcnow().date(),
        )
        .limit(1)
    )
    return found is not None
