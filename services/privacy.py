"""Consent, merging duplicate records, and erasure (the right to be forgotten): the rules and the
SQL. Every change is audited with who asked and when."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import TEXT_MAX, utcnow
from hospes.models.tenant import (
    Booking,
    Communication,
    CommunicationStatus,
    Guest,
    GuestAccount,
    Inquiry,
    InquiryReminder,
    ReminderStatus,
    ScheduledMessage,
    ScheduledStatus,
    ServiceRequest,
)
from hospes.services import audit, guest_fields, guests, intake
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy.crypto import TenantKeys, versions_in
from hospes.tenancy.encrypted_columns import (
    INQUIRY_LOST_NOTE,
    INQUIRY_MESSAGE,
    INQUIRY_NOTES,
    INQUIRY_SUBJECT,
    MESSAGE_BODY,
    MESSAGE_RECIPIENT,
    MESSAGE_SECRETS,
    MESSAGE_SUBJECT,
    SERVICE_REQUEST_NOTES,
)
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.principal import Principal

ERASED_NAME = "Erased guest"
# Consent columns and their input field names.
CONSENTS = {"sms_opt_in": "smsOptIn", "marketing_email_consent": "marketingEmailConsent"}


async def set_guest_consent(
    session: AsyncSession, *, actor: Principal | None, guest_id: uuid.UUID, wanted: dict[str, Any]
) -> Guest | Rejection:
    """Record consent (`wanted`: consent column to value) as the guest gave it to staff; each
    change is audited (source: staff)."""
    guest = await session.get(Guest, guest_id, with_for_update=True, populate_existing=True)
    if guest is None:
        return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
    if guest.erased_at is not None:
        return rejected("guestId", UserErrorCode.INVALID_STATE, "This guest was erased.")
    for name, value in wanted.items():
        intake.set_consent(session, guest, name, value, source="staff", actor=actor)
    await session.flush()
    return guest


async def _locked_pair(session: AsyncSession, first: uuid.UUID, second: uuid.UUID) -> dict[uuid.UUID, Guest]:
    """Both guests, locked in id order so two merges of the same pair cannot deadlock."""
    rows = await session.scalars(
        sa.select(Guest)
        .where(col(Guest.id).in_([first, second]))
        .order_by(col(Guest.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


async def merge_guests(
    session: AsyncSession,
    *,
    keyring: Keyring,
    schema_name: str,
    actor: Principal | None,
    source_id: uuid.UUID,
    target_id: uuid.UUID,
) -> Guest | Rejection:
    """Move everything of the source guest (bookings, messages, service requests, payments through
    their bookings, the account) to the target, fill the target's blanks, delete the source."""
    if source_id == target_id:
        return rejected("targetGuestId", UserErrorCode.INVALID, "A guest cannot be merged into itself.")
    pair = await _locked_pair(session, source_id, target_id)
    found = Problems()
    for field_name, pk in (("sourceGuestId", source_id), ("targetGuestId", target_id)):
        guest = pair.get(pk)
        if guest is None:
            found.add(field_name, UserErrorCode.NOT_FOUND, "Guest not found.")
        elif guest.erased_at is not None:
            found.add(field_name, UserErrorCode.INVALID_STATE, "This guest was erased.")
    if found:
        return found.rejection()
    source, target = pair[source_id], pair[target_id]
    accounts = (
        await session.scalars(
            sa.select(GuestAccount).where(col(GuestAccount.guest_id).in_([source.id, target.id]))
        )
    ).all()
    if len(accounts) > 1:
        return rejected(
            "sourceGuestId", UserErrorCode.CONFLICT, "Both guests have an account; disable one first."
        )
    blobs = [blob for g in (source, target) for blob in (g.email_enc, g.phone_enc, g.notes_enc)]
    keys = await keyring.keys(session, schema_name, versions=versions_in(blobs))
    filled = _fill_from(target, source, keys)
    for table in (Booking, Communication, ServiceRequest, GuestAccount, Inquiry):
        guest_id = sa.inspect(table).columns["guest_id"]
        await session.execute(sa.update(table).where(guest_id == source.id).values(guest_id=target.id))
    target.created_at = min(target.created_at, source.created_at)
    target.last_activity_at = max(target.last_activity_at, source.last_activity_at)
    await session.flush()
    await session.delete(source)
    await session.flush()
    await guests.refresh_booking_count(session, target.id)
    audit.record(
        session,
        actor=actor,
        action="guest.merged",
        entity="guest",
        entity_id=target.id,
        data={"source_guest_id": str(source.id), "filled": filled},
    )
    await session.refresh(target)
    return target


def _fill_from(target: Guest, source: Guest, keys: TenantKeys) -> list[str]:
    """Copy what the target lacks; consent given under either record holds for the person."""
    filled: list[str] = []
    if target.email_enc is None and source.email_enc is not None:
        guest_fields.set_email(target, keys, guest_fields.email_of(source, keys))
        filled.append("email")
    if target.phone_enc is None and source.phone_enc is not None:
        guest_fields.set_phone(target, keys, guest_fields.phone_of(source, keys))
        filled.append("phone")
    if source.notes_enc is not None:
        notes = [
            text
            for text in (guest_fields.notes_of(target, keys), guest_fields.notes_of(source, keys))
            if text
        ]
        guest_fields.set_notes(target, keys, "\n\n".join(notes)[:TEXT_MAX])
        filled.append("notes")
    for name in ("country", "language", "preferred_channel"):
        if getattr(target, name) is None and getattr(source, name) is not None:
            setattr(target, name, getattr(source, name))
            filled.append(name)
    for name in CONSENTS:
        if getattr(source, name) and not getattr(target, name):
            setattr(target, name, True)
            filled.append(name)
    return filled


ERASED_REASON = "the guest's personal data was erased"


async def erase_guest(
    session: AsyncSession, *, actor: Principal | None, guest_id: uuid.UUID, reason: str | None
) -> Guest | Rejection:
    """Remove the person: name, contact, notes, consent, message bodies, stay-guest details,
    service-request notes, the inquiries' texts and the account. Bookings, payments and the
    inquiries' facts (stages, dates, history) stay, de-identified."""
    guest = await session.get(Guest, guest_id, with_for_update=True, populate_existing=True)
    if guest is None:
        return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
    if guest.erased_at is not None:
        return rejected("guestId", UserErrorCode.INVALID_STATE, "This guest was already erased.")
    guest.name, guest.name_key, guest.search_vector = ERASED_NAME, "", None
    for column in (
        "email_enc",
        "email_bidx",
        "phone_enc",
        "phone_bidx",
        "notes_enc",
        "country",
        "language",
        "preferred_channel",
    ):
        setattr(guest, column, None)
    guest.sms_opt_in = guest.marketing_email_consent = False
    guest.erased_at = utcnow()
    message_text = (MESSAGE_SUBJECT, MESSAGE_BODY, MESSAGE_RECIPIENT, MESSAGE_SECRETS)
    await session.execute(
        sa.update(Communication)
        .where(col(Communication.guest_id) == guest.id)
        .values({"error": None, **{column.attribute: None for column in message_text}})
    )
    # Nothing more goes to an erased guest: queued messages stop here, scheduled ones are off.
    await session.execute(
        sa.update(Communication)
        .where(
            col(Communication.guest_id) == guest.id,
            col(Communication.status) == CommunicationStatus.QUEUED.value,
            col(Communication.sending_since).is_(None),
        )
        .values(status=CommunicationStatus.SUPPRESSED.value, error=ERASED_REASON, status_at=sa.func.now())
    )
    await session.execute(
        sa.update(ScheduledMessage)
        .where(
            col(ScheduledMessage.booking_id).in_(
                sa.select(col(Booking.id)).where(col(Booking.guest_id) == guest.id)
            ),
            col(ScheduledMessage.status) == ScheduledStatus.SCHEDULED.value,
        )
        .values(status=ScheduledStatus.CANCELLED.value, updated_at=sa.func.now())
    )
    await session.execute(
        sa.update(Booking)
        .where(col(Booking.guest_id) == guest.id)
        .values(
            stay_guest_name=None,
            stay_guest_email_enc=None,
            stay_guest_phone_enc=None,
            cancel_reason_enc=None,
        )
    )
    await session.execute(
        sa.update(ServiceRequest)
        .where(col(ServiceRequest.guest_id) == guest.id)
        .values({SERVICE_REQUEST_NOTES.attribute: None})
    )
    await session.execute(sa.delete(GuestAccount).where(col(GuestAccount.guest_id) == guest.id))
    await _erase_inquiries(session, guest.id)
    audit.record(
        session,
        actor=actor,
        action="guest.erased",
        entity="guest",
        entity_id=guest.id,
        data={"reason": reason},
    )
    await session.flush()
    return guest


async def _erase_inquiries(session: AsyncSession, guest_id: uuid.UUID) -> None:
    """The guest's inquiries lose their texts (subject, message, notes, lost note), and no reminder
    goes to an erased guest."""
    texts = (INQUIRY_SUBJECT, INQUIRY_MESSAGE, INQUIRY_NOTES, INQUIRY_LOST_NOTE)
    of_guest = sa.select(col(Inquiry.id)).where(col(Inquiry.guest_id) == guest_id)
    await session.execute(
        sa.update(Inquiry)
        .where(col(Inquiry.guest_id) == guest_id)
        .values({column.attribute: None for column in texts})
    )
    await session.execute(
        sa.update(InquiryReminder)
        .where(
            col(InquiryReminder.inquiry_id).in_(of_guest),
            col(InquiryReminder.status) == ReminderStatus.SCHEDULED.value,
        )
        .values(status=ReminderStatus.CANCELLED.value, updated_at=sa.func.now())
    )
