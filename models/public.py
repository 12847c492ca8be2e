"""Tables of the `public` schema: the tenant registry. Nothing guest-identifying lives here."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from hospes.models.columns import created_at_field, id_field

PUBLIC_SCHEMA = "public"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(SQLModel, table=True):
    __tablename__ = "tenant"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'suspended')", name="status"),
        {"schema": PUBLIC_SCHEMA},
    )

    id: uuid.UUID = id_field()
    slug: str = Field(sa_column=sa.Column(sa.String(41), nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    schema_name: str = Field(sa_column=sa.Column(sa.String(63), nullable=False, unique=True))
    status: str = Field(
        default=TenantStatus.ACTIVE.value,
        sa_column=sa.Column(sa.String(20), nullable=False, server_default="active"),
    )
    created_at: datetime = created_at_field()
    settings: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )


class PortalToken(SQLModel, table=True):
    """A guest-portal link for one booking. Only the SHA-256 of the token is stored."""

    __tablename__ = "portal_token"
    __table_args__ = (
        sa.Index("portal_token_tenant_booking", "tenant_id", "booking_id"),
        {"schema": PUBLIC_SCHEMA},
    )

    id: uuid.UUID = id_field()
    token_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
    tenant_id: uuid.UUID = Field(
        sa_column=sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("public.tenant.id"), nullable=False)
    )
    booking_id: uuid.UUID = Field(sa_column=sa.Column(pg.UUID(as_uuid=True), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    created_at: datetime = created_at_field()


class ApiKey(SQLModel, table=True):
    """A partner's key: `hk_<prefix>_<secret>`; the prefix finds the row, the SHA-256 proves it."""

    __tablename__ = "api_key"
    __table_args__ = ({"schema": PUBLIC_SCHEMA},)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = Field(
        sa_column=sa.Column(
            pg.UUID(as_uuid=True), sa.ForeignKey("public.tenant.id"), nullable=False, index=True
        )
    )
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    prefix: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, unique=True))
    key_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))
    scopes: list[str] = Field(
        default_factory=list, sa_column=sa.Column(pg.ARRAY(sa.String(40)), nullable=False)
    )
    created_by: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))


class OutboxKind(StrEnum):
    DELIVER = "deliver"  # send a communication
    LIFECYCLE = "lifecycle"  # a scheduled lifecycle message fell due
    INQUIRY_REMINDER = "inquiry_reminder"  # an inquiry's follow-up fell due


class Outbox(SQLModel, table=True):
    """Work that must happen after a commit or at a due time, for any tenant: the transactional
    outbox and the scheduler's queue in one. A row is written in the business transaction; it is
    deleted when the work is done. `claimed_until` is a lease: whoever enqueued the row (the relay
    after commit, or the scheduler) owns it until then; after that the scheduler enqueues it again."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('deliver', 'lifecycle', 'inquiry_reminder')", name="kind"),
        sa.UniqueConstraint("tenant_id", "kind", "ref_id"),
        sa.Index("outbox_due_at", "due_at"),
        {"schema": PUBLIC_SCHEMA},
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True))
    tenant_id: uuid.UUID = Field(
        sa_column=sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("public.tenant.id"), nullable=False)
    )
    kind: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    ref_id: uuid.UUID = Field(sa_column=sa.Column(pg.UUID(as_uuid=True), nullable=False))
    due_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    created_at: datetime = created_at_field()


class MessagingAddress(SQLModel, table=True):
    """A sender number or address a company owns: inbound messages to it belong to that company."""

    __tablename__ = "messaging_address"
    __table_args__ = (
        sa.CheckConstraint("channel IN ('whatsapp', 'email', 'sms')", name="channel"),
        sa.UniqueConstraint("channel", "address"),
        {"schema": PUBLIC_SCHEMA},
    )

    id: uuid.UUID = id_field()
    channel: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    address: str = Field(sa_column=sa.Column(sa.String(320), nullable=False))
    tenant_id: uuid.UUID = Field(
        sa_column=sa.Column(
            pg.UUID(as_uuid=True), sa.ForeignKey("public.tenant.id"), nullable=False, index=True
        )
    )
    created_at: datetime = created_at_field()
