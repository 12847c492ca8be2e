"""How a guest's private and searchable fields are stored: contact data encrypted with a blind
index beside it, the name folded for accent-insensitive search and sorting."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import sqlalchemy as sa

from models.tenant import Booking, Guest
from tenancy.crypto import TenantKeys

_WORD = re.compile(r"[a-z0-9]+")
# A constant, never a request value: the text search configuration that only lower-cases.
_SIMPLE: sa.ColumnClause[str] = sa.literal_column("'simple'::regconfig")


def fold(text: str) -> str:
    """Lower-case without accents: 'Lucía Ñuñez' -> 'lucia nunez'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def name_words(name: str) -> list[str]:
    return _WORD.findall(fold(name))


def name_fields(name: str) -> dict[str, str]:
    """`name_key` (sort key) and the text the search vector is built from."""
    folded = " ".join(name_words(name))
    return {"name_key": folded, "search_text": folded}


def prefix_query(search: str) -> str | None:
    """A tsquery matching names having a word that starts with each searched word, or None.
    Built only from [a-z0-9] words, so no tsquery syntax from the request survives."""
    words = name_words(search)[:8]
    return " & ".join(f"{word}:*" for word in words) if words else None


def encrypted_contact(
    keys: TenantKeys, *, email: str | None, phone: str | None, notes: str | None
) -> dict[str, bytes | None]:
    return {
        "email_enc": keys.encrypt_optional(email, column="guest.email"),
        "email_bidx": keys.blind_index(email, kind="email"),
        "phone_enc": keys.encrypt_optional(phone, column="guest.phone"),
        "phone_bidx": keys.blind_index(phone, kind="phone"),
        "notes_enc": keys.encrypt_optional(notes, column="guest.notes"),
    }


def set_name(guest: Guest, name: str) -> None:
    fields = name_fields(name)
    guest.name = name
    guest.name_key = fields["name_key"]
    guest.search_vector = sa.func.to_tsvector(_SIMPLE, fields["search_text"])


def set_email(guest: Guest, keys: TenantKeys, email: str | None) -> None:
    guest.email_enc = keys.encrypt_optional(email, column="guest.email")
    guest.email_bidx = keys.blind_index(email, kind="email")


def set_phone(guest: Guest, keys: TenantKeys, phone: str | None) -> None:
    guest.phone_enc = keys.encrypt_optional(phone, column="guest.phone")
    guest.phone_bidx = keys.blind_index(phone, kind="phone")


def set_notes(guest: Guest, keys: TenantKeys, notes: str | None) -> None:
    guest.notes_enc = keys.encrypt_optional(notes, column="guest.notes")


def email_of(guest: Guest, keys: TenantKeys) -> str | None:
    return keys.decrypt_optional(guest.email_enc, column="guest.email")


def phone_of(guest: Guest, keys: TenantKeys) -> str | None:
    return keys.decrypt_optional(guest.phone_enc, column="guest.phone")


def notes_of(guest: Guest, keys: TenantKeys) -> str | None:
    return keys.decrypt_optional(guest.notes_enc, column="guest.notes")


def set_stay_guest(
    booking: Booking, keys: TenantKeys, *, name: str | None, email: str | None, phone: str | None
) -> None:
    booking.stay_guest_name = name
    booking.stay_guest_email_enc = keys.encrypt_optional(email, column="booking.stay_guest_email")
    booking.stay_guest_phone_enc = keys.encrypt_optional(phone, column="booking.stay_guest_phone")


def stay_guest_of(booking: Booking, keys: TenantKeys) -> dict[str, Any] | None:
    if not booking.stay_guest_name:
        return None
    return {
        "name": booking.stay_guest_name,
        "email": keys.decrypt_optional(booking.stay_guest_email_enc, column="booking.stay_guest_email"),
        "phone": keys.decrypt_optional(booking.stay_guest_phone_enc, column="booking.stay_guest_phone"),
    }
