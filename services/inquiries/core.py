"""The heart of the inquiry domain, shared by every way in (staff, forms, email, WhatsApp/SMS) and
every way out (replies, quotes): opening an inquiry, finding a guest's open one, and the fact the
pipeline turns on: who wrote last, which decides `needs_action` (and cancels pending reminders when
it is the guest). History lines and reminders are `notifications/inquiry_trail.py`'s.

Everything here runs in the caller's transaction and never commits."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.tenant import (
    OPEN_STAGES,
    Communication,
    Guest,
    Inquiry,
    InquiryEventKind,
    InquirySource,
    InquiryStage,
)
from hospes.notifications.inquiry_trail import GUEST, Who, cancel_pending_reminders, record_event
from hospes.services import guests
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import INQUIRY_MESSAGE, INQUIRY_SUBJECT

OPEN_STAGE_VALUES = tuple(stage.value for stage in OPEN_STAGES)


@dataclass(frozen=True)
class Request:
    """What the guest asked, as far as the channel told us; every field may be missing."""

    property_id: uuid.UUID | None = None
    check_in: date | None = None
    check_out: date | None = None
    adults: int | None = None
    children: int | None = None
    subject: str | None = None
    message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def new_reply_token() -> str:
    """The local part of an inquiry's Reply-To address: 128 random bits, lower-case (mail systems
    may fold the case of a local part)."""
    return "i" + secrets.token_hex(16)


async def open_inquiry(
    session: AsyncSession,
    *,
    keys: TenantKeys,
    guest: Guest,
    source: InquirySource,
    request: Request,
    who: Who,
    communication: Communication | None = None,
) -> Inquiry:
    """A NEW inquiry of `guest` (it needs action: nobody has answered yet), its `received` line,
    and, when it came as a message, that message filed on it as the guest's first word."""
    now = utcnow()
    inquiry = Inquiry(
        id=uuid.uuid4(),
        guest_id=guest.id,
        property_id=request.property_id,
        check_in=request.check_in,
        check_out=request.check_out,
        adults=request.adults,
        children=request.children,
        source=source.value,
        stage=InquiryStage.NEW.value,
        needs_action=True,
        reply_token=new_reply_token(),
        received_at=now,
        last_activity_at=now,
        guest_wrote_at=now,
        created_by_staff_id=who.staff_id,
    )
    INQUIRY_SUBJECT.write(inquiry, keys, request.subject)
    INQUIRY_MESSAGE.write(inquiry, keys, request.message)
    session.add(inquiry)
    await session.flush()
    record_event(session, inquiry, InquiryEventKind.RECEIVED, who, at=now, data={"source": source.value})
    if communication is not None:
        communication.inquiry_id = inquiry.id
        record_event(
            session, inquiry, InquiryEventKind.MESSAGE_IN, GUEST, at=now, communication_id=communication.id
        )
    await guests.touch(session, guest.id)
    return inquiry


async def open_inquiry_of(
    session: AsyncSession, guest_id: uuid.UUID, *, lock: bool = False
) -> Inquiry | None:
    """The guest's open inquiry with the newest activity, if any."""
    statement = (
        sa.select(Inquiry)
        .where(col(Inquiry.guest_id) == guest_id, col(Inquiry.stage).in_(OPEN_STAGE_VALUES))
        .order_by(col(Inquiry.last_activity_at).desc())
        .limit(1)
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def guest_wrote(session: AsyncSession, *, inquiry: Inquiry, communication: Communication) -> None:
    """The guest's message `communication` (already added) joins the inquiry: it needs action
    again, and the pending reminders are cancelled (the guest is no longer silent)."""
    now = utcnow()
    communication.inquiry_id = inquiry.id
    inquiry.needs_action = True
    inquiry.guest_wrote_at = now
    inquiry.last_activity_at = now
    record_event(
        session, inquiry, InquiryEventKind.MESSAGE_IN, GUEST, at=now, communication_id=communication.id
    )
    await cancel_pending_reminders(session, inquiry=inquiry, who=GUEST, reason="guest_wrote")


def we_replied(session: AsyncSession, *, inquiry: Inquiry, communication: Communication, who: Who) -> None:
    """Our message `communication` (already added) went to the guest about the inquiry: nothing
    waits on us any more, and a NEW inquiry has been RESPONDED to."""
    now = utcnow()
    communication.inquiry_id = inquiry.id
    inquiry.needs_action = False
    inquiry.replied_at = now
    inquiry.last_activity_at = now
    record_event(
        session, inquiry, InquiryEventKind.MESSAGE_OUT, who, at=now, communication_id=communication.id
    )
    if inquiry.stage == InquiryStage.NEW.value:
        change_stage(session, inquiry, InquiryStage.RESPONDED, who)


def change_stage(
    session: AsyncSession,
    inquiry: Inquiry,
    stage: InquiryStage,
    who: Who,
    *,
    data: dict[str, Any] | None = None,
) -> None:
    """Move the inquiry to `stage`, on its history; staying in the same stage writes nothing."""
    if inquiry.stage == stage.value:
        return
    record_event(
        session,
        inquiry,
        InquiryEventKind.STAGE_CHANGED,
        who,
        data={"from": inquiry.stage, "to": stage.value, **(data or {})},
    )
    inquiry.stage = stage.value
    inquiry.last_activity_at = utcnow()
