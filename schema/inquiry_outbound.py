"""What staff and partners send about an inquiry: `replyToInquiry`, `quoteInquiry`,
`scheduleInquiryReminders`, `cancelInquiryReminders`, and their payloads."""

from __future__ import annotations

import strawberry

from hospes.resolvers import inquiry_outbound
from hospes.resolvers.context import Info
from hospes.resolvers.payloads import to_payload
from hospes.resolvers.permissions import WORK_INQUIRIES
from hospes.schema.errors import UserError
from hospes.schema.inquiries import Inquiry
from hospes.schema.inquiry_outbound_inputs import (
    CancelInquiryRemindersInput,
    QuoteInquiryInput,
    ReplyToInquiryInput,
    ScheduleInquiryRemindersInput,
)
from hospes.schema.inquiry_quotes import InquiryQuote
from hospes.services.inquiries.quotes import Quoted


@strawberry.type
class ReplyToInquiryPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class QuoteInquiryPayload:
    inquiry: Inquiry | None
    quote: InquiryQuote | None
    errors: list[UserError]


@strawberry.type
class ScheduleInquiryRemindersPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class CancelInquiryRemindersPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class InquiryOutboundMutation:
    @strawberry.mutation(
        permission_classes=[WORK_INQUIRIES],
        description="Answer the inquiry's guest on its channel (email for email, form and phone "
        "inquiries with an address), in their language; counts as our reply.",
    )
    async def reply_to_inquiry(self, info: Info, input: ReplyToInquiryInput) -> ReplyToInquiryPayload:
        outcome = await inquiry_outbound.reply_to_inquiry(info.context, input)
        return await to_payload(ReplyToInquiryPayload, outcome, inquiry=Inquiry.from_row)

    @strawberry.mutation(
        permission_classes=[WORK_INQUIRIES],
        description="Add a quote (primary unless `primary: false`); the inquiry becomes QUOTED. "
        "`send: true` emails it to the guest.",
    )
    async def quote_inquiry(self, info: Info, input: QuoteInquiryInput) -> QuoteInquiryPayload:
        outcome = await inquiry_outbound.quote_inquiry(info.context, input)

        async def quote(result: Quoted) -> InquiryQuote:
            today = await inquiry_outbound.today_of(info.context, result.inquiry)
            return InquiryQuote.from_row(result.quote, today=today)

        return await to_payload(
            QuoteInquiryPayload, outcome, inquiry=lambda result: Inquiry.from_row(result.inquiry), quote=quote
        )

    @strawberry.mutation(
        permission_classes=[WORK_INQUIRIES],
        description="Schedule one to three follow-ups, each that many hours from now; replaces the "
        "pending ones.",
    )
    async def schedule_inquiry_reminders(
        self, info: Info, input: ScheduleInquiryRemindersInput
    ) -> ScheduleInquiryRemindersPayload:
        outcome = await inquiry_outbound.schedule_reminders(info.context, input)
        return await to_payload(ScheduleInquiryRemindersPayload, outcome, inquiry=Inquiry.from_row)

    @strawberry.mutation(permission_classes=[WORK_INQUIRIES], description="Cancel the pending reminders.")
    async def cancel_inquiry_reminders(
        self, info: Info, input: CancelInquiryRemindersInput
    ) -> CancelInquiryRemindersPayload:
        outcome = await inquiry_outbound.cancel_reminders(info.context, input)
        return await to_payload(CancelInquiryRemindersPayload, outcome, inquiry=Inquiry.from_row)
