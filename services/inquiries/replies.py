"""Our replies to an inquiry's guest: a written answer (wrapped in the `inquiry_reply` template, so
it carries the greeting and sign-off in the guest's language) or any template, on the inquiry's
channel, through the outbox. Also what quotes and reminders share: the inquiry, locked for the
change, and the way to its guest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Communication, Guest, Inquiry, InquiryQuote
from hospes.notifications import inquiry_messages, outgoing, routing
from hospes.notifications.inquiry_trail import Who
from hospes.services import guests
from hospes.services.caller import Caller
from hospes.services.inquiries.core import we_replied
from hospes.services.rejections import Rejection, UserErrorCode, rejected
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.principal import Principal, PrincipalKind

REPLY_KEY = "inquiry_reply"


def who_of(actor: Principal | None) -> Who:
    """The history's "who" for a caller: a staff user, or the system for a partner's key."""
    return Who.staff(actor.subject_id if actor and actor.kind is PrincipalKind.STAFF else None)


def inquiry_not_found() -> Rejection:
    return rejected("inquiryId", UserErrorCode.NOT_FOUND, "Inquiry not found.")


async def locked_inquiry(session: AsyncSession, inquiry_id: uuid.UUID) -> Inquiry | None:
    """The inquiry, locked until the caller's transaction ends (two staff working it take turns)."""
    return await session.scalar(sa.select(Inquiry).where(col(Inquiry.id) == inquiry_id).with_for_update())


@dataclass(frozen=True)
class Addressee:
    """The inquiry's guest, their keys, and where a reply to them goes now."""

    guest: Guest
    keys: TenantKeys
    way: inquiry_messages.Way | routing.Suppressed


async def addressee(session: AsyncSession, *, caller: Caller, inquiry: Inquiry) -> Addressee:
    guest = await session.get(Guest, inquiry.guest_id)
    assert guest is not None  # a foreign key
    keys = await caller.keys(session, guest.email_enc, guest.phone_enc)
    way = inquiry_messages.reply_way(inquiry, outgoing.recipient_of(guest, keys))
    return Addressee(guest=guest, keys=keys, way=way)


def unreachable(field_name: str, reason: str) -> Rejection:
    return rejected(field_name, UserErrorCode.INVALID_STATE, f"The guest cannot be reached: {reason}.")


async def reply_to_inquiry(
    session: AsyncSession,
    *,
    caller: Caller,
    inquiry_id: uuid.UUID,
    subject: str | None,
    body: str | None,
    template_key: str | None,
) -> Inquiry | Rejection:
    """Send our answer to the inquiry's guest and count it as our reply (the inquiry no longer
    needs action; a NEW one is RESPONDED). A CONFIRMED or LOST inquiry may be answered too (a
    guest may still ask about a confirmed stay, or come back after a loss); its stage stays.
    Nothing is queued when no channel reaches the guest or the template does not exist."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return inquiry_not_found()
    to = await addressee(session, caller=caller, inquiry=inquiry)
    if isinstance(to.way, routing.Suppressed):
        return unreachable("inquiryId", to.way.reason)
    try:
        await send_reply(
            session,
            caller=caller,
            inquiry=inquiry,
            to=to,
            way=to.way,
            key=template_key or REPLY_KEY,
            subject=subject,
            extra={"message": body} if body is not None else None,
        )
    except outgoing.NoTemplate:
        return rejected("templateKey", UserErrorCode.NOT_FOUND, "No template with this key.")
    return inquiry


async def send_reply(
    session: AsyncSession,
    *,
    caller: Caller,
    inquiry: Inquiry,
    to: Addressee,
    way: inquiry_messages.Way,
    key: str,
    subject: str | None = None,
    extra: dict[str, str] | None = None,
    quote: InquiryQuote | None = None,
) -> Communication:
    """Queue the `key` message to the inquiry's guest and count it as our reply (`we_replied`).
    Raises `outgoing.NoTemplate` before writing anything when the key has no template."""
    who = who_of(caller.actor)
    communication = await inquiry_messages.queue_about_inquiry(
        session,
        tenant=caller.tenant,
        keys=to.keys,
        inquiry=inquiry,
        guest=to.guest,
        way=way,
        key=key,
        subject=subject,
        extra=extra,
        quote=quote,
        staff_id=who.staff_id,
        lease_seconds=caller.outbox_lease_seconds,
    )
    we_replied(session, inquiry=inquiry, communication=communication, who=who)
    await guests.touch(session, to.guest.id)
    return communication
