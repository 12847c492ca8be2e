"""Consent, merging duplicate records, and erasure (the right to be forgotten). Every change is
audited with who asked and when."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import TEXT_MAX, utcnow
from hospes.models.tenant import (
    Booking,
    Communication,
    CommunicationStatus,
    Guest,
    GuestAccount,
    ScheduledMessage,
    ScheduledStatus,
    ServiceRequest,
)
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.schema.errors import UserErrorCode
from hospes.schema.inputs import EraseGuestInput, MergeGuestsInput, SetGuestConsentInput
from hospes.services import audit, guest_fields, guests
from hospes.services.rejections import Problems, Rejection, rejected
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import (
    MESSAGE_BODY,
    MESSAGE_RECIPIENT,
    MESSAGE_SECRETS,
    MESSAGE_SUBJECT,
    SERVICE_REQUEST_NOTES,
)

ERASED_NAME = "Erased guest"
# Consent columns and their input field names.
CONSENTS = {"sms_opt_in": "smsOptIn", "marketing_email_consent": "marketingEmailConsent"}


async def set_guest_consent(ctx: Context, data: SetGuestConsentInput) -> Guest | Rejection:
    """Record consent as the guest gave it to staff; each change is audited (source: staff)."""
    problems = Problems()
    pk = check.object_id(problems, "guestId", "Guest", data.guest_id)
    wanted = {name: getattr(data, name) for name in CONSENTS if getattr(data, name) is not strawberry.UNSET}
    for name, value in wanted.items():
        if value is None:
            problems.add(CONSENTS[name], UserErrorCode.REQUIRED, "Must be true or false.")
    if problems or pk is None:
        return problems.rejection()

    async def work(session: AsyncSession) -> Guest | Rejection:
        guest = await session.get(Guest, pk, with_for_update=True, populate_existing=True)
        if guest is None:
            return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
        if guest.erased_at is not None:
            return rejected("guestId", UserErrorCode.INVALID_STATE, "This guest was erased.")
        for name, value in wanted.items():
            if getattr(guest, name) != value:
                setattr(guest, name, value)
                audit.record(
                    session,
                    actor=ctx.principal,
                    action="consent.changed",
                    entity="guest",
                    entity_id=guest.id,
                    data={"consent": name, "value": value, "source": "staff"},
                )
        await session.flush()
        return guest

    return await ctx.write(work)


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


async def merge_guests(ctx: Context, data: MergeGuestsInput) -> Guest | Rejection:
    """Move everything of the source guest (bookings, messages, service requests, payments through
    their bookings, the account) to the target, fill the target's blanks, delete the source."""
    problems = Problems()
    source_pk = check.object_id(problems, "sourceGuestId", "Guest", data.source_guest_id)
    target_pk = check.object_id(problems, "targetGuestId", "Guest", data.target_guest_id)
    if problems or source_pk is None or target_pk is None:
        return problems.rejection()
    if source_pk == target_pk:
        return rejected("targetGuestId", UserErrorCode.INVALID, "A guest cannot be merged into itself.")

    async def work(session: AsyncSession) -> Guest | Rejection:
        pair = await _locked_pair(session, source_pk, target_pk)
        found = Problems()
        for field_name, pk in (("sourceGuestId", source_pk), ("targetGuestId", target_pk)):
            guest = pair.get(pk)
            if guest is None:
                found.add(field_name, UserErrorCode.NOT_FOUND, "Guest not found.")
            elif guest.erased_at is not None:
                found.add(field_name, UserErrorCode.INVALID_STATE, "This guest was erased.")
        if found:
            return found.rejection()
        source, target = pair[source_pk], pair[target_pk]
        accounts = (
            await session.scalars(
                sa.select(GuestAccount).where(col(GuestAccount.guest_id).in_([source.id, target.id]))
            )
        ).all()
        if len(accounts) > 1:
            return rejected(
                "sourceGuestId", UserErrorCode.CONFLICT, "Both guests have an account; disable one first."
            )
        keys = await ctx.keys_within(
            session, *(blob for g in (source, target) for blob in (g.email_enc, g.phone_enc, g.notes_enc))
        )
        filled = _fill_from(target, source, keys)
        for table in (Booking, Communication, ServiceRequest, GuestAccount):
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
            actor=ctx.principal,
            action="guest.merged",
            entity="guest",
            entity_id=target.id,
            data={"source_guest_id": str(source.id), "filled": filled},
        )
        await session.refresh(target)
        return target

    return await ctx.write(work)


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


async def erase_guest(ctx: Context, data: EraseGuestInput) -> Guest | Rejection:
    """Remove the person: name, contact, notes, consent, message bodies, stay-guest details,
    service-request notes and the account. Bookings and payments stay, de-identified."""
    problems = Problems()
    pk = check.object_id(problems, "guestId", "Guest", data.guest_id)
    reason = check.text(problems, "reason", data.reason, max_length=1000, required=True)
    if problems or pk is None:
        return problems.rejection()

    async def work(session: AsyncSession) -> Guest | Rejection:
        guest = await session.get(Guest, pk, with_for_update=True, populate_existing=True)
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
        audit.record(
            session,
            actor=ctx.principal,
            action="guest.erased",
            entity="guest",
            entity_id=guest.id,
            data={"reason": reason},
        )
        await session.flush()
        return guest

    return await ctx.write(work)
