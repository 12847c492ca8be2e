"""Guest records: lookup, the customer list, creation and edits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from hospes.models.columns import NAME_MAX, TEXT_MAX
from hospes.models.tenant import Guest
from hospes.resolvers import validation as check
from hospes.resolvers.caller import caller_of
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, keyset_page
from hospes.schema.enums import OrderDirection
from hospes.schema.errors import bad_input, not_found
from hospes.schema.ids import decode_id
from hospes.schema.inputs import CreateGuestInput, GuestFilter, GuestOrder, UpdateGuestInput
from hospes.services import guests
from hospes.services.paging import Listing
from hospes.services.rejections import Problems, Rejection
from hospes.tenancy.crypto import TenantKeys

SEARCH_MAX = 200


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
    listing = await guest_listing(ctx, search=search, order=order, filter_=filter_)
    page = await keyset_page(ctx, query=listing.query, sort=listing.sort, first=first, after=after)

    async def total() -> int:
        return int(await ctx.scalar(listing.count))

    return page, total


async def guest_listing(
    ctx: Context, *, search: str | None, order: GuestOrder, filter_: GuestFilter | None
) -> Listing:
    """The customer list's statements for these arguments; BAD_USER_INPUT for a search too long."""
    region = ctx.tenant.settings.get("default_region")
    return guests.guest_list(
        search=await search_terms(ctx, search),
        region=region,
        order_field=order.field.value,
        descending=order.direction is OrderDirection.DESC,
        filter_=_filter(filter_) if filter_ is not None else None,
    )


async def search_terms(ctx: Context, search: str | None) -> tuple[str, TenantKeys] | None:
    """A customer-list `search` (checked) with the keys its blind-index lookups need; None for
    no search. The guest list and the inquiry pipeline search guests alike."""
    if search is None or not search.strip():
        return None
    if len(search) > SEARCH_MAX:
        raise bad_input(f"`search` must be at most {SEARCH_MAX} characters.")
    return search, await ctx.keys()


def _filter(filter_: GuestFilter) -> guests.GuestListFilter:
    return guests.GuestListFilter(
        by_property=filter_.property_id is not None,
        property_id=decode_id("Property", filter_.property_id) if filter_.property_id is not None else None,
        has_upcoming_booking=filter_.has_upcoming_booking,
        sms_opt_in=filter_.sms_opt_in,
        marketing_email_consent=filter_.marketing_email_consent,
        country=filter_.country,
    )


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


async def create_guest(ctx: Context, data: CreateGuestInput) -> Guest | Rejection:
    problems = Problems()
    values = _clean_fields(ctx, problems, data)
    if problems:
        return problems.rejection()
    keys = await ctx.keys()
    actor = ctx.principal
    return await ctx.write(
        lambda session: guests.create_guest(session, keys=keys, actor=actor, values=values)
    )


async def update_guest(ctx: Context, data: UpdateGuestInput) -> Guest | Rejection:
    problems = Problems()
    pk = check.object_id(problems, "guestId", "Guest", data.guest_id)
    values = _clean_fields(ctx, problems, data)
    if problems or pk is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: guests.update_guest(session, caller=caller, guest_id=pk, values=values)
    )
