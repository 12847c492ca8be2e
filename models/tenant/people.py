"""Who a tenant knows: its staff, its guests (one per person) and their accounts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from hospes.models.columns import (
    EMAIL_MAX,
    NAME_MAX,
    bytes_field,
    created_at_field,
    flag_field,
    foreign_key_field,
    id_field,
    one_of,
    string_field,
    timestamp_field,
)
from hospes.models.tenant.messages import Channel


class StaffRole(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    AGENT = "agent"


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    __table_args__ = (one_of("role", StaffRole),)

    id: uuid.UUID = id_field()
    email: str = Field(sa_column=sa.Column(sa.String(EMAIL_MAX), nullable=False, unique=True))
    name: str | None = string_field(NAME_MAX)
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    role: str = string_field(20, nullable=False, default=StaffRole.AGENT.value)
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = timestamp_field()


class Guest(SQLModel, table=True):
    """A person, once per company. Email, phone and notes are stored encrypted (`*_enc`); equality
    lookups go through keyed blind indexes (`*_bidx`); the name stays searchable through
    `search_vector` (accent-folded words) and sortable through `name_key`."""

    __tablename__ = "guest"
    __table_args__ = (
        one_of("preferred_channel", Channel),
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
    name: str = string_field(NAME_MAX, nullable=False)
    name_key: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    search_vector: Any = Field(default=None, sa_column=sa.Column(pg.TSVECTOR, nullable=True))
    email_enc: bytes | None = bytes_field()
    email_bidx: bytes | None = bytes_field()
    phone_enc: bytes | None = bytes_field()
    phone_bidx: bytes | None = bytes_field()
    notes_enc: bytes | None = bytes_field()
    country: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(2)))
    language: str | None = string_field(35)
    preferred_channel: str | None = string_field(20)
    sms_opt_in: bool = flag_field()
    marketing_email_consent: bool = flag_field()
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
    __table_args__ = (one_of("purpose", AccountTokenPurpose),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = foreign_key_field("guest_account.id", ondelete="CASCADE")
    purpose: str = string_field(20, nullable=False)
    token_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
    new_email_enc: bytes | None = bytes_field()
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
