"""What staff and partners send about an inquiry: replies, quotes, and follow-up reminders. Input
checks here; the rules and SQL are `services/inquiries/{replies,quotes,reminders}.py`'s."""

from __future__ import annotations

import uuid
from datetime import date

from hospes.models.tenant import Inquiry, InquiryQuote
from hospes.notifications import templates
from hospes.resolvers import validation as check
from hospes.resolvers.caller import caller_of
from hospes.resolvers.context import Context
from hospes.resolvers.messaging import BODY_MAX, SUBJECT_MAX
from hospes.schema.inquiry_outbound_inputs import (
    CancelInquiryRemindersInput,
    QuoteInquiryInput,
    ReplyToInquiryInput,
    ScheduleInquiryRemindersInput,
)
from hospes.services.inquiries import calendar, quotes, reminders, replies
from hospes.services.rejections import Problems, Rejection, UserErrorCode


def _inquiry_id(problems: Problems, value: str) -> uuid.UUID | None:
    return check.object_id(problems, "inquiryId", "Inquiry", value)


async def reply_to_inquiry(ctx: Context, data: ReplyToInquiryInput) -> Inquiry | Rejection:
    """Send our answer (a written body, or a template) to the inquiry's guest."""
    problems = Problems()
    inquiry_pk = _inquiry_id(problems, data.inquiry_id)
    key = check.text(problems, "templateKey", data.template_key, max_length=50)
    subject = check.text(problems, "subject", data.subject, max_length=SUBJECT_MAX)
    body = check.text(problems, "body", data.body, max_length=BODY_MAX)
    if subject is not None and ("\n" in subject or "\r" in subject):
        problems.add("subject", UserErrorCode.INVALID, "The subject must be a single line.")
    if key is not None and body is not None:
        problems.add("body", UserErrorCode.INVALID, "Send a template key or a body, not both.")
    elif (
        key is None
        and body is None
        and not any(error.field in ("body", "templateKey") for error in problems.errors)
    ):
        problems.add("body", UserErrorCode.REQUIRED, "Send a template key or a body.")
    if key is not None and not templates.is_valid_key(key):
        problems.add("templateKey", UserErrorCode.INVALID, "Not a template key.")
    if problems or inquiry_pk is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: replies.reply_to_inquiry(
            session, caller=caller, inquiry_id=inquiry_pk, subject=subject, body=body, template_key=key
        )
    )


async def quote_inquiry(ctx: Context, data: QuoteInquiryInput) -> quotes.Quoted | Rejection:
    """Add a quote to the inquiry, and mail it to the guest with `send`."""
    problems = Problems()
    inquiry_pk = _inquiry_id(problems, data.inquiry_id)
    terms = quotes.clean_quote(
        problems,
        amount=data.amount,
        currency=data.currency,
        valid_until=data.valid_until,
        lines=[(line.description, line.amount) for line in data.lines],
    )
    if problems or inquiry_pk is None or terms is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: quotes.quote_inquiry(
            session, caller=caller, inquiry_id=inquiry_pk, terms=terms, primary=data.primary, send=data.send
        )
    )


async def schedule_reminders(ctx: Context, data: ScheduleInquiryRemindersInput) -> Inquiry | Rejection:
    """Replace the inquiry's pending reminders by one per delay."""
    problems = Problems()
    inquiry_pk = _inquiry_id(problems, data.inquiry_id)
    delays = reminders.clean_delays(problems, list(data.after_hours))
    if problems or inquiry_pk is None or delays is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: reminders.schedule_reminders(
            session, caller=caller, inquiry_id=inquiry_pk, delays=delays
        )
    )


async def cancel_reminders(ctx: Context, data: CancelInquiryRemindersInput) -> Inquiry | Rejection:
    problems = Problems()
    inquiry_pk = _inquiry_id(problems, data.inquiry_id)
    if problems or inquiry_pk is None:
        return problems.rejection()
    caller = caller_of(ctx)
    return await ctx.write(
        lambda session: reminders.cancel_reminders(session, caller=caller, inquiry_id=inquiry_pk)
    )


# --- reading ------------------------------------------------------------------------------------


async def today_of(ctx: Context, inquiry: Inquiry) -> date:
    """The tenant's today for the inquiry (at its property), which decides whether a quote expired."""
    place = await ctx.loaders.property.load(inquiry.property_id) if inquiry.property_id else None
    return calendar.today_in(place.timezone if place else None)


def expired(quote: InquiryQuote, today: date) -> bool:
    return quote.valid_until is not None and quote.valid_until < today
