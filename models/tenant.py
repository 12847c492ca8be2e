"""Tables of a tenant schema. They carry no schema name: each transaction's `search_path` is bound
to exactly one tenant schema (see `tenancy/database.py`), so the same statement serves every tenant."""

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
    ADDRESS_MAX,
    EMAIL_MAX,
    NAME_MAX,
    SHORT_MAX,
    created_at_field,
    currency_field,
    foreign_key_field,
    id_field,
    money_field,
    timestamp_field,
)


def _one_of(column: str, values: type[StrEnum]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


def _string(length: int, *, nullable: bool = True, default: str | None = None) -> Any:
    server_default = sa.text(f"'{default}'") if default is not None else None
    return Field(
        default=default,
        sa_column=sa.Column(sa.String(length), nullable=nullable, server_default=server_default),
    )


def _text(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.Text, nullable=nullable))


def _bytes() -> Any:
    return Field(default=None, sa_column=sa.Column(pg.BYTEA, nullable=True))


def _flag() -> Any:
    return Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))


class StaffRole(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    AGENT = "agent"


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    SMS = "sms"


class BookingStatus(StrEnum):
    INQUIRY = "inquiry"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class BookingSource(StrEnum):
    MANUAL = "manual"
    OTA = "ota"
    BOOKING_FORM = "booking_form"
    INQUIRY = "inquiry"


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


class ServiceRequestStatus(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    DONE = "done"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    FAILED = "failed"


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    __table_args__ = (_one_of("role", StaffRole),)

    id: uuid.UUID = id_field()
    email: str = Field(sa_column=sa.Column(sa.String(EMAIL_MAX), nullable=False, unique=True))
    name: str | None = _string(NAME_MAX)
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    role: str = _string(20, nullable=False, default=StaffRole.AGENT.value)
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = timestamp_field()


class Property(SQLModel, table=True):
    __tablename__ = "property"

    id: uuid.UUID = id_field()
    name: str = _string(NAME_MAX, nullable=False)
    address: str | None = _string(ADDRESS_MAX)
    timezone: str = _string(64, nullable=False, default="UTC")
    # The guide (Wi-Fi passwords) and door codes: encrypted (tenancy/encrypted_columns.py), as is
    # all private text.
    villa_guide_enc: bytes | None = _bytes()
    check_in_instructions_enc: bytes | None = _bytes()
    created_at: datetime = created_at_field()


class Guest(SQLModel, table=True):
    """A person, once per company. Email, phone and notes are stored encrypted (`*_enc`); equality
    lookups go through keyed blind indexes (`*_bidx`); the name stays searchable through
    `search_vector` (accent-folded words) and sortable through `name_key`."""

    __tablename__ = "guest"
    __table_args__ = (
        _one_of("preferred_channel", Channel),
        # The customer list never shows erased guests: its sort indexes leave them out, which also
        # lets an unfiltered count run as an index-only scan.
        sa.Index("guest_created_at_id", "created_at", "id", postgresql_where=sa.text("erased_at IS NULL")),
        sa.Index(
            "guest_last_activity_at_id",
            "last_activity_at",
            "id",
            postgresql_where=sa.text("erased_at IS NULL"),
        ),
        sa.Index("guest_name_key_id", "name_key", "id", postgresql_where=sa.text("erased_at IS NULL")),
        sa.Index(
            "guest_booking_count_id", "booking_count", "id", postgresql_where=sa.text("erased_at IS NULL")
        ),
        sa.Index("guest_email_bidx", "email_bidx"),
        sa.Index("guest_phone_bidx", "phone_bidx"),
        sa.Index("guest_search_vector", "search_vector", postgresql_using="gin"),
    )

    id: uuid.UUID = id_field()
    name: str = _string(NAME_MAX, nullable=False)
    name_key: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    search_vector: Any = Field(default=None, sa_column=sa.Column(pg.TSVECTOR, nullable=True))
    email_enc: bytes | None = _bytes()
    email_bidx: bytes | None = _bytes()
    phone_enc: bytes | None = _bytes()
    phone_bidx: bytes | None = _bytes()
    notes_enc: bytes | None = _bytes()
    country: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(2)))
    language: str | None = _string(35)
    preferred_channel: str | None = _string(20)
    sms_opt_in: bool = _flag()
    marketing_email_consent: bool = _flag()
    booking_count: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    created_at: datetime = created_at_field()
    last_activity_at: datetime = created_at_field()
    erased_at: datetime | None = timestamp_field()


class GuestTally(SQLModel, table=True):
    """How many live (not erased) guests the tenant has: the unfiltered customer list's totalCount
    without counting rows. One row, kept by statement-level triggers on `guest`."""

    __tablename__ = "guest_tally"
    __table_args__ = (sa.CheckConstraint("id", name="single_row"),)

    id: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, primary_key=True, server_default=sa.true())
    )
    live: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class GuestAccount(SQLModel, table=True):
    """An optional login for a guest."""

    __tablename__ = "guest_account"

    id: uuid.UUID = id_field()
    guest_id: uuid.UUID = Field(
        sa_column=sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("guest.id"), nullable=False, unique=True)
    )
    email_bidx: bytes = Field(sa_column=sa.Column(pg.BYTEA, nullable=False, unique=True))
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = timestamp_field()
    disabled_at: datetime | None = timestamp_field()


class AccountTokenPurpose(StrEnum):
    RESET_PASSWORD = "reset_password"  # noqa: S105  (a purpose, not a secret)
    SET_PASSWORD = "set_password"  # noqa: S105
    CHANGE_EMAIL = "change_email"


class AccountToken(SQLModel, table=True):
    """A single-use token mailed to a guest (password reset, first password, email change).
    Only its SHA-256 is stored; `new_email_enc` carries the address an email change confirms."""

    __tablename__ = "account_token"
    __table_args__ = (_one_of("purpose", AccountTokenPurpose),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = foreign_key_field("guest_account.id", ondelete="CASCADE")
    purpose: str = _string(20, nullable=False)
    token_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
    new_email_enc: bytes | None = _bytes()
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    used_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class AccountRegistration(SQLModel, table=True):
    """A registration waiting for its address to be proven by the link mailed to it. No guest and
    no account exists for it until then, and nothing in it is readable: email and name encrypted,
    the password as its argon2id hash, the link's token as SHA-256. Several may wait for one
    address (whoever typed it); following one link ends them all."""

    __tablename__ = "account_registration"
    __table_args__ = (
        sa.Index("account_registration_email_bidx", "email_bidx"),
        sa.Index("account_registration_expires_at", "expires_at"),
    )

    id: uuid.UUID = id_field()
    email_bidx: bytes = Field(sa_column=sa.Column(pg.BYTEA, nullable=False))
    email_enc: bytes = Field(sa_column=sa.Column(pg.BYTEA, nullable=False))
    name_enc: bytes = Field(sa_column=sa.Column(pg.BYTEA, nullable=False))
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    token_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    created_at: datetime = created_at_field()


class DataKey(SQLModel, table=True):
    """The tenant's encryption (`data`) and blind-index (`index`) keys, wrapped by the master key."""

    __tablename__ = "data_key"
    __table_args__ = (sa.CheckConstraint("purpose IN ('data', 'index')", name="purpose"),)

    purpose: str = Field(sa_column=sa.Column(sa.String(10), primary_key=True))
    version: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True))
    wrapped: bytes = Field(sa_column=sa.Column(pg.BYTEA, nullable=False))
    created_at: datetime = created_at_field()


class Booking(SQLModel, table=True):
    __tablename__ = "booking"
    __table_args__ = (
        _one_of("status", BookingStatus),
        _one_of("source", BookingSource),
        sa.CheckConstraint("check_out > check_in", name="dates_ordered"),
        sa.CheckConstraint("adults >= 1 AND children >= 0", name="party_size"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.UniqueConstraint("channel", "external_id"),
        sa.Index("booking_property_id_guest_id", "property_id", "guest_id"),
        sa.Index("booking_guest_id_check_in", "guest_id", "check_in"),
    )

    id: uuid.UUID = id_field()
    property_id: uuid.UUID = foreign_key_field("property.id")
    guest_id: uuid.UUID = foreign_key_field("guest.id")
    stay_guest_name: str | None = _string(NAME_MAX)
    stay_guest_email_enc: bytes | None = _bytes()
    stay_guest_phone_enc: bytes | None = _bytes()
    check_in: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    check_out: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    adults: int = Field(default=1, sa_column=sa.Column(sa.SmallInteger, nullable=False))
    children: int = Field(default=0, sa_column=sa.Column(sa.SmallInteger, nullable=False, server_default="0"))
    amount: Decimal = money_field()
    currency: str = currency_field()
    status: str = _string(20, nullable=False, default=BookingStatus.CONFIRMED.value)
    source: str = _string(20, nullable=False, default=BookingSource.MANUAL.value)
    channel: str | None = _string(SHORT_MAX)
    external_id: str | None = _string(SHORT_MAX)
    created_by_staff_id: uuid.UUID | None = foreign_key_field("staff_user.id", nullable=True)
    created_at: datetime = created_at_field()
    cancelled_at: datetime | None = timestamp_field()
    cancel_reason_enc: bytes | None = _bytes()  # may tell of the guest's private life


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (
        _one_of("status", PaymentStatus),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: uuid.UUID = id_field()
    booking_id: uuid.UUID = foreign_key_field("booking.id")
    amount: Decimal = money_field()
    currency: str = currency_field()
    method: str = _string(SHORT_MAX, nullable=False)
    status: str = _string(20, nullable=False, default=PaymentStatus.PAID.value)
    provider_reference_enc: bytes | None = _bytes()
    paid_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class Service(SQLModel, table=True):
    """An item of the company's trip-services catalogue (zip-line tour, airport transfer…)."""

    __tablename__ = "service"
    __table_args__ = (sa.CheckConstraint("price >= 0", name="price_not_negative"),)

    id: uuid.UUID = id_field()
    name: str = _string(NAME_MAX, nullable=False)
    description: str | None = _text()
    price: Decimal = money_field()
    currency: str = currency_field()
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    created_at: datetime = created_at_field()


class ServiceRequest(SQLModel, table=True):
    __tablename__ = "service_request"
    __table_args__ = (
        _one_of("status", ServiceRequestStatus),
        sa.CheckConstraint("people >= 1", name="people_positive"),
    )

    id: uuid.UUID = id_field()
    guest_id: uuid.UUID = foreign_key_field("guest.id")
    booking_id: uuid.UUID = foreign_key_field("booking.id")
    service_id: uuid.UUID = foreign_key_field("service.id")
    service_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    people: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    price: Decimal = money_field()
    currency: str = currency_field()
    status: str = _string(20, nullable=False, default=ServiceRequestStatus.REQUESTED.value)
    notes_enc: bytes | None = _bytes()
    created_at: datetime = created_at_field()


class Communication(SQLModel, table=True):
    """One message to or from a guest. For an outgoing one this row is the idempotency record of its
    delivery: whoever sets `sending_since` owns the provider call, and a sent message is never sent
    again. Subject and body are stored encrypted, like every private text (see
    `tenancy/encrypted_columns.py`). `recipient_enc` holds an explicit address (an email change's new
    address, or the address a registration must prove, which no guest record holds yet); without it
    the guest's current contact is used, read at send time."""

    __tablename__ = "communication"
    __table_args__ = (
        _one_of("channel", Channel),
        _one_of("direction", Direction),
        _one_of("message_class", MessageClass),
        _one_of("status", CommunicationStatus),
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
    channel: str = _string(20, nullable=False)
    direction: str = _string(3, nullable=False)
    template_key: str | None = _string(SHORT_MAX)
    language: str | None = _string(35)
    message_class: str = _string(20, nullable=False, default=MessageClass.TRANSACTIONAL.value)
    # The text as staff see it, encrypted; None once the guest is erased.
    subject_enc: bytes | None = _bytes()
    body_enc: bytes | None = _bytes()
    # Whether the channel was chosen by routing (and may be re-routed at send time) or by a person.
    channel_requested: bool = _flag()
    recipient_enc: bytes | None = _bytes()
    # Links the message carries (portal, set-password): encrypted here, shown as markers in `body`.
    secrets_enc: bytes | None = _bytes()
    status: str = _string(20, nullable=False, default=CommunicationStatus.QUEUED.value)
    provider: str | None = _string(20)
    provider_message_id: str | None = _string(200)
    error: str | None = _text()
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
    __table_args__ = (_one_of("step", DeliveryStep),)

    id: uuid.UUID = id_field()
    communication_id: uuid.UUID = foreign_key_field("communication.id", ondelete="CASCADE")
    step: str = _string(20, nullable=False)
    channel: str | None = _string(20)
    provider: str | None = _string(20)
    detail: str | None = _text()
    at: datetime = created_at_field()


class MessageTemplate(SQLModel, table=True):
    """The text of a message kind (`key`) in one language, for one channel or (channel NULL) any."""

    __tablename__ = "message_template"
    __table_args__ = (
        _one_of("channel", Channel),
        _one_of("message_class", MessageClass),
        sa.UniqueConstraint("key", "language", "channel", postgresql_nulls_not_distinct=True),
    )

    id: uuid.UUID = id_field()
    key: str = _string(50, nullable=False)
    language: str = _string(35, nullable=False)
    channel: str | None = _string(20)
    message_class: str = _string(20, nullable=False, default=MessageClass.TRANSACTIONAL.value)
    subject: str | None = _string(300)
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
        _one_of("status", ScheduledStatus),
        sa.UniqueConstraint("booking_id", "template_key"),
    )

    id: uuid.UUID = id_field()
    booking_id: uuid.UUID = foreign_key_field("booking.id", ondelete="CASCADE")
    template_key: str = _string(50, nullable=False)
    due_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    status: str = _string(20, nullable=False, default=ScheduledStatus.SCHEDULED.value)
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


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("audit_event_entity", "entity", "entity_id"),)

    id: uuid.UUID = id_field()
    actor_kind: str = _string(20, nullable=False)
    actor_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    action: str = _string(SHORT_MAX, nullable=False)
    entity: str = _string(50, nullable=False)
    entity_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    data: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    created_at: datetime = created_at_field()
