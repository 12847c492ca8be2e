"""How a list is ordered for keyset pagination, and the statements of one list: the services say
what to select and in which order, the API pages through it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql import Select

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
class Listing:
    """A list to page through: its rows, their order, and the statement counting them all."""

    query: Select[Any]
    sort: Sort
    count: Select[Any]
