"""Quotes for an inquiry: a price with its lines, the newest primary unless staff say otherwise,
moving the inquiry to QUOTED, and (on request) mailed to the guest with the `inquiry_quote`
template, which counts as our reply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.tenant import (
    Channel,
    Inquiry,
    InquiryEventKind,
    InquiryQuote,
    InquiryStage,
)
from hospes.notifications import inquiry_messages, outgoing, routing
from hospes.notifications.inquiry_trail import record_event
from hospes.services import validation as check
from hospes.services.caller import Caller
from hospes.services.inquiries import calendar
from hospes.services.inquiries.core import change_stage
from hospes.services.inquiries.replies import (
    addressee,
    inquiry_not_found,
    locked_inquiry,
    send_reply,
    unreachable,
    who_of,
)
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected

QUOTE_KEY = "inquiry_quote"
DESCRIPTION_MAX = 200
MAX_LINES = 50
# Stages a quote may be made in: a confirmed or lost inquiry is settled.
QUOTABLE = (InquiryStage.NEW.value, InquiryStage.RESPONDED.value, InquiryStage.QUOTED.value)


@dataclass(frozen=True)
class QuoteLine:
    description: str
    amount: Decimal


@dataclass(frozen=True)
class QuoteTerms:
    """A quote's validated content."""

    amount: Decimal
    currency: str
    valid_until: date | None
    lines: list[QuoteLine]


@dataclass(frozen=True)
class Quoted:
    inquiry: Inquiry
    quote: InquiryQuote


def clean_quote(
    problems: Problems,
    *,
    amount: Decimal,
    currency: str,
    valid_until: date | None,
    lines: list[tuple[str, Decimal]],
) -> QuoteTerms | None:
    """The quote's terms, or None with every problem in `problems`: amounts not negative with at
    most two decimals, a known ISO 4217 currency, one to fifty lines with a description each (at
    most 200 characters) that add up exactly to the amount."""
    clean_amount = check.amount(problems, "amount", amount)
    clean_currency = check.currency(problems, "currency", currency)
    cleaned: list[QuoteLine] = []
    if not lines:
        problems.add("lines", UserErrorCode.REQUIRED, "A quote needs at least one line.")
    elif len(lines) > MAX_LINES:
        problems.add("lines", UserErrorCode.OUT_OF_RANGE, f"A quote has at most {MAX_LINES} lines.")
    for index, (description, line_amount) in enumerate(lines[:MAX_LINES]):
        text = check.text(
            problems, f"lines.{index}.description", description, max_length=DESCRIPTION_MAX, required=True
        )
        value = check.amount(problems, f"lines.{index}.amount", line_amount)
        if text is not None and value is not None:
            cleaned.append(QuoteLine(text, value))
    if clean_amount is not None and lines and len(cleaned) == len(lines):
        total = sum((line.amount for line in cleaned), Decimal(0))
        if total != clean_amount:
            problems.add(
                "lines",
                UserErrorCode.INVALID,
                f"The lines add up to {total}, not to the amount {clean_amount}.",
            )
    if problems or clean_amount is None or clean_currency is None:
        return None
    return QuoteTerms(clean_amount, clean_currency, valid_until, cleaned)


async def _has_primary(session: AsyncSession, inquiry_id: uuid.UUID) -> bool:
    found = await session.scalar(
        sa.select(col(InquiryQuote.id))
        .where(col(InquiryQuote.inquiry_id) == inquiry_id, col(InquiryQuote.is_primary))
        .limit(1)
    )
    return found is not None


async def quote_inquiry(
    session: AsyncSession,
    *,
    caller: Caller,
    inquiry_id: uuid.UUID,
    terms: QuoteTerms,
    primary: bool,
    send: bool,
) -> Quoted | Rejection:
    """Add a quote to the inquiry (primary unless `primary` is false; a new primary demotes the
    previous one), move it to QUOTED with a `quoted` history line, and with `send` mail it to the
    guest (our reply). A settled (CONFIRMED or LOST) inquiry, a `valid_until` before the tenant's
    today, or `send` to a guest without an email address writes nothing."""
    inquiry = await locked_inquiry(session, inquiry_id)
    if inquiry is None:
        return inquiry_not_found()
    if inquiry.stage not in QUOTABLE:
        return rejected(
            "inquiryId", UserErrorCode.INVALID_STATE, f"The inquiry is {inquiry.stage}: no new quotes."
        )
    if terms.valid_until is not None and terms.valid_until < await calendar.today_at(
        session, inquiry.property_id
    ):
        return rejected("validUntil", UserErrorCode.OUT_OF_RANGE, "Must not be in the past.")
    to = await addressee(session, caller=caller, inquiry=inquiry)
    if send:
        email_reason = routing.usable(outgoing.recipient_of(to.guest, to.keys), Channel.EMAIL)
        if email_reason is not None:
            return unreachable("send", email_reason)
    who = who_of(caller.actor)
    # The first quote is primary whatever was asked: an inquiry with quotes always has one.
    is_primary = primary or not await _has_primary(session, inquiry.id)
    if is_primary:
        await session.execute(
            sa.update(InquiryQuote)
            .where(col(InquiryQuote.inquiry_id) == inquiry.id, col(InquiryQuote.is_primary))
            .values(is_primary=False)
        )
    quote = InquiryQuote(
        id=uuid.uuid4(),
        inquiry_id=inquiry.id,
        amount=terms.amount,
        currency=terms.currency,
        valid_until=terms.valid_until,
        lines=[{"description": line.description, "amount": str(line.amount)} for line in terms.lines],
        is_primary=is_primary,
        created_by_staff_id=who.staff_id,
        created_at=utcnow(),
    )
    session.add(quote)
    await session.flush()
    record_event(
        session,
        inquiry,
        InquiryEventKind.QUOTED,
        who,
        quote_id=quote.id,
        data={"amount": str(quote.amount), "currency": quote.currency, "primary": quote.is_primary},
    )
    change_stage(session, inquiry, InquiryStage.QUOTED, who)
    inquiry.last_activity_at = utcnow()
    if send:
        try:
            communication = await send_reply(
                session,
                caller=caller,
                inquiry=inquiry,
                to=to,
                way=inquiry_messages.Way(Channel.EMAIL, pinned=True),
                key=QUOTE_KEY,
                quote=quote,
            )
        except outgoing.NoTemplate:
            return rejected("send", UserErrorCode.NOT_FOUND, f"No {QUOTE_KEY} template.")
        quote.communication_id = communication.id
    return Quoted(inquiry=inquiry, quote=quote)
