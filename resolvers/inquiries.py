"""Inquiries: lookup, the pipeline and its stage counts, and staff working an inquiry (log one,
fill it in, assign it, lose it, reopen it, confirm it into a booking)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import TEXT_MAX
from hospes.models.tenant import Inquiry, InquiryStage
from hospes.resolvers import validation as check
from hospes.resolvers.caller import caller_of
from hospes.resolvers.context import Context
from hospes.resolvers.guests import search_terms
from hospes.resolvers.intake import guest_or_details
from hospes.resolvers.pagination import Page, keyset_page
from hospes.schema.errors import not_found
from hospes.schema.ids import decode_id
from hospes.schema.inputs import (
    AssignInquiryInput,
    ConfirmInquiryInput,
    CreateInquiryInput,
    MarkInquiryLostInput,
    ReopenInquiryInput,
    UpdateInquiryInput,
)
from hospes.services.bookings import MAX_PARTY
from hospes.services.caller import Caller
from hospes.services.inquiries import confirmation, pipeline, work
from hospes.services.inquiries.core import Request
from hospes.services.rejections import Problems, Rejection


async def inquiry_by_id(ctx: Context, inquiry_id: str) -> Inquiry:
    """The inquiry of the caller's tenant, or NOT_FOUND (malformed, unknown and foreign ids alike)."""
    pk = decode_id("Inquiry", inquiry_id)
    row = await ctx.loaders.inquiry.load(pk) if pk is not None else None
    if row is None:
        raise not_found("Inquiry")
    return row


async def list_inquiries(
    ctx: Context,
    *,
    stage: InquiryStage | None,
    search: str | None,
    first: int | None,
    after: str | None,
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """One page of the pipeline (needs action first, then newest activity) and a counter run only
    if asked."""
    listing = pipeline.inquiry_list(
        stage=stage, search=await search_terms(ctx, search), region=ctx.tenant.settings.get("default_region")
    )
    page = await keyset_page(ctx, query=listing.query, sort=listing.sort, first=first, after=after)

    async def total() -> int:
        return int(await ctx.scalar(listing.count))

    return page, total


@dataclass(frozen=True)
class StageCount:
    stage: InquiryStage
    count: int
    needs_action: int


async def stage_counts(ctx: Context) -> list[StageCount]:
    """Every stage, in pipeline order, with its count and how many of them need action."""
    found = {row.stage: row for row in await ctx.rows(pipeline.stage_counts())}
    return [
        StageCount(stage, found[stage.value].count, found[stage.value].needs_action) for stage in InquiryStage
    ]


def _optional_id(problems: Problems, field_name: str, type_name: str, value: str | None) -> uuid.UUID | None:
    """The row id an optional input names; None when it names none (a malformed one: NOT_FOUND)."""
    return check.object_id(problems, field_name, type_name, value) if value is not None else None


def _party(problems: Problems, values: dict[str, Any], adults: int | None, children: int | None) -> None:
    if adults is not None:
        values["adults"] = check.count(problems, "adults", adults, minimum=1, maximum=MAX_PARTY)
    if children is not None:
        values["children"] = check.count(problems, "children", children, minimum=0, maximum=MAX_PARTY)


async def create_inquiry(ctx: Context, data: CreateInquiryInput) -> Inquiry | Rejection:
    """An inquiry staff log, for a known guest (`guestId`) or a person found or created by details."""
    problems = Problems()
    guest_pk, details = guest_or_details(
        problems, data.guest_id, data.guest, region=ctx.tenant.settings.get("default_region")
    )
    property_pk = _optional_id(problems, "propertyId", "Property", data.property_id)
    if data.check_in is not None and data.check_out is not None:
        check.stay_dates(problems, data.check_in, data.check_out)
    party: dict[str, Any] = {}
    _party(problems, party, data.adults, data.children)
    message = check.text(problems, "message", data.message, max_length=TEXT_MAX)
    if problems:
        return problems.rejection()
    request = Request(
        property_id=property_pk,
        check_in=data.check_in,
        check_out=data.check_out,
        adults=party.get("adults"),
        children=party.get("children"),
        message=message,
    )
    keys = await ctx.keys()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: work.create_inquiry(
            session,
            caller=caller,
            keys=keys,
            source=data.source,
            guest_id=guest_pk,
            details=details,
            request=request,
        )
    )


def _inquiry_pk(problems: Problems, inquiry_id: str) -> uuid.UUID | None:
    return check.object_id(problems, "inquiryId", "Inquiry", inquiry_id)


async def update_inquiry(ctx: Context, data: UpdateInquiryInput) -> Inquiry | Rejection:
    """Fill in or correct what the guest left out; only the fields given change."""
    problems = Problems()
    values: dict[str, Any] = {}

    def given(value: object) -> bool:
        return value is not strawberry.UNSET

    if given(data.property_id):
        values["propertyId"] = _optional_id(problems, "propertyId", "Property", data.property_id)
    if given(data.check_in):
        values["checkIn"] = data.check_in
    if given(data.check_out):
        values["checkOut"] = data.check_out
    if given(data.adults):
        values["adults"] = None
        _party(problems, values, data.adults, None)
    if given(data.children):
        values["children"] = None
        _party(problems, values, None, data.children)
    if given(data.notes):
        values["notes"] = check.text(problems, "notes", data.notes, max_length=TEXT_MAX)
    return await _on_inquiry(
        ctx,
        problems,
        data.inquiry_id,
        lambda session, caller, pk: work.update_inquiry(session, caller=caller, inquiry_id=pk, values=values),
    )


async def _on_inquiry(
    ctx: Context,
    problems: Problems,
    inquiry_id: str,
    work: Callable[[AsyncSession, Caller, uuid.UUID], Awaitable[Inquiry | Rejection]],
) -> Inquiry | Rejection:
    """Run one step of staff work on the inquiry `inquiry_id` names, unless its input (checked
    into `problems`) was refused."""
    pk = _inquiry_pk(problems, inquiry_id)
    if problems or pk is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(lambda session: work(session, caller, pk))


async def assign_inquiry(ctx: Context, data: AssignInquiryInput) -> Inquiry | Rejection:
    problems = Problems()
    staff_pk = _optional_id(problems, "staffUserId", "StaffUser", data.staff_user_id)
    return await _on_inquiry(
        ctx,
        problems,
        data.inquiry_id,
        lambda session, caller, pk: work.assign_inquiry(
            session, caller=caller, inquiry_id=pk, staff_user_id=staff_pk
        ),
    )


async def mark_inquiry_lost(ctx: Context, data: MarkInquiryLostInput) -> Inquiry | Rejection:
    problems = Problems()
    note = check.text(problems, "note", data.note, max_length=TEXT_MAX)
    return await _on_inquiry(
        ctx,
        problems,
        data.inquiry_id,
        lambda session, caller, pk: work.mark_inquiry_lost(
            session, caller=caller, inquiry_id=pk, reason=data.reason, note=note
        ),
    )


async def reopen_inquiry(ctx: Context, data: ReopenInquiryInput) -> Inquiry | Rejection:
    return await _on_inquiry(
        ctx,
        Problems(),
        data.inquiry_id,
        lambda session, caller, pk: work.reopen_inquiry(session, caller=caller, inquiry_id=pk),
    )


async def confirm_inquiry(ctx: Context, data: ConfirmInquiryInput) -> Inquiry | Rejection:
    problems = Problems()
    quote_pk = (
        check.object_id(problems, "quoteId", "InquiryQuote", data.quote_id)
        if data.quote_id is not None
        else None
    )
    return await _on_inquiry(
        ctx,
        problems,
        data.inquiry_id,
        lambda session, caller, pk: confirmation.confirm_inquiry(
            session, caller=caller, inquiry_id=pk, quote_id=quote_pk
        ),
    )
