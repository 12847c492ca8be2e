"""How a guest's private and searchable fields are stored: contact data encrypted (see
`tenancy/encrypted_columns.py`) with a blind index beside it, the name folded for
accent-insensitive search and sorting."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import sqlalchemy as sa

from hospes.models.tenant import Booking, Guest
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import (
    GUEST_EMAIL,
    GUEST_NOTES,
    GUEST_PHONE,
    STAY_GUEST_EMAIL,
    STAY_GUEST_PHONE,
)

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
        "email_enc": GUEST_EMAIL.seal(keys, email),
        "email_bidx": keys.blind_index(email, kind="email"),
        "phone_enc": GUEST_PHONE.seal(keys, phone),
        "phone_bidx": keys.blind_index(phone, kind="phone"),
        "notes_enc": GUEST_NOTES.seal(keys, notes),
    }


def set_name(guest: Guest, name: str) -> None:
    fields = name_fields(name)
    guest.name = name
    guest.name_key = fields["name_key"]
    guest.search_vector = sa.func.to_tsvector(_SIMPLE, fields["search_text"])


def set_email(guest: Guest, keys: TenantKeys, email: str | None) -> None:
    GUEST_EMAIL.write(guest, keys, email)
    guest.email_bidx = keys.blind_index(email, kind="email")


def set_phone(guest: Guest, keys: TenantKeys, phone: str | None) -> None:
    GUEST_PHONE.write(guest, keys, phone)
    guest.phone_bidx = keys.blind_index(phone, kind="phone")


def set_notes(guest: Guest, keys: TenantKeys, notes: str | None) -> None:
    GUEST_NOTES.write(guest, keys, notes)


def email_of(guest: Guest, keys: TenantKeys) -> str | None:
    return GUEST_EMAIL.read(guest, keys)


def phone_of(guest: Guest, keys: TenantKeys) -> str | None:
    return GUEST_PHONE.read(guest, keys)


def notes_of(guest: Guest, keys: TenantKeys) -> str | None:
    return GUEST_NOTES.read(guest, keys)


def set_stay_guest(
    booking: Booking, keys: TenantKeys, *, name: str | None, email: str | None, phone: str | None
) -> None:
    booking.stay_guest_name = name
    STAY_GUEST_EMAIL.write(booking, keys, email)
    STAY_GUEST_PHONE.write(booking, keys, phone)


def stay_guest_of(booking: Booking, keys: TenantKeys) -> dict[str, Any] | None:
    if not booking.stay_guest_name:
        return None
    return {
        "name": booking.stay_guest_name,
        "email": STAY_GUEST_EMAIL.read(booking, keys),
        "phone": STAY_GUEST_PHONE.read(booking, keys),
    }
