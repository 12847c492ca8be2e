"""A mail to a company's inbound address (SendGrid Inbound Parse), filed on its guest and inquiry.

The inquiry is found, in order, by:
  (a) the inquiry's own Reply-To address (`<slug>+<token>@<domain>`): the token is the proof, so
      it works from any sender address and the message is that inquiry's guest's;
  (b) In-Reply-To / References naming one of our mails about an inquiry;
  (c) the sender's email, matched to a guest like every intake (blind index, conservative), and
      that guest's open inquiry;
  (d) else a new inquiry (source EMAIL) of that guest, found or created.
An inquiry proven by (a) or (b) that is closed (confirmed, lost) proves only its guest: the mail
then joins that guest's open inquiry or opens a new one.

A forged From: a mail whose From domain did not vouch for it (no aligned SPF or DKIM pass) is never
filed on an existing guest on the strength of its From alone. (a) and (b) still work; for (c)/(d),
when a guest already holds the address the mail is dropped (nothing stored); when nobody does, it
may open an inquiry for a new guest, which grants nothing.

A mail is stored once: its Message-ID is the communication's provider_message_id (unique), so
SendGrid's retries of it change nothing. Runs in the caller's transaction and never commits."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import (
    OPEN_STAGES,
    Channel,
    Communication,
    DeliveryStep,
    Direction,
    Guest,
    Inquiry,
    InquirySource,
)
from hospes.notifications import outgoing
from hospes.notifications.inbound_email import InboundEmail
from hospes.notifications.inquiry_addresses import communications_referenced
from hospes.services import guests, intake
from hospes.services import validation as check
from hospes.services.inbound import received
from hospes.services.inquiries.core import Request, guest_wrote
from hospes.services.inquiries.intake import join_or_open
from hospes.services.rejections import Problems
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import MESSAGE_BODY, MESSAGE_SUBJECT
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.registry import TenantRef

SENDGRID = "sendgrid"
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_OPEN = frozenset(stage.value for stage in OPEN_STAGES)
# A References header lists a whole thread; the most recent of ours among these is enough.
_MAX_REFERENCES = 50


class EmailOutcome(StrEnum):
    """What became of a mail; the route logs it (never an address, subject or text)."""

    JOINED = "joined"  # filed on an inquiry that was open
    OPENED = "opened"  # opened a new inquiry
    DUPLICATE = "duplicate"  # a retry of a mail already stored
    DROPPED_UNVERIFIED = "dropped_unverified"  # forged-looking From of a known guest
    DROPPED_NO_SENDER = "dropped_no_sender"  # nothing proves whose it is and no usable From


class _AlreadyStored(Exception):
    """The mail was stored meanwhile by another post: this one's work is undone (its savepoint)."""


async def record_inbound_email(
    session: AsyncSession,
    *,
    keyring: Keyring,
    tenant: TenantRef,
    mail: InboundEmail,
    domain: str,
    reply_token: str | None,
) -> EmailOutcome:
    """File `mail` (for `tenant`, maybe to one inquiry's Reply-To `reply_token`; our addresses are
    on `domain`) on its guest's inquiry, opening one when needed; see the module's docstring."""
    # Two copies of one mail posted at once: the second waits here, then finds the first stored.
    await session.execute(_LOCK, {"key": f"inbound-email:{mail.message_id}"})
    if await _stored(session, mail.message_id):
        return EmailOutcome.DUPLICATE
    keys = await keyring.keys(session, tenant.schema_name)
    try:
        async with session.begin_nested():
            return await _file(session, keys, mail, domain=domain, reply_token=reply_token)
    except _AlreadyStored:
        return EmailOutcome.DUPLICATE


async def _file(
    session: AsyncSession, keys: TenantKeys, mail: InboundEmail, *, domain: str, reply_token: str | None
) -> EmailOutcome:
    proven = await _proven_inquiry(session, mail, domain=domain, reply_token=reply_token)
    guest = await session.get(Guest, proven.guest_id) if proven is not None else None
    # An erased guest's inquiry proves nobody: the mail is matched like any other.
    if proven is not None and guest is not None and guest.erased_at is None:
        communication = await _store(session, keys, guest, mail)
        if proven.stage in _OPEN:
            await guest_wrote(session, inquiry=proven, communication=communication)
            return EmailOutcome.JOINED
        return await _join_or_open(session, keys, guest, communication, mail)
    address = check.email(Problems(), "from", mail.sender)
    if address is None:
        return EmailOutcome.DROPPED_NO_SENDER
    if not mail.authenticated and await _address_is_held(session, keys, address):
        return EmailOutcome.DROPPED_UNVERIFIED
    details = intake.GuestDetails(
        name=mail.sender_name or address.partition("@")[0],
        email=address,
        phone=None,
        country=None,
        language=None,
    )
    guest, _ = await intake.find_or_create_guest(session, keys, details, actor=None, source="inbound:email")
    communication = await _store(session, keys, guest, mail)
    return await _join_or_open(session, keys, guest, communication, mail)


async def _join_or_open(
    session: AsyncSession, keys: TenantKeys, guest: Guest, communication: Communication, mail: InboundEmail
) -> EmailOutcome:
    _, opened = await join_or_open(
        session,
        keys=keys,
        guest=guest,
        communication=communication,
        source=InquirySource.EMAIL,
        request=Request(subject=mail.subject or None, message=mail.text or None),
    )
    return EmailOutcome.OPENED if opened else EmailOutcome.JOINED


async def _proven_inquiry(
    session: AsyncSession, mail: InboundEmail, *, domain: str, reply_token: str | None
) -> Inquiry | None:
    """The inquiry the mail proves it answers: (a) its Reply-To token, else (b) our mail it quotes
    (In-Reply-To first, then References from the most recent)."""
    if reply_token is not None:
        by_token: Inquiry | None = await session.scalar(
            sa.select(Inquiry).where(col(Inquiry.reply_token) == reply_token).with_for_update()
        )
        if by_token is not None:
            return by_token
    quoted = [
        *communications_referenced(mail.in_reply_to, domain),
        *reversed(communications_referenced(mail.references, domain)),
    ][:_MAX_REFERENCES]
    if not quoted:
        return None
    rows = await session.execute(
        sa.select(col(Communication.id), col(Communication.inquiry_id)).where(
            col(Communication.id).in_(quoted),
            col(Communication.inquiry_id).is_not(None),
            col(Communication.direction) == Direction.OUT.value,
        )
    )
    inquiry_of = {communication_id: inquiry_id for communication_id, inquiry_id in rows}
    for communication_id in quoted:
        if communication_id in inquiry_of:
            return await session.get(Inquiry, inquiry_of[communication_id], with_for_update=True)
    return None


async def _stored(session: AsyncSession, message_id: str) -> bool:
    found = await session.scalar(
        sa.select(col(Communication.id)).where(col(Communication.provider_message_id) == message_id)
    )
    return found is not None


async def _address_is_held(session: AsyncSession, keys: TenantKeys, address: str) -> bool:
    """Does a (not erased) guest of the company already hold this email address?"""
    found = await session.scalar(
        sa.select(sa.literal(1))
        .where(
            col(Guest.email_bidx) == keys.blind_index(address, kind="email"), col(Guest.erased_at).is_(None)
        )
        .limit(1)
    )
    return found is not None


async def _store(session: AsyncSession, keys: TenantKeys, guest: Guest, mail: InboundEmail) -> Communication:
    """The mail as the guest's inbound email, its subject and text encrypted, keyed by its
    Message-ID: INSERT … ON CONFLICT DO NOTHING, so a concurrent copy cannot store it twice."""
    row = received(
        guest_id=guest.id, channel=Channel.EMAIL, provider=SENDGRID, provider_message_id=mail.message_id
    )
    MESSAGE_SUBJECT.write(row, keys, mail.subject or None)
    MESSAGE_BODY.write(row, keys, mail.text)
    values = {column.name: getattr(row, column.name) for column in Communication.__table__.columns}  # type: ignore[attr-defined]
    inserted = await session.scalar(
        insert(Communication)
        .values(values)
        .on_conflict_do_nothing(
            index_elements=["provider_message_id"], index_where=sa.text("provider_message_id IS NOT NULL")
        )
        .returning(col(Communication.id))
    )
    if inserted is None:
        raise _AlreadyStored
    communication = await session.get(Communication, inserted)
    assert communication is not None  # inserted just now in this transaction
    outgoing.add_event(session, communication, DeliveryStep.RECEIVED, provider=SENDGRID)
    await guests.touch(session, guest.id)
    return communication
