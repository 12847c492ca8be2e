"""Messages: each communication and its delivery steps, the templates, scheduled lifecycle messages
and the tenant's own provider credentials."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from hospes.models.columns import (
    SHORT_MAX,
    bytes_field,
    created_at_field,
    flag_field,
    foreign_key_field,
    id_field,
    one_of,
    string_field,
    text_field,
    timestamp_field,
)


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    SMS = "sms"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MessageClass(StrEnum):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class CommunicationStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    # The worker died during the provider call: the provider may have it. Never retried; the
    # provider's delivery report settles it.
    UNKNOWN = "unknown"


class Communication(SQLModel, table=True):
    """One message to or from a guest. For an outgoing one this row is the idempotency record of its
    delivery: whoever sets `sending_since` owns the provider call, and a sent message is never sent
    again. Subject and body are stored encrypted, like every private text (see
    `tenancy/encrypted_columns.py`). `recipient_enc` holds an explicit address (an email change's new
    address, or the address a registration must prove, which no guest record holds yet); without it
    the guest's current contact is used, read at send time."""

    __tablename__ = "communication"
    __table_args__ = (
        one_of("channel", Channel),
        one_of("direction", Direction),
        one_of("message_class", MessageClass),
        one_of("status", CommunicationStatus),
        sa.CheckConstraint("guest_id IS NOT NULL OR recipient_enc IS NOT NULL", name="addressed"),
        sa.Index(
            "communication_provider_message_id",
            "provider_message_id",
            unique=True,
            postgresql_where=sa.text("provider_message_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    # None only for a mail to an address no guest record holds yet (a registration's link).
    guest_id: uuid.UUID | None = foreign_key_field("guest.id", nullable=True)
    booking_id: uuid.UUID | None = foreign_key_field("booking.id", nullable=True)
    inquiry_id: uuid.UUID | None = foreign_key_field("inquiry.id", nullable=True)
    channel: str = string_field(20, nullable=False)
    direction: str = string_field(3, nullable=False)
    template_key: str | None = string_field(SHORT_MAX)
    language: str | None = string_field(35)
    message_class: str = string_field(20, nullable=False, default=MessageClass.TRANSACTIONAL.value)
    # The text as staff see it, encrypted; None once the guest is erased.
    subject_enc: bytes | None = bytes_field()
    body_enc: bytes | None = bytes_field()
    # Whether the channel was chosen by routing (and may be re-routed at send time) or by a person.
    channel_requested: bool = flag_field()
    recipient_enc: bytes | None = bytes_field()
    # Links the message carries (portal, set-password): encrypted here, shown as markers in `body`.
    secrets_enc: bytes | None = bytes_field()
    status: str = string_field(20, nullable=False, default=CommunicationStatus.QUEUED.value)
    provider: str | None = string_field(20)
    provider_message_id: str | None = string_field(200)
    error: str | None = text_field()
    attempts: int = Field(default=0, sa_column=sa.Column(sa.SmallInteger, nullable=False, server_default="0"))
    sending_since: datetime | None = timestamp_field()
    created_by_staff_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    created_at: datetime = created_at_field()
    sent_at: datetime | None = timestamp_field()
    status_at: datetime | None = timestamp_field()


class DeliveryStep(StrEnum):
    """One step in a communication's timeline."""

    QUEUED = "queued"
    SUPPRESSED = "suppressed"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    REROUTED = "rerouted"
    FAILED = "failed"
    DELIVERED = "delivered"
    READ = "read"
    RECEIVED = "received"
    UNKNOWN = "unknown"


class CommunicationEvent(SQLModel, table=True):
    """The timeline of a communication: each attempt, retry, fallback and provider report."""

    __tablename__ = "communication_event"
    __table_args__ = (one_of("step", DeliveryStep),)

    id: uuid.UUID = id_field()
    communication_id: uuid.UUID = foreign_key_field("communication.id", ondelete="CASCADE")
    step: str = string_field(20, nullable=False)
    channel: str | None = string_field(20)
    provider: str | None = string_field(20)
    detail: str | None = text_field()
    at: datetime = created_at_field()


class MessageTemplate(SQLModel, table=True):
    """The text of a message kind (`key`) in one language, for one channel or (channel NULL) any."""

    __tablename__ = "message_template"
    __table_args__ = (
        one_of("channel", Channel),
        one_of("message_class", MessageClass),
        sa.UniqueConstraint("key", "language", "channel", postgresql_nulls_not_distinct=True),
    )

    id: uuid.UUID = id_field()
    key: str = string_field(50, nullable=False)
    language: str = string_field(35, nullable=False)
    channel: str | None = string_field(20)
    message_class: str = string_field(20, nullable=False, default=MessageClass.TRANSACTIONAL.value)
    subject: str | None = string_field(300)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    updated_by_staff_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class ScheduledStatus(StrEnum):
    SCHEDULED = "scheduled"
    DONE = "done"
    CANCELLED = "cancelled"


class ScheduledMessage(SQLModel, table=True):
    """A lifecycle message of a booking, due later (pre-arrival, check-in instructions, post-stay).
    The text is rendered when it falls due, so it reflects the booking and templates of that day."""

    __tablename__ = "scheduled_message"
    __table_args__ = (
        one_of("status", ScheduledStatus),
        sa.UniqueConstraint("booking_id", "template_key"),
    )

    id: uuid.UUID = id_field()
    booking_id: uuid.UUID = foreign_key_field("booking.id", ondelete="CASCADE")
    template_key: str = string_field(50, nullable=False)
    due_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    status: str = string_field(20, nullable=False, default=ScheduledStatus.SCHEDULED.value)
    communication_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class ProviderSettings(SQLModel, table=True):
    """The company's own provider credentials (one row), encrypted as one JSON document."""

    __tablename__ = "provider_settings"
    __table_args__ = (sa.CheckConstraint("id", name="single_row"),)

    id: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, primary_key=True, server_default=sa.true())
    )
    config_enc: bytes = Field(sa_column=sa.Column(pg.BYTEA, nullable=False))
    updated_at: datetime = created_at_field()
