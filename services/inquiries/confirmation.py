"""The guest said yes: an inquiry becomes a confirmed booking, made through the same path as a
booking staff enter by hand, so its confirmation (with the portal link) and the stay's scheduled
messages follow as for any booking. Nothing here commits."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import BookingSource, Guest, Inquiry, InquiryQuote, InquiryStage
from hospes.notifications.inquiry_trail import cancel_pending_reminders
from hospes.services import bookings
from hospes.services.caller import Caller
from hospes.services.inquiries.core import change_stage
from hospes.services.inquiries.work import locked_inquiry, not_found, who_of
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy.tenant_settings import TenantSettings

# A stay confirmed from an inquiry that never said how many: one adult, no children.
DEFAULT_ADULTS = 1
DEFAULT_CHILDREN = 0
# Confirmed with no quote at all: the booking's amount, in the company's default currency.
NO_QUOTE_AMOUNT = Decimal("0.00")


async def primary_quote(session: AsyncSession, inquiry_id: uuid.UUID) -> InquiryQuote | None:
    """The inquiry's primary quote: the newest one marked primary."""
    return (
        await session.scalars(
            sa.select(InquiryQuote)
            .where(col(InquiryQuote.inquiry_id) == inquiry_id, col(InquiryQuote.is_primary))
            .order_by(col(InquiryQuote.created_at).desc(), col(InquiryQuote.id).desc())
            .limit(1)
        )
    ).first()


async def _chosen_quote(
    session: AsyncSession, inquiry: Inquiry, quote_id: uuid.UUID | None
) -> InquiryQuote | Rejection | None:
    if quote_id is None:
        return await primary_quote(session, inquiry.id)
    quote = await session.get(InquiryQuote, quote_id)
    if quote is None or quote.inquiry_id != inquiry.id:
        return rejected("quoteId", UserErrorCode.NOT_FOUND, "Quote not found.")
    return quote


def _refusal_by_stage(inquiry: Inquiry) -> Rejection | None:
    if inquiry.stage == InquiryStage.CONFIRMED.value:
        return rejected("inquiryId", UserErrorCode.INVALID_STATE, "The inquiry is already confirmed.")
    if inquiry.stage == InquiryStage.LOST.value:
        return rejected(
            "inquiryId", UserErrorCode.INVALID_STATE, "A lost inquiry cannot be confirmed; reopen it first."
        )
    return None


async def confirm_inquiry(
    session: AsyncSession, *, caller: Caller, inquiry_id: uuid.UUID, quote_id: uuid.UUID | None
) -> Inquiry | Rejection:
    """A CONFIRMED booking (source INQUIRY) for the inquiry's guest at its property and dates,
    priced by the chosen quote (default: the primary one; none: 0.00 in the company's default
    currency); the inquiry moves to CONFIRMED and its pending reminders are cancelled. The inquiry
    row is locked first, so confirming twice at once makes one booking (the unique booking_id is
    the backstop)."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return not_found()
    refused = _refusal_by_stage(inquiry)
    if refused is not None:
        return refused
    quote = await _chosen_quote(session, inquiry, quote_id)
    if isinstance(quote, Rejection):
        return quote
    problems = Problems()
    for field_name, value in (
        ("propertyId", inquiry.property_id),
        ("checkIn", inquiry.check_in),
        ("checkOut", inquiry.check_out),
    ):
        if value is None:
            problems.add(field_name, UserErrorCode.REQUIRED, "Set it on the inquiry before confirming.")
    guest = await session.get(Guest, inquiry.guest_id)
    assert guest is not None
    if guest.erased_at is not None:
        problems.add("inquiryId", UserErrorCode.INVALID_STATE, "The inquiry's guest was erased.")
    if problems or inquiry.check_in is None or inquiry.check_out is None:
        return problems.rejection()
    stay = bookings.clean_stay(
        problems,
        property_pk=inquiry.property_id,
        check_in=inquiry.check_in,
        check_out=inquiry.check_out,
        adults=inquiry.adults or DEFAULT_ADULTS,
        children=inquiry.children or DEFAULT_CHILDREN,
        amount=quote.amount if quote is not None else NO_QUOTE_AMOUNT,
        currency=quote.currency if quote is not None else TenantSettings.of(caller.tenant).default_currency,
        stay_guest=None,
        region=None,
    )
    if problems or stay is None:
        return problems.rejection()
    keys = await caller.keys(session)
    added = await bookings.book_confirmed(
        session, caller=caller, keys=keys, guest=guest, stay=stay, source=BookingSource.INQUIRY
    )
    who = who_of(caller)
    inquiry.booking_id = added.booking.id
    inquiry.needs_action = False
    change_stage(
        session,
        inquiry,
        InquiryStage.CONFIRMED,
        who,
        data={"booking_id": str(added.booking.id), "quote_id": str(quote.id) if quote else None},
    )
    await cancel_pending_reminders(session, inquiry=inquiry, who=who, reason="confirmed")
    await session.flush()
    return inquiry
