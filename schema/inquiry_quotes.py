"""The quotes and reminders of an inquiry, as `Inquiry.quotes`, `Inquiry.quote` and
`Inquiry.reminders` show them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry

from hospes.models.tenant import InquiryQuote as InquiryQuoteRow
from hospes.models.tenant import InquiryReminder as InquiryReminderRow
from hospes.models.tenant import ReminderStatus
from hospes.resolvers.inquiry_outbound import expired
from hospes.schema.ids import encode_id


@strawberry.type(description="One item of a quote.")
class QuoteLine:
    description: str
    amount: Decimal


@strawberry.type(description="A price offered for an inquiry; its lines add up to its amount.")
class InquiryQuote:
    id: strawberry.ID
    amount: Decimal
    currency: str
    valid_until: date | None
    lines: list[QuoteLine]
    primary: bool = strawberry.field(description="The quote a confirmation uses unless told otherwise.")
    expired: bool = strawberry.field(description="True once `validUntil` is before the company's today.")
    sent: bool = strawberry.field(description="True if it was emailed to the guest.")
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: InquiryQuoteRow, *, today: date) -> InquiryQuote:
        return cls(
            id=strawberry.ID(encode_id("InquiryQuote", row.id)),
            amount=row.amount,
            currency=row.currency,
            valid_until=row.valid_until,
            lines=[
                QuoteLine(description=str(line["description"]), amount=Decimal(str(line["amount"])))
                for line in row.lines
            ],
            primary=row.is_primary,
            expired=expired(row, today),
            sent=row.communication_id is not None,
            created_at=row.created_at,
            pk=row.id,
        )


@strawberry.type(description="A follow-up to the guest, sent when it falls due unless the guest wrote first.")
class InquiryReminder:
    id: strawberry.ID
    sequence: int
    due_at: datetime
    status: ReminderStatus
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: InquiryReminderRow) -> InquiryReminder:
        sent = row.status == ReminderStatus.SENT.value
        return cls(
            id=strawberry.ID(encode_id("InquiryReminder", row.id)),
            sequence=row.sequence,
            due_at=row.due_at,
            status=ReminderStatus(row.status),
            sent_at=row.updated_at if sent else None,
        )
