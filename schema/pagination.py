"""Relay connections for top-level lists: `edges { cursor node }`, `pageInfo`, `totalCount`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from hospes.resolvers.pagination import Page

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many nodes match, across all pages.")
    async def total_count(self) -> int:
        return await self.count()


def connection(
    page: Page, count: Callable[[], Awaitable[int]], convert: Callable[[Any], NodeT]
) -> Connection[NodeT]:
    edges = [
        Edge(cursor=cursor, node=convert(row)) for row, cursor in zip(page.rows, page.cursors, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count=count,
    )
