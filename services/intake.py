"""Guest records that build themselves: every intake path (manual booking, OTA import, booking
form, contact form) finds the person's existing record or creates one.

Matching is by normalised email or E.164 phone through the blind indexes, inside the tenant only.
It is conservative: a match whose name is clearly another person (an agency or an assistant
booking for many people under one address) creates a new guest; staff can merge later."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Guest
from hospes.services import audit, guest_fields
from hospes.services.rejections import Problems, UserErrorCode
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.principal import Principal

_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


@dataclass(frozen=True)
class GuestDetails:
    name: str
    email: str | None
    phone: str | None
    country: str | None
    language: str | None


def names_compatible(known: str, offered: str) -> bool:
    """Could `offered` be the same person as `known`? Same given name (or its initial), or the same
    words in another order. 'Anna Hemm' ~ 'A. Hemm' ~ 'Hemm, Anna'; 'Ben Hemm' is someone else."""
    a, b = guest_fields.name_words(known), guest_fields.name_words(offered)
    if not a or not b:
        return True
    if set(a) == set(b) or set(a) <= set(b) or set(b) <= set(a):
        return True
    first_a, first_b = a[0], b[0]
    if first_a == first_b:
        return True
    return (len(first_a) == 1 or len(first_b) == 1) and first_a[0] == first_b[0]


async def _lock(session: AsyncSession, *digests: bytes | None) -> None:
    """Serialise intakes of the same email/phone, so two at once cannot create two records."""
    for digest in sorted(d for d in digests if d is not None):
        await session.execute(_LOCK, {"key": digest.hex()})


async def find_or_create_guest(
    session: AsyncSession, keys: TenantKeys, details: GuestDetails, *, actor: Principal | None, source: str
) -> tuple[Guest, bool]:
    """The existing guest this person matches, with blank fields filled in (never overwriting what
    is there), or a new guest. Returns (guest, created)."""
    email_bidx = keys.blind_index(details.email, kind="email")
    phone_bidx = keys.blind_index(details.phone, kind="phone")
    await _lock(session, email_bidx, phone_bidx)
    match: Guest | None = None
    if email_bidx is not None or phone_bidx is not None:
        by_contact = sa.or_(
            col(Guest.email_bidx) == email_bidx if email_bidx is not None else sa.false(),
            col(Guest.phone_bidx) == phone_bidx if phone_bidx is not None else sa.false(),
        )
        candidates = (
            await session.scalars(
                sa.select(Guest)
                .where(by_contact, col(Guest.erased_at).is_(None))
                # An email match outranks a phone match; then the most recently active record.
                .order_by(
                    (col(Guest.email_bidx) == email_bidx).desc().nulls_last()
                    if email_bidx is not None
                    else sa.literal(0),
                    col(Guest.last_activity_at).desc(),
                )
                .limit(20)
            )
        ).all()
        match = next((guest for guest in candidates if names_compatible(guest.name, details.name)), None)
    if match is not None:
        filled = _fill_blanks(match, keys, details)
        if filled:
            audit.record(
                session,
                actor=actor,
                action="guest.completed",
                entity="guest",
                entity_id=match.id,
                data={"fields": filled, "source": source},
            )
        return match, False
    guest = Guest(id=uuid.uuid4(), country=details.country, language=details.language)
    guest_fields.set_name(guest, details.name)
    guest_fields.set_email(guest, keys, details.email)
    guest_fields.set_phone(guest, keys, details.phone)
    session.add(guest)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="guest.created",
        entity="guest",
        entity_id=guest.id,
        data={"source": source},
    )
    return guest, True


def _fill_blanks(guest: Guest, keys: TenantKeys, details: GuestDetails) -> list[str]:
    filled: list[str] = []
    if guest.email_enc is None and details.email is not None:
        guest_fields.set_email(guest, keys, details.email)
        filled.append("email")
    if guest.phone_enc is None and details.phone is not None:
        guest_fields.set_phone(guest, keys, details.phone)
        filled.append("phone")
    if guest.country is None and details.country is not None:
        guest.country = details.country
        filled.append("country")
    if guest.language is None and details.language is not None:
        guest.language = details.language
        filled.append("language")
    return filled


def grant_consent(
    session: AsyncSession,
    guest: Guest,
    *,
    sms_opt_in: bool,
    marketing_email_consent: bool,
    source: str,
    actor: Principal | None,
) -> None:
    """Checked boxes grant consent; an unchecked box never withdraws consent given before.
    Each change is audited with its source."""
    for field_name, checked in (
        ("sms_opt_in", sms_opt_in),
        ("marketing_email_consent", marketing_email_consent),
    ):
        if checked:
            set_consent(session, guest, field_name, True, source=source, actor=actor)


def set_consent(
    session: AsyncSession, guest: Guest, field_name: str, value: bool, *, source: str, actor: Principal | None
) -> None:
    """Set one consent column of `guest`; a change is audited with its source, a repeat is not."""
    if getattr(guest, field_name) == value:
        return
    setattr(guest, field_name, value)
    audit.record(
        session,
        actor=actor,
        action="consent.changed",
        entity="guest",
        entity_id=guest.id,
        data={"consent": field_name, "value": value, "source": source},
    )


async def known_guest(session: AsyncSession, problems: Problems, guest_id: uuid.UUID | None) -> Guest | None:
    """The guest a write names by `guestId` (None when it names none); a missing or erased one is
    reported in `problems`."""
    if guest_id is None:
        return None
    guest = await session.get(Guest, guest_id)
    if guest is None:
        problems.add("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
    elif guest.erased_at is not None:
        problems.add("guestId", UserErrorCode.INVALID_STATE, "This guest was erased.")
        return None
    return guest
