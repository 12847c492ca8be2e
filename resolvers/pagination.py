"""Keyset pagination for top-level lists. A cursor holds the sort value and id of the last row
seen, so pages stay correct while rows are added (no OFFSET)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql import Select

from resolvers.context import Context
from schema.errors import bad_input

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

ValueKind = Literal["datetime", "text", "int"]


@dataclass(frozen=True)
class Sort:
    """Order by `expression` then `id`, both in the same direction (one index serves both)."""

    name: str
    expression: Any
    id_column: Any
    kind: ValueKind
    descending: bool

    def order_by(self) -> list[Any]:
        if self.descending:
            return [self.expression.desc(), self.id_column.desc()]
        return [self.expression.asc(), self.id_column.asc()]

    def after(self, value: Any, pk: uuid.UUID) -> sa.ColumnElement[bool]:
        left = sa.tuple_(self.expression, self.id_column)
        right = sa.tuple_(sa.literal(value), sa.literal(pk))
        return left < right if self.descending else left > right


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_input(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
    return first


def _encode(sort: Sort, value: Any, pk: uuid.UUID) -> str:
    plain = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps([sort.name, plain, pk.hex], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(sort: Sort, cursor: str) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, plain, pk_hex = json.loads(raw)
        if name != sort.name:
            raise ValueError("cursor of another ordering")
        pk = uuid.UUID(hex=pk_hex)
        if sort.kind == "datetime":
            return datetime.fromisoformat(plain), pk
        if sort.kind == "int":
            return int(plain), pk
        if not isinstance(plain, str):
            raise ValueError("bad cursor value")
        return plain, pk
    except (binascii.Error, ValueError, TypeError, json.JSONDecodeError) as error:
        raise bad_input("Invalid cursor.") from error


async def keyset_page(
    ctx: Context,
    *,
    query: Select[Any],
    sort: Sort,
    first: int | None,
    after: str | None,
) -> Page:
    """One page of `query` (a select of one entity, or of an entity and its sort value)."""
    size = page_size(first)
    if after is not None:
        value, pk = _decode(sort, after)
        query = query.where(sort.after(value, pk))
    rows = await ctx.rows(
        query.add_columns(sort.expression, sort.id_column).order_by(*sort.order_by()).limit(size + 1)
    )
    visible = rows[:size]
    return Page(
        rows=[row[0] for row in visible],
        cursors=[_encode(sort, row[-2], row[-1]) for row in visible],
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
    )
