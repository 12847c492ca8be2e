"""Guest records: lookup, the customer list, creation and edits."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from models.columns import NAME_MAX, TEXT_MAX
from models.tenant import Guest
from resolvers import audit
from resolvers import validation as check
from resolvers.context import Context
from resolvers.pagination import Page, Sort, keyset_page
from resolvers.validation import Problems, Rejection, rejected
from schema.errors import UserErrorCode, bad_input, not_found
from schema.ids import decode_id
from schema.inputs import CreateGuestInput, UpdateGuestInput

SEARCH_MAX = 200


@strawberry.enum(description="How the customer list is ordered.")
class GuestOrderField(Enum):
    LAST_ACTIVITY_AT = "last_activity_at"
    REGISTERED_AT = "registered_at"
    NAME = "name"


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input
class GuestOrder:
    field: GuestOrderField = GuestOrderField.LAST_ACTIVITY_AT
    direction: OrderDirection = OrderDirection.DESC


def _sort(order: GuestOrder) -> Sort:
    descending = order.direction is OrderDirection.DESC
    expression: Any
    if order.field is GuestOrderField.NAME:
        return Sort("name", sa.func.lower(Guest.name), Guest.id, "text", descending)
    expression = (
        Guest.last_activity_at if order.field is GuestOrderField.LAST_ACTIVITY_AT else Guest.created_at
    )
    return Sort(order.field.value, expression, Guest.id, "datetime", descending)


def _search_condition(search: str) -> sa.ColumnElement[bool]:
    term = search.strip().lower()
    if "@" in term:
        return Guest.email == term  # type: ignore[return-value]
    return sa.func.lower(Guest.name).startswith(term, autoescape=True)


async def guest_by_id(ctx: Context, guest_id: str) -> Guest:
    """The guest of the caller's tenant, or NOT_FOUND (malformed, unknown and foreign ids alike)."""
    pk = decode_id("Guest", guest_id)
    row = await ctx.loaders.guest.load(pk) if pk is not None else None
    if row is None:
        raise not_found("Guest")
    return row


def _list_query(search: str | None) -> tuple[sa.Select[Any], sa.Select[Any]]:
    condition: sa.ColumnElement[bool] = sa.true()
    if search is not None and search.strip():
        if len(search) > SEARCH_MAX:
            raise bad_input(f"`search` must be at most {SEARCH_MAX} characters.")
        condition = _search_condition(search)
    return sa.select(Guest).where(condition), sa.select(sa.func.count()).select_from(Guest).where(condition)


async def list_guests(
    ctx: Context, *, search: str | None, first: int | None, after: str | None, order: GuestOrder
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """One page of the customer list and a function that counts all matches (run only if asked)."""
    query, count_query = _list_query(search)
    page = await keyset_page(ctx, query=query, sort=_sort(order), first=first, after=after)

    async def total() -> int:
        return int(await ctx.scalar(count_query))

    return page, total


def _clean_fields(
    ctx: Context, problems: Problems, data: CreateGuestInput | UpdateGuestInput
) -> dict[str, Any]:
    """Validate the fields present in `data`; returns column -> clean value."""
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

    async def work(session: AsyncSession) -> Guest:
        guest = Guest(**values)
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
        guest = await session.get(Guest, pk, with_for_update=True)
        if guest is None:
            return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
        if guest.erased_at is not None:
            return rejected("guestId", UserErrorCode.INVALID_STATE, "This guest was erased.")
        changed = sorted(name for name, value in values.items() if getattr(guest, name) != value)
        for name in changed:
            setattr(guest, name, values[name])
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
        return guest

    return await ctx.write(work)


async def touch(session: AsyncSession, guest_id: uuid.UUID) -> None:
    """Mark activity on a guest record (bookings, payments, messages, service requests)."""
    await session.execute(
        sa.update(Guest).where(Guest.id == guest_id).values(last_activity_at=sa.func.now())  # type: ignore[arg-type]
    )
