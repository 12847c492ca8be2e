"""Records kept beside the data: the wrapped data keys and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from hospes.models.columns import (
    SHORT_MAX,
    created_at_field,
    id_field,
    string_field,
)


class DataKey(SQLModel, table=True):
    """The tenant's encryption (`data`) and blind-index (`index`) keys, wrapped by the master key."""

    __tablename__ = "data_key"
    __table_args__ = (sa.CheckConstraint("purpose IN ('data', 'index')", name="purpose"),)

    purpose: str = Field(sa_column=sa.Column(sa.String(10), primary_key=True))
    version: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True))
    wrapped: bytes = Field(sa_column=sa.Column(pg.BYTEA, nullable=False))
    created_at: datetime = created_at_field()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("audit_event_entity", "entity", "entity_id"),)

    id: uuid.UUID = id_field()
    actor_kind: str = string_field(20, nullable=False)
    actor_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    action: str = string_field(SHORT_MAX, nullable=False)
    entity: str = string_field(50, nullable=False)
    entity_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(pg.UUID(as_uuid=True)))
    data: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    created_at: datetime = created_at_field()
