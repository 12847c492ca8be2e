"""The `Inquiry` type: a guest's question on its way to a booking or a loss."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry

from hospes.models.tenant import Inquiry as InquiryRow
from hospes.models.tenant import InquirySource, InquiryStage, LostReason
from hospes.resolvers import inquiry_outbound
from hospes.resolvers.context import Info
from hospes.schema.ids import encode_id
from hospes.schema.inquiry_quotes import InquiryQuote, InquiryReminder
from hospes.tenancy.encrypted_columns import INQUIRY_MESSAGE, INQUIRY_NOTES, INQUIRY_SUBJECT


@strawberry.type(description="A guest's question before they book, worked from NEW to CONFIRMED or LOST.")
class Inquiry:
    id: strawberry.ID
    source: InquirySource
    stage: InquiryStage
    needs_action: bool = strawberry.field(
        description="True while the guest waits on us: a new inquiry, or the guest wrote last."
    )
    received_at: datetime
    last_activity_at: datetime
    check_in: date | None
    check_out: date | None
    adults: int | None
    children: int | None
    lost_reason: LostReason | None
    pk: strawberry.Private[uuid.UUID]
    row: strawberry.Private[InquiryRow]

    @classmethod
    def from_row(cls, row: InquiryRow) -> Inquiry:
        return cls(
            id=strawberry.ID(encode_id("Inquiry", row.id)),
            source=InquirySource(row.source),
            stage=InquiryStage(row.stage),
            needs_action=row.needs_action,
            received_at=row.received_at,
            last_activity_at=row.last_activity_at,
            check_in=row.check_in,
            check_out=row.check_out,
            adults=row.adults,
            children=row.children,
            lost_reason=LostReason(row.lost_reason) if row.lost_reason else None,
            pk=row.id,
            row=row,
        )

    @strawberry.field(
        description="The subject of the guest's first mail, if it came by email. Stored encrypted."
    )
    async def subject(self, info: Info) -> str | None:
        return await info.context.decrypt(INQUIRY_SUBJECT, self.row)

    @strawberry.field(description="What the guest first asked, in their words. Stored encrypted.")
    async def message(self, info: Info) -> str | None:
        return await info.context.decrypt(INQUIRY_MESSAGE, self.row)

    @strawberry.field(description="Staff notes. Stored encrypted.")
    async def notes(self, info: Info) -> str | None:
        return await info.context.decrypt(INQUIRY_NOTES, self.row)

    # --- quotes and reminders (outbound) ---

    @strawberry.field(description="Every quote made for the inquiry, newest first.")
    async def quotes(self, info: Info) -> list[InquiryQuote]:
        rows = await info.context.loaders.quotes_of_inquiry.load(self.pk)
        today = await inquiry_outbound.today_of(info.context, self.row)
        return [InquiryQuote.from_row(row, today=today) for row in rows]

    @strawberry.field(description="The primary quote, if any: the one a confirmation uses.")
    async def quote(self, info: Info) -> InquiryQuote | None:
        rows = await info.context.loaders.quotes_of_inquiry.load(self.pk)
        primary = next((row for row in rows if row.is_primary), None)
        if primary is None:
            return None
        return InquiryQuote.from_row(primary, today=await inquiry_outbound.today_of(info.context, self.row))

    @strawberry.field(description="Follow-up reminders, the latest schedule first, each in sequence.")
    async def reminders(self, info: Info) -> list[InquiryReminder]:
        rows = await info.context.loaders.reminders_of_inquiry.load(self.pk)
        return [InquiryReminder.from_row(row) for row in rows]
