"""Tables of the `public` schema: the tenant registry. Nothing guest-identifying lives here."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from models.columns import created_at_field, id_field

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
