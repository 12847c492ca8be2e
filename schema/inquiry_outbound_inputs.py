"""The inputs of what staff send about an inquiry: replies, quotes, reminders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry


@strawberry.input
class ReplyToInquiryInput:
    inquiry_id: strawberry.ID
    subject: str | None = strawberry.field(
        default=None, description="Replaces the template's subject (email only)."
    )
    body: str | None = strawberry.field(
        default=None,
        description="Our answer, sent inside the `inquiry_reply` template (greeting and sign-off in "
        "the guest's language). Give a body or a templateKey, not both.",
    )
    template_key: str | None = None


@strawberry.input
class QuoteLineInput:
    description: str
    amount: Decimal


@strawberry.input
class QuoteInquiryInput:
    inquiry_id: strawberry.ID
    amount: Decimal = strawberry.field(description="The total; the lines add up to it exactly.")
    currency: str
    lines: list[QuoteLineInput]
    valid_until: date | None = None
    primary: bool = strawberry.field(
        default=True, description="False keeps the current primary quote (the first is always primary)."
    )
    send: bool = strawberry.field(default=False, description="Email the quote to the guest.")


@strawberry.input
class ScheduleInquiryRemindersInput:
    inquiry_id: strawberry.ID
    after_hours: list[float] = strawberry.field(
        description="One to three delays from now, in hours (0.5 is half an hour). Replaces the "
        "reminders still pending."
    )


@strawberry.input
class CancelInquiryRemindersInput:
    inquiry_id: strawberry.ID
