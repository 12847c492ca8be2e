"""Column shapes shared by the tables, so a money or timestamp column is declared one way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

# Predictable constraint names, so migrations can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}

MONEY = sa.Numeric(12, 2)

# Column length limits, shared by the tables and by input validation.
NAME_MAX = 200
EMAIL_MAX = 320
ADDRESS_MAX = 500
TEXT_MAX = 20_000
SHORT_MAX = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone_of(name: str) -> ZoneInfo:
    """A property's timezone; an unknown name reads as UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def id_field() -> Any:
    return Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(
            pg.UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
        ),
    )


def created_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def timestamp_field(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=nullable))


def foreign_key_field(target: str, *, nullable: bool = False, ondelete: str = "RESTRICT") -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=sa.Column(
            pg.UUID(as_uuid=True),
            sa.ForeignKey(target, ondelete=ondelete),
            nullable=nullable,
            index=True,
        ),
    )


def money_field() -> Any:
    return Field(sa_column=sa.Column(MONEY, nullable=False))


def currency_field() -> Any:
    return Field(sa_column=sa.Column(sa.CHAR(3), nullable=False))


def one_of(column: str, values: type[StrEnum]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


def string_field(length: int, *, nullable: bool = True, default: str | None = None) -> Any:
    server_default = sa.text(f"'{default}'") if default is not None else None
    return Field(
        default=default,
        sa_column=sa.Column(sa.String(length), nullable=nullable, server_default=server_default),
    )


def text_field(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.Text, nullable=nullable))


def bytes_field() -> Any:
    return Field(default=None, sa_column=sa.Column(pg.BYTEA, nullable=True))


def flag_field() -> Any:
    return Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))
