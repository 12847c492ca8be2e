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
from typing import Any, Literal, cast

from sqlalchemy.sql import Select

from hospes.resolvers.context import Context
from hospes.schema.errors import bad_input
from hospes.schema.text import is_storable
from hospes.services.paging import Sort

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


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


# Our cursors are well under this; a longer one is refused before it is decoded.
MAX_CURSOR_LENGTH = 512
CursorPart = Literal["datetime", "text", "int", "bool", "uuid"]
_BIGINT = range(-(2**63), 2**63)


def encode_cursor(*parts: object) -> str:
    """An opaque cursor: base64url of the compact JSON list of `parts` (datetimes as ISO text)."""
    plain = [part.isoformat() if isinstance(part, datetime) else part for part in parts]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _part(kind: CursorPart, value: object) -> Any:
    """One decoded part, checked for its type and for what PostgreSQL accepts; ValueError if not."""
    if kind == "bool":
        if type(value) is not bool:
            raise ValueError("not a boolean")
        return value
    if kind == "int":
        if type(value) is not int or value not in _BIGINT:  # not a bool, a float, Infinity, 1e30
            raise ValueError("not a bigint")
        return value
    if not isinstance(value, str):
        raise ValueError("not text")
    if kind == "uuid":
        return uuid.UUID(hex=value)
    if kind == "datetime":
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a time without its zone")
        return moment
    if not is_storable(value):
        raise ValueError("text the database cannot hold")
    return value


def decode_cursor(cursor: str, kinds: tuple[CursorPart, ...]) -> tuple[Any, ...]:
    """The parts of a cursor this server made, each checked against its kind. Anything else (a
    forged or damaged cursor) is BAD_USER_INPUT, never reaches the database."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError("not a cursor")
        return tuple(_part(kind, part) for kind, part in zip(kinds, parts, strict=True))
    except (binascii.Error, ValueError, TypeError, RecursionError) as error:
        raise bad_input("Invalid cursor.") from error


def _encode(sort: Sort, values: Sequence[Any]) -> str:
    *head, pk = values
    return encode_cursor(sort.name, *head, pk.hex)


def _decode(sort: Sort, cursor: str) -> tuple[Any, ...]:
    kinds = cast(tuple[CursorPart, ...], ("text", *sort.kinds))
    name, *values = decode_cursor(cursor, kinds)
    if name != sort.name:
        raise bad_input("Invalid cursor.")  # a cursor of another ordering
    return tuple(values)


def page_query(
    *, query: Select[Any], sort: Sort, first: int | None, after: str | None
) -> tuple[Select[Any], int]:
    """`query` narrowed to the rows after the cursor `after`, in order, one row past a page (which
    says whether there is a next one), and the page's size. BAD_USER_INPUT for a page size out of
    bounds or a cursor this server did not make for `sort`."""
    size = page_size(first)
    if after is not None:
        query = query.where(sort.after(*_decode(sort, after)))
    return query.order_by(*sort.order_by()).limit(size + 1), size


async def keyset_page(
    ctx: Context,
    *,
    query: Select[Any],
    sort: Sort,
    first: int | None,
    after: str | None,
) -> Page:
    """One page of `query` (a select of one entity, or of an entity and its sort value)."""
    query, size = page_query(query=query, sort=sort, first=first, after=after)
    columns = sort.columns
    rows = await ctx.rows(query.add_columns(*columns))
    visible = rows[:size]
    return Page(
        rows=[row[0] for row in visible],
        cursors=[_encode(sort, row[-len(columns) :]) for row in visible],
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
    )
