"""Runs a plan's one statement in the request's tenant-bound transaction and finishes what SQL
cannot: ciphertexts opened at their known paths, cursors encoded, NOT_FOUND for an id that names
no guest of the caller's tenant, errors located at their root field as the resolvers' would be."""

from __future__ import annotations

import base64
from typing import Any

from graphql.pyutils import Path

from hospes.resolvers.compiled.fields import Encrypted
from hospes.resolvers.compiled.plan import ConnectionPlan, ObjectPlan, OperationPlan
from hospes.resolvers.compiled.statement import statement
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import encode_cursor
from hospes.schema.errors import not_found
from hospes.tenancy.encrypted_columns import EncryptedColumn


class _Finishing:
    """One walk over the parts of the answer that need Python; the rest is left as it came."""

    def __init__(self) -> None:
        self.sealed: list[tuple[dict[str, Any], str, EncryptedColumn[Any], bytes]] = []

    def object(self, plan: ObjectPlan, value: dict[str, Any] | list[Any] | None) -> None:
        if value is None:
            return
        if isinstance(value, list):
            for item in value:
                self.object(plan, item)
            return
        for key, spec, sub in plan.fields:
            if isinstance(spec, Encrypted):
                blob = value[key]
                if blob is not None:
                    self.sealed.append((value, key, spec.column, base64.b64decode(blob)))
            elif sub is not None:
                self.object(sub, value[key])

    def connection(self, plan: ConnectionPlan, value: dict[str, Any]) -> None:
        name_of_sort = plan.sort.name
        for key, name, sub in plan.fields:
            if name == "edges":
                for edge in value[key]:
                    for edge_key, edge_name, node in sub:
                        if edge_name == "cursor":
                            edge[edge_key] = encode_cursor(name_of_sort, *edge[edge_key])
                        elif edge_name == "node":
                            self.object(node, edge[edge_key])
            elif name == "pageInfo":
                info = value[key]
                for info_key, info_name, _ in sub:
                    if info_name in ("startCursor", "endCursor") and info[info_key] is not None:
                        info[info_key] = encode_cursor(name_of_sort, *info[info_key])

    async def open(self, ctx: Context) -> None:
        if not self.sealed:
            return
        keys = await ctx.keys(*(blob for _, _, _, blob in self.sealed))
        for container, key, column, blob in self.sealed:
            container[key] = column.unseal(keys, blob)


async def answer(executor: Any, plan: OperationPlan) -> dict[str, Any]:
    """The operation's `data`, with its field errors handed to `executor` as its resolvers' are."""
    ctx: Context = executor.context_value
    try:
        data: dict[str, Any] = await ctx.scalar(statement(plan))
    except Exception as error:
        for root in plan.roots:
            if root.body is not None:
                executor.handle_field_error(
                    error, root.return_type, root.details, Path(None, root.key, "Query")
                )
        return {root.key: "Query" if root.body is None else None for root in plan.roots}
    finishing = _Finishing()
    for root in plan.roots:
        if isinstance(root.body, ConnectionPlan):
            finishing.connection(root.body, data[root.key])
        elif isinstance(root.body, ObjectPlan):
            finishing.object(root.body, data[root.key])
    await finishing.open(ctx)
    for root in plan.roots:
        if isinstance(root.body, ObjectPlan) and data[root.key] is None:
            path = Path(None, root.key, "Query")
            executor.handle_field_error(not_found("Guest"), root.return_type, root.details, path)
    return data
