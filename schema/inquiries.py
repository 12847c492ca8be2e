"""The `Inquiry` type: a guest's question on its way to a booking or a loss; the pipeline's root
fields (`inquiry`, `inquiries`, `inquiryStageCounts`) and staff's mutations on it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hospes.models.tenant import Inquiry as InquiryRow
from hospes.models.tenant import InquirySource, InquiryStage, LostReason
from hospes.resolvers import inquiries, inquiry_outbound
from hospes.resolvers.context import Info
from hospes.resolvers.loaders import existing
from hospes.resolvers.payloads import to_payload
from hospes.resolvers.permissions import READ_INQUIRIES, WORK_INQUIRIES
from hospes.schema.access import StaffUser
from hospes.schema.bookings import Booking
from hospes.schema.communications import Communication
from hospes.schema.errors import UserError
from hospes.schema.ids import encode_id
from hospes.schema.inputs import (
    AssignInquiryInput,
    ConfirmInquiryInput,
    CreateInquiryInput,
    MarkInquiryLostInput,
    ReopenInquiryInput,
    UpdateInquiryInput,
)
from hospes.schema.inquiry_quotes import InquiryQuote, InquiryReminder
from hospes.schema.pagination import Connection, connection
from hospes.schema.properties import Property
from hospes.tenancy.encrypted_columns import (
    INQUIRY_LOST_NOTE,
    INQUIRY_MESSAGE,
    INQUIRY_NOTES,
    INQUIRY_SUBJECT,
)

if TYPE_CHECKING:
    from hospes.schema.guests import Guest
    from hospes.schema.inquiry_history import InquiryHistoryItem


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

    @strawberry.field(description="Why it was lost, in staff's words. Stored encrypted.")
    async def lost_note(self, info: Info) -> str | None:
        return await info.context.decrypt(INQUIRY_LOST_NOTE, self.row)

    @strawberry.field(description="Who asked: the guest record the inquiry belongs to.")
    async def guest(self, info: Info) -> Annotated[Guest, strawberry.lazy("hospes.schema.guests")]:
        from hospes.schema.guests import Guest

        return Guest.from_row(await existing(info.context.loaders.guest, self.row.guest_id))

    @strawberry.field(description="The property asked about, once known.")
    async def property(self, info: Info) -> Property | None:
        if self.row.property_id is None:
            return None
        return Property.from_row(await existing(info.context.loaders.property, self.row.property_id))

    @strawberry.field(description="The staff user working the inquiry, if assigned.")
    async def assignee(self, info: Info) -> StaffUser | None:
        if self.row.assignee_id is None:
            return None
        return StaffUser.from_row(await existing(info.context.loaders.staff_user, self.row.assignee_id))

    @strawberry.field(description="The booking it became, once confirmed.")
    async def booking(self, info: Info) -> Booking | None:
        if self.row.booking_id is None:
            return None
        return Booking.from_row(await existing(info.context.loaders.booking, self.row.booking_id))

    @strawberry.field(description="The inquiry's messages, both ways, newest first.")
    async def communications(self, info: Info) -> list[Communication]:
        rows = await info.context.loaders.communications_of_inquiry.load(self.pk)
        return [Communication.from_row(row) for row in rows]

    @strawberry.field(
        description="What happened, oldest first: received, messages, reminders, quotes, stage "
        "changes, assignment, edits; each with who did it."
    )
    async def history(
        self, info: Info
    ) -> list[Annotated[InquiryHistoryItem, strawberry.lazy("hospes.schema.inquiry_history")]]:
        from hospes.schema.inquiry_history import item_of

        rows = await info.context.loaders.history_of_inquiry.load(self.pk)
        # Gathered, so the DataLoaders batch each kind into one statement.
        return list(await asyncio.gather(*(item_of(info, row) for row in rows)))

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


@strawberry.type(description="How many inquiries are in a stage, and how many of them wait on us.")
class InquiryStageCount:
    stage: InquiryStage
    count: int
    needs_action: int


@strawberry.type
class InquiryQuery:
    @strawberry.field(permission_classes=[READ_INQUIRIES])
    async def inquiry(self, info: Info, id: strawberry.ID) -> Inquiry | None:
        return Inquiry.from_row(await inquiries.inquiry_by_id(info.context, id))

    @strawberry.field(
        permission_classes=[READ_INQUIRIES],
        description="The pipeline: inquiries that need action first, then the newest activity. "
        "`search` matches the guest as the customer list does (email, phone, name).",
    )
    async def inquiries(
        self,
        info: Info,
        stage: InquiryStage | None = None,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Inquiry]:
        page, count = await inquiries.list_inquiries(
            info.context, stage=stage, search=search, first=first, after=after
        )
        return connection(page, count, Inquiry.from_row)

    @strawberry.field(
        permission_classes=[READ_INQUIRIES], description="Every stage, in pipeline order, zeros included."
    )
    async def inquiry_stage_counts(self, info: Info) -> list[InquiryStageCount]:
        return [
            InquiryStageCount(stage=row.stage, count=row.count, needs_action=row.needs_action)
            for row in await inquiries.stage_counts(info.context)
        ]


@strawberry.type
class CreateInquiryPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class UpdateInquiryPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class AssignInquiryPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class MarkInquiryLostPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class ReopenInquiryPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class ConfirmInquiryPayload:
    inquiry: Inquiry | None
    errors: list[UserError]


@strawberry.type
class InquiryMutation:
    @strawberry.mutation(permission_classes=[WORK_INQUIRIES], description="Log an inquiry (a call, say).")
    async def create_inquiry(self, info: Info, input: CreateInquiryInput) -> CreateInquiryPayload:
        outcome = await inquiries.create_inquiry(info.context, input)
        return await to_payload(CreateInquiryPayload, outcome, inquiry=Inquiry.from_row)

    @strawberry.mutation(permission_classes=[WORK_INQUIRIES])
    async def update_inquiry(self, info: Info, input: UpdateInquiryInput) -> UpdateInquiryPayload:
        outcome = await inquiries.update_inquiry(info.context, input)
        return await to_payload(UpdateInquiryPayload, outcome, inquiry=Inquiry.from_row)

    @strawberry.mutation(permission_classes=[WORK_INQUIRIES])
    async def assign_inquiry(self, info: Info, input: AssignInquiryInput) -> AssignInquiryPayload:
        outcome = await inquiries.assign_inquiry(info.context, input)
        return await to_payload(AssignInquiryPayload, outcome, inquiry=Inquiry.from_row)

    @strawberry.mutation(permission_classes=[WORK_INQUIRIES], description="Pending reminders are cancelled.")
    async def mark_inquiry_lost(self, info: Info, input: MarkInquiryLostInput) -> MarkInquiryLostPayload:
        outcome = await inquiries.mark_inquiry_lost(info.context, input)
        return await to_payload(MarkInquiryLostPayload, outcome, inquiry=Inquiry.from_row)

    @strawberry.mutation(
        permission_classes=[WORK_INQUIRIES], description="A lost inquiry back in the pipeline."
    )
    async def reopen_inquiry(self, info: Info, input: ReopenInquiryInput) -> ReopenInquiryPayload:
        outcome = await inquiries.reopen_inquiry(info.context, input)
        return await to_payload(ReopenInquiryPayload, outcome, inquiry=Inquiry.from_row)

    @strawberry.mutation(
        permission_classes=[WORK_INQUIRIES],
        description="A confirmed booking from the inquiry, priced by the chosen (default: primary) quote.",
    )
    async def confirm_inquiry(self, info: Info, input: ConfirmInquiryInput) -> ConfirmInquiryPayload:
        outcome = await inquiries.confirm_inquiry(info.context, input)
        return await to_payload(ConfirmInquiryPayload, outcome, inquiry=Inquiry.from_row)
