"""Inquiries: a guest's question before they book, worked through stages to a booking or a loss,
with quotes, up to three follow-up reminders and a history of everything that happened."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from hospes.models.columns import (
    bytes_field,
    created_at_field,
    currency_field,
    foreign_key_field,
    id_field,
    money_field,
    one_of,
    string_field,
    timestamp_field,
)

MAX_REMINDERS = 3


class InquiryStage(StrEnum):
    NEW = "new"
    RESPONDED = "responded"
    QUOTED = "quoted"
    CONFIRMED = "confirmed"
    LOST = "lost"


# Stages in which the guest may still be answered, reminded and confirmed.
OPEN_STAGES = (InquiryStage.NEW, InquiryStage.RESPONDED, InquiryStage.QUOTED)


class InquirySource(StrEnum):
    EMAIL = "email"
    CONTACT_FORM = "contact_form"
    PHONE = "phone"
    WHATSAPP = "whatsapp"
    SMS = "sms"


class LostReason(StrEnum):
    PRICE = "price"
    DATES_UNAVAILABLE = "dates_unavailable"
    NO_ANSWER = "no_answer"
    BOOKED_ELSEWHERE = "booked_elsewhere"
    OTHER = "other"


class ReminderStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"


class InquiryActor(StrEnum):
    """Who did what the history shows."""

    STAFF = "staff"
    GUEST = "guest"
    SYSTEM = "system"


class InquiryEventKind(StrEnum):
    RECEIVED = "received"
    MESSAGE_IN = "message_in"
    MESSAGE_OUT = "message_out"
    REMINDER_SCHEDULED = "reminder_scheduled"
    REMINDER_SENT = "reminder_sent"
    REMINDER_CANCELLED = "reminder_cancelled"
    QUOTED = "quoted"
    STAGE_CHANGED = "stage_changed"
    ASSIGNED = "assigned"
    UPDATED = "updated"


class Inquiry(SQLModel, table=True):
    """One guest's question, from its first message to a booking or a loss. The guest's own words
    (subject, message) and staff notes are private text, stored encrypted."""

    __tablename__ = "inquiry"
    __table_args__ = (
        one_of("stage", InquiryStage),
        one_of("source", InquirySource),
        one_of("lost_reason", LostReason),
        sa.CheckConstraint(
            "check_out IS NULL OR check_in IS NULL OR check_out > check_in", name="dates_ordered"
        ),
        sa.CheckConstraint("adults IS NULL OR adults >= 1", name="adults"),
        sa.CheckConstraint("children IS NULL OR children >= 0", name="children"),
        sa.UniqueConstraint("reply_token"),
        sa.UniqueConstraint("booking_id"),
        sa.Index("inquiry_guest_id_stage", "guest_id", "stage"),
        # The pipeline's order: what needs action first, then the newest activity.
        sa.Index("inquiry_stage_needs_action_last_activity_at", "stage", "needs_action", "last_activity_at"),
    )

    id: uuid.UUID = id_field()
    guest_id: uuid.UUID = foreign_key_field("guest.id")
    property_id: uuid.UUID | None = foreign_key_field("property.id", nullable=True)
    check_in: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    check_out: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    adults: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))
    children: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))
    source: str = string_field(20, nullable=False)
    stage: str = string_field(20, nullable=False, default=InquiryStage.NEW.value)
    needs_action: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    subject_enc: bytes | None = bytes_field()
    message_enc: bytes | None = bytes_field()
    notes_enc: bytes | None = bytes_field()
    lost_reason: str | None = string_field(30)
    lost_note_enc: bytes | None = bytes_field()
    assignee_id: uuid.UUID | None = foreign_key_field("staff_user.id", nullable=True, ondelete="SET NULL")
    booking_id: uuid.UUID | None = foreign_key_field("booking.id", nullable=True)
    # The local part of the Reply-To address of our mails about this inquiry: unguessable, so a
    # mail to it is an answer to this inquiry and no other.
    reply_token: str = string_field(40, nullable=False)
    received_at: datetime = created_at_field()
    last_activity_at: datetime = created_at_field()
    guest_wrote_at: datetime | None = timestamp_field()
    replied_at: datetime | None = timestamp_field()
    created_by_staff_id: uuid.UUID | None = foreign_key_field("staff_user.id", nullable=True)


class InquiryQuote(SQLModel, table=True):
    """A price offered for an inquiry; its lines add up to its amount."""

    __tablename__ = "inquiry_quote"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.Index("inquiry_quote_inquiry_id_created_at", "inquiry_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    inquiry_id: uuid.UUID = foreign_key_field("inquiry.id", ondelete="CASCADE")
    amount: Decimal = money_field()
    currency: str = currency_field()
    valid_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    # [{"description": str, "amount": "950.00"}, …]: what is offered, not who asked.
    lines: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(pg.JSONB, nullable=False, server_default="[]")
    )
    is_primary: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    communication_id: uuid.UUID | None = foreign_key_field("communication.id", nullable=True)
    created_by_staff_id: uuid.UUID | None = foreign_key_field("staff_user.id", nullable=True)
    created_at: datetime = created_at_field()


class InquiryReminder(SQLModel, table=True):
    """A follow-up due later, claimed through the outbox by `hospes scheduler` when it falls due."""

    __tablename__ = "inquiry_reminder"
    __table_args__ = (
        one_of("status", ReminderStatus),
        sa.CheckConstraint(f"sequence BETWEEN 1 AND {MAX_REMINDERS}", name="sequence"),
        sa.Index(
            "inquiry_reminder_scheduled_sequence",
            "inquiry_id",
            "sequence",
            unique=True,
            postgresql_where=sa.text("status = 'scheduled'"),
        ),
    )

    id: uuid.UUID = id_field()
    inquiry_id: uuid.UUID = foreign_key_field("inquiry.id", ondelete="CASCADE")
    sequence: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    due_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    status: str = string_field(20, nullable=False, default=ReminderStatus.SCHEDULED.value)
    communication_id: uuid.UUID | None = foreign_key_field("communication.id", nullable=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class InquiryEvent(SQLModel, table=True):
    """One line of an inquiry's history: what happened, who did it, when. `data` holds only
    non-private facts (stages, sequences, reasons); texts stay on their encrypted rows."""

    __tablename__ = "inquiry_event"
    __table_args__ = (
        one_of("kind", InquiryEventKind),
        one_of("actor", InquiryActor),
        sa.Index("inquiry_event_inquiry_id_at", "inquiry_id", "at"),
    )

    id: uuid.UUID = id_field()
    inquiry_id: uuid.UUID = foreign_key_field("inquiry.id", ondelete="CASCADE")
    kind: str = string_field(30, nullable=False)
    actor: str = string_field(10, nullable=False)
    staff_id: uuid.UUID | None = foreign_key_field("staff_user.id", nullable=True, ondelete="SET NULL")
    communication_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    reminder_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    quote_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    data: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(pg.JSONB, nullable=False, server_default="{}")
    )
    at: datetime = created_at_field()
