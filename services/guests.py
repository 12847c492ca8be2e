"""Guest records: the bookkeeping every guest-touching write shares, the customer list, creation
and edits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Booking, BookingStatus, Guest, GuestTally
from hospes.services import audit, guest_fields
from hospes.services import validation as check
from hospes.services.caller import Caller
from hospes.services.paging import Listing, Sort
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.principal import Principal


async def touch(session: AsyncSession, guest_id: uuid.UUID) -> None:
    """Mark activity on a guest record (bookings, payments, messages, service requests)."""
    await session.execute(
        sa.update(Guest).where(col(Guest.id) == guest_id).values(last_activity_at=sa.func.now())
    )


async def refresh_booking_count(session: AsyncSession, guest_id: uuid.UUID) -> None:
    """Recount a guest's non-cancelled bookings (the customer list sorts by it)."""
    live = (
        sa.select(sa.func.count())
        .where(col(Booking.guest_id) == guest_id, col(Booking.status) != BookingStatus.CANCELLED.value)
        .scalar_subquery()
    )
    await session.execute(sa.update(Guest).where(col(Guest.id) == guest_id).values(booking_count=live))


# --- the customer list ----------------------------------------------------------------------

_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")


@dataclass(frozen=True)
class GuestListFilter:
    """The customer list's narrowing. `by_property` with no `property_id` (an id that names no
    property) matches nobody."""

    by_property: bool = False
    property_id: uuid.UUID | None = None
    has_upcoming_booking: bool | None = None
    sms_opt_in: bool | None = None
    marketing_email_consent: bool | None = None
    country: str | None = None


def _sort(field: str, descending: bool) -> Sort:
    if field == "name":
        return Sort("name", col(Guest.name_key), col(Guest.id), "text", descending)
    if field == "booking_count":
        return Sort("booking_count", col(Guest.booking_count), col(Guest.id), "int", descending)
    expression = col(Guest.last_activity_at) if field == "last_activity_at" else col(Guest.created_at)
    return Sort(field, expression, col(Guest.id), "datetime", descending)


def search_condition(search: str, *, keys: TenantKeys, region: str | None) -> sa.ColumnElement[bool]:
    """Exact email or phone through the blind index; otherwise a prefix of any name part."""
    term = search.strip()
    if "@" in term:
        email = check.email(Problems(), "search", term)
        return col(Guest.email_bidx) == keys.blind_index(email, kind="email") if email else sa.false()
    if _PHONE_LIKE.fullmatch(term):
        phone = check.phone(Problems(), "search", term, region=region)
        return col(Guest.phone_bidx) == keys.blind_index(phone, kind="phone") if phone else sa.false()
    query = guest_fields.prefix_query(term)
    if query is None:
        return sa.false()
    return col(Guest.search_vector).op("@@")(
        sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), query)
    )


def _filter_conditions(filter_: GuestListFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filter_.by_property:
        conditions.append(
            sa.exists().where(
                col(Booking.guest_id) == col(Guest.id),
                col(Booking.property_id) == filter_.property_id,
                col(Booking.status) != BookingStatus.CANCELLED.value,
            )
            if filter_.property_id is not None
            else sa.false()
        )
    if filter_.has_upcoming_booking is not None:
        upcoming = sa.exists().where(
            col(Booking.guest_id) == col(Guest.id),
            col(Booking.check_in) >= date.today(),
            col(Booking.status).in_([BookingStatus.CONFIRMED.value, BookingStatus.INQUIRY.value]),
        )
        conditions.append(upcoming if filter_.has_upcoming_booking else sa.not_(upcoming))
    if filter_.sms_opt_in is not None:
        conditions.append(col(Guest.sms_opt_in).is_(filter_.sms_opt_in))
    if filter_.marketing_email_consent is not None:
        conditions.append(col(Guest.marketing_email_consent).is_(filter_.marketing_email_consent))
    if filter_.country is not None:
        conditions.append(col(Guest.country) == filter_.country.strip().upper())
    return conditions


def guest_list(
    *,
    search: tuple[str, TenantKeys] | None,
    region: str | None,
    order_field: str,
    descending: bool,
    filter_: GuestListFilter | None,
) -> Listing:
    """The customer list (erased guests left out), matching `search` (the term and the keys its
    blind index needs) and `filter_`, ordered by `order_field`."""
    conditions: list[sa.ColumnElement[bool]] = [col(Guest.erased_at).is_(None)]
    if search is not None:
        term, keys = search
        conditions.append(search_condition(term, keys=keys, region=region))
    if filter_ is not None:
        conditions.extend(_filter_conditions(filter_))
    where = sa.and_(*conditions)
    # The whole list's size is kept by triggers; only a narrowed list is counted.
    count = (
        sa.select(col(GuestTally.live))
        if len(conditions) == 1
        else sa.select(sa.func.count()).select_from(Guest).where(where)
    )
    return Listing(sa.select(Guest).where(where), _sort(order_field, descending), count)


# --- creation and edits ---------------------------------------------------------------------


def _apply(guest: Guest, keys: TenantKeys, values: dict[str, Any]) -> list[str]:
    """Write clean values onto a guest; returns the names of the fields that changed."""
    current = {
        "name": guest.name,
        "email": guest_fields.email_of(guest, keys),
        "phone": guest_fields.phone_of(guest, keys),
        "notes": guest_fields.notes_of(guest, keys),
        "country": guest.country,
        "language": guest.language,
        "preferred_channel": guest.preferred_channel,
    }
    changed = sorted(name for name, value in values.items() if current[name] != value)
    for name in changed:
        value = values[name]
        if name == "name":
            guest_fields.set_name(guest, value)
        elif name == "email":
            guest_fields.set_email(guest, keys, value)
        elif name == "phone":
            guest_fields.set_phone(guest, keys, value)
        elif name == "notes":
            guest_fields.set_notes(guest, keys, value)
        else:
            setattr(guest, name, value)
    return changed


async def create_guest(
    session: AsyncSession, *, keys: TenantKeys, actor: Principal | None, values: dict[str, Any]
) -> Guest:
    """A new guest from clean `values` (field -> value; `name` required)."""
    rest = dict(values)
    guest = Guest(id=uuid.uuid4())
    guest_fields.set_name(guest, rest.pop("name"))
    _apply(guest, keys, rest)
    session.add(guest)
    await session.flush()
    audit.record(session, actor=actor, action="guest.created", entity="guest", entity_id=guest.id)
    return guest


async def update_guest(
    session: AsyncSession, *, caller: Caller, guest_id: uuid.UUID, values: dict[str, Any]
) -> Guest | Rejection:
    """Change the fields in clean `values`; an audit event names those that changed."""
    guest = await session.get(Guest, guest_id, with_for_update=True, populate_existing=True)
    if guest is None:
        return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
    if guest.erased_at is not None:
        return rejected("guestId", UserErrorCode.INVALID_STATE, "This guest was erased.")
    keys = await caller.keys(session, guest.email_enc, guest.phone_enc, guest.notes_enc)
    changed = _apply(guest, keys, values)
    await session.flush()
    if changed:
        audit.record(
            session,
            actor=caller.actor,
            action="guest.updated",
            entity="guest",
            entity_id=guest.id,
            data={"fields": changed},
        )
    await session.refresh(guest)
    return guest
