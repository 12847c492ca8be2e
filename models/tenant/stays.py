"""What guests book and buy: properties, bookings, payments, the services catalogue and requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hospes.models.columns import (
    ADDRESS_MAX,
    NAME_MAX,
    SHORT_MAX,
    bytes_field,
    created_at_field,
    currency_field,
    foreign_key_field,
    id_field,
    money_field,
    one_of,
    string_field,
    text_field,
    timestamp_field,
)


class Property(SQLModel, table=True):
    __tablename__ = "property"

    id: uuid.UUID = id_field()
    name: str = string_field(NAME_MAX, nullable=False)
    address: str | None = string_field(ADDRESS_MAX)
    timezone: str = string_field(64, nullable=False, default="UTC")
    # The guide (Wi-Fi passwords) and door codes: encrypted (tenancy/encrypted_columns.py), as is
    # all private text.
    villa_guide_enc: bytes | None = bytes_field()
    check_in_instructions_enc: bytes | None = bytes_field()
    created_at: datetime = created_at_field()


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


class Booking(SQLModel, table=True):
    __tablename__ = "booking"
    __table_args__ = (
        one_of("status", BookingStatus),
        one_of("source", BookingSource),
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
    stay_guest_name: str | None = string_field(NAME_MAX)
    stay_guest_email_enc: bytes | None = bytes_field()
    stay_guest_phone_enc: bytes | None = bytes_field()
    check_in: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    check_out: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    adults: int = Field(default=1, sa_column=sa.Column(sa.SmallInteger, nullable=False))
    children: int = Field(default=0, sa_column=sa.Column(sa.SmallInteger, nullable=False, server_default="0"))
    amount: Decimal = money_field()
    currency: str = currency_field()
    status: str = string_field(20, nullable=False, default=BookingStatus.CONFIRMED.value)
    source: str = string_field(20, nullable=False, default=BookingSource.MANUAL.value)
    channel: str | None = string_field(SHORT_MAX)
    external_id: str | None = string_field(SHORT_MAX)
    created_by_staff_id: uuid.UUID | None = foreign_key_field("staff_user.id", nullable=True)
    created_at: datetime = created_at_field()
    cancelled_at: datetime | None = timestamp_field()
    cancel_reason_enc: bytes | None = bytes_field()  # may tell of the guest's private life


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    FAILED = "failed"


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (
        one_of("status", PaymentStatus),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: uuid.UUID = id_field()
    booking_id: uuid.UUID = foreign_key_field("booking.id")
    amount: Decimal = money_field()
    currency: str = currency_field()
    method: str = string_field(SHORT_MAX, nullable=False)
    status: str = string_field(20, nullable=False, default=PaymentStatus.PAID.value)
    provider_reference_enc: bytes | None = bytes_field()
    paid_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class Service(SQLModel, table=True):
    """An item of the company's trip-services catalogue (zip-line tour, airport transfer…)."""

    __tablename__ = "service"
    __table_args__ = (sa.CheckConstraint("price >= 0", name="price_not_negative"),)

    id: uuid.UUID = id_field()
    name: str = string_field(NAME_MAX, nullable=False)
    description: str | None = text_field()
    price: Decimal = money_field()
    currency: str = currency_field()
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    created_at: datetime = created_at_field()


class ServiceRequestStatus(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    DONE = "done"


class ServiceRequest(SQLModel, table=True):
    __tablename__ = "service_request"
    __table_args__ = (
        one_of("status", ServiceRequestStatus),
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
    status: str = string_field(20, nullable=False, default=ServiceRequestStatus.REQUESTED.value)
    notes_enc: bytes | None = bytes_field()
    created_at: datetime = created_at_field()
