"""Guest records: lookup, the customer list, creation and edits."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import NAME_MAX, TEXT_MAX
from hospes.models.tenant import Booking, BookingStatus, Guest, GuestTally
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.schema.enums import GuestOrderField, OrderDirection
from hospes.schema.errors import UserErrorCode, bad_input, not_found
from hospes.schema.ids import decode_id
from hospes.schema.inputs import CreateGuestInput, GuestFilter, GuestOrder, UpdateGuestInput
from hospes.services import audit, guest_fields
from hospes.services.rejections import Problems, Rejection, rejected
from hospes.tenancy.crypto import TenantKeys

SEARCH_MAX = 200
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")


def _sort(order: GuestOrder) -> Sort:
    descending = order.direction is OrderDirection.DESC
    field = order.field
    if field is GuestOrderField.NAME:
        return Sort("name", col(Guest.name_key), col(Guest.id), "text", descending)
    if field is GuestOrderField.BOOKING_COUNT:
        return Sort("booking_count", col(Guest.booking_count), col(Guest.id), "int", descending)
    expression = (
        col(Guest.last_activity_at) if field is GuestOrderField.LAST_ACTIVITY_AT else col(Guest.created_at)
    )
    return Sort(field.value, expression, col(Guest.id), "datetime", descending)


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


def _filter_conditions(filter_: GuestFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filter_.property_id is not None:
        property_pk = decode_id("Property", filter_.property_id)
        conditions.append(
            sa.exists().where(
                col(Booking.guest_id) == col(Guest.id),
                col(Booking.property_id) == property_pk,
                col(Booking.status) != BookingStatus.CANCELLED.value,
            )
            if property_pk is not None
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


async def guest_by_id(ctx: Context, guest_id: str) -> Guest:
    """The guest of the caller's tenant, or NOT_FOUND (malformed, unknown and foreign ids alike)."""
    pk = decode_id("Guest", guest_id)
    row = await ctx.loaders.guest.load(pk) if pk is not None else None
    if row is None:
        raise not_found("Guest")
    return row


async def list_guests(
    ctx: Context,
    *,
    search: str | None,
    first: int | None,
    after: str | None,
    order: GuestOrder,
    filter_: GuestFilter | None,
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """One page of the customer list (erased guests left out) and a counter run only if asked."""
    conditions: list[sa.ColumnElement[bool]] = [col(Guest.erased_at).is_(None)]
    if search is not None and search.strip():
        if len(search) > SEARCH_MAX:
            raise bad_input(f"`search` must be at most {SEARCH_MAX} characters.")
        region = ctx.tenant.settings.get("default_region")
        conditions.append(search_condition(search, keys=await ctx.keys(), region=region))
    if filter_ is not None:
        conditions.extend(_filter_conditions(filter_))
    where = sa.and_(*conditions)
    page = await keyset_page(
        ctx, query=sa.select(Guest).where(where), sort=_sort(order), first=first, after=after
    )
    # The whole list's size is kept by triggers; only a narrowed list is counted.
    count_query = (
        sa.select(col(GuestTally.live))
        if len(conditions) == 1
        else sa.select(sa.func.count()).select_from(Guest).where(where)
    )

    async def total() -> int:
        return int(await ctx.scalar(count_query))

    return page, total


def _clean_fields(
    ctx: Context, problems: Problems, data: CreateGuestInput | UpdateGuestInput
) -> dict[str, Any]:
    """Validate the fields present in `data`; returns field -> clean value."""
    region = ctx.tenant.settings.get("default_region")
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return getattr(data, name) is not strawberry.UNSET

    if given("name"):
        values["name"] = check.text(problems, "name", data.name, max_length=NAME_MAX, required=True)
    if given("email"):
        values["email"] = check.email(problems, "email", data.email)
    if given("phone"):
        values["phone"] = check.phone(problems, "phone", data.phone, region=region)
    if given("country"):
        values["country"] = check.country(problems, "country", data.country)
    if given("language"):
        values["language"] = check.language(problems, "language", data.language)
    if given("notes"):
        values["notes"] = check.text(problems, "notes", data.notes, max_length=TEXT_MAX)
    if given("preferred_channel"):
        values["preferred_channel"] = data.preferred_channel.value if data.preferred_channel else None
    return values


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


async def create_guest(ctx: Context, data: CreateGuestInput) -> Guest | Rejection:
    problems = Problems()
    values = _clean_fields(ctx, problems, data)
    if problems:
        return problems.rejection()
    keys = await ctx.keys()

    async def work(session: AsyncSession) -> Guest:
        guest = Guest(id=uuid.uuid4())
        guest_fields.set_name(guest, values.pop("name"))
        _apply(guest, keys, values)
        session.add(guest)
        await session.flush()
        audit.record(session, actor=ctx.principal, action="guest.created", entity="guest", entity_id=guest.id)
        return guest

    return await ctx.write(work)


async def update_guest(ctx: Context, data: UpdateGuestInput) -> Guest | Rejection:
    problems = Problems()
    pk = check.object_id(problems, "guestId", "Guest", data.guest_id)
    values = _clean_fields(ctx, problems, data)
    if problems or pk is None:
        return problems.rejection()

    async def work(session: AsyncSession) -> Guest | Rejection:
        guest = await session.get(Guest, pk, with_for_update=True, populate_existing=True)
        if guest is None:
            return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
        if guest.erased_at is not None:
            return rejected("guestId", UserErrorCode.INVALID_STATE, "This guest was erased.")
        keys = await ctx.keys_within(session, guest.email_enc, guest.phone_enc, guest.notes_enc)
        changed = _apply(guest, keys, values)
        await session.flush()
        if changed:
            audit.record(
                session,
                actor=ctx.principal,
                action="guest.updated",
                entity="guest",
                entity_id=guest.id,
                data={"fields": changed},
            )
        await session.refresh(guest)
        return guest

    return await ctx.write(work)
