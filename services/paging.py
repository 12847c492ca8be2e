"""How a list is ordered for keyset pagination, and the statements of one list: the services say
what to select and in which order, the API pages through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql import Select

ValueKind = Literal["datetime", "text", "int", "bool"]


@dataclass(frozen=True)
class Sort:
    """Order by `expression` then `id`, both in the same direction (one index serves both). A
    `leading` expression (of `leading_kind`), when given, orders before them, in the same direction:
    the inquiry pipeline puts what needs action first."""

    name: str
    expression: Any
    id_column: Any
    kind: ValueKind
    descending: bool
    leading: Any = None
    leading_kind: ValueKind | None = None

    @property
    def columns(self) -> list[Any]:
        """What a cursor holds, in order: the leading value (if any), the sort value, the id."""
        head = [self.leading] if self.leading is not None else []
        return [*head, self.expression, self.id_column]

    @property
    def kinds(self) -> tuple[str, ...]:
        head = (self.leading_kind,) if self.leading is not None and self.leading_kind else ()
        return (*head, self.kind, "uuid")

    def order_by(self) -> list[Any]:
        if self.descending:
            return [column.desc() for column in self.columns]
        return [column.asc() for column in self.columns]

    def after(self, *values: Any) -> sa.ColumnElement[bool]:
        """Rows after the one whose `columns` hold `values` (the last one seen)."""
        left = sa.tuple_(*self.columns)
        right = sa.tuple_(*(sa.literal(value) for value in values))
        return left < right if self.descending else left > right


@dataclass(frozen=True)
class Listing:
    """A list to page through: its rows, their order, and the statement counting them all."""

    query: Select[Any]
    sort: Sort
    count: Select[Any]
