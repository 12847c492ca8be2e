"""Guest details as the GraphQL inputs give them, checked into the `GuestDetails` that every
intake path hands to `services/intake.py`."""

from __future__ import annotations

import uuid

from hospes.models.columns import NAME_MAX
from hospes.resolvers import validation as check
from hospes.schema.errors import UserErrorCode
from hospes.schema.inputs import GuestDetailsInput
from hospes.services.intake import GuestDetails
from hospes.services.rejections import Problems


def clean_details(
    problems: Problems,
    data: GuestDetailsInput,
    *,
    region: str | None,
    prefix: str = "guest",
    require_contact: bool = False,
) -> GuestDetails | None:
    """Validated guest details; a person needs a name, and (when asked) an email or a phone."""
    name = check.text(problems, f"{prefix}.name", data.name, max_length=NAME_MAX, required=True)
    email = check.email(problems, f"{prefix}.email", data.email)
    phone = check.phone(problems, f"{prefix}.phone", data.phone, region=region)
    country = check.country(problems, f"{prefix}.country", data.country)
    language = check.language(problems, f"{prefix}.language", data.language)
    given_contact = bool((data.email or "").strip() or (data.phone or "").strip())
    if require_contact and not given_contact:
        problems.add(prefix, UserErrorCode.REQUIRED, "An email address or a phone number is needed.")
    if name is None:
        return None
    return GuestDetails(name=name, email=email, phone=phone, country=country, language=language)


def guest_or_details(
    problems: Problems, guest_id: str | None, guest: GuestDetailsInput | None, *, region: str | None
) -> tuple[uuid.UUID | None, GuestDetails | None]:
    """A write for a known guest (`guestId`) or a person found or created by details: exactly one."""
    if (guest_id is None) == (guest is None):
        problems.add("guestId", UserErrorCode.REQUIRED, "Give either guestId or guest details.")
        return None, None
    if guest_id is not None:
        return check.object_id(problems, "guestId", "Guest", guest_id), None
    assert guest is not None
    return None, clean_details(problems, guest, region=region)
