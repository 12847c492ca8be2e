"""Runs a plan's one statement in the request's tenant-bound transaction and finishes what SQL
cannot: ciphertexts opened at their known paths, cursors encoded, NOT_FOUND for an id that names
no guest of the caller's tenant, errors located at their root field as the resolvers' would be."""

from __future__ import annotations

import base64
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from graphql.pyutils import Path

from hospes.resolvers.compiled.fields import Encrypted
from hospes.resolvers.compiled.plan import ConnectionPlan, ObjectPlan, OperationPlan, Selected
from hospes.resolvers.compiled.statement import Template, bound, shape, template
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import encode_cursor
from hospes.schema.errors import not_found
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import EncryptedColumn

MAX_TEMPLATES = 512


@dataclass(frozen=True)
class _Sealed:
    """A ciphertext in the answer, where it is, and what to say if it does not open."""

    container: dict[str, Any]
    selected: Selected
    column: EncryptedColumn[Any]
    blob: bytes
    path: Path


class _Finishing:
    """One walk over the parts of the answer that need Python; the rest is left as it came."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.sealed: list[_Sealed] = []

    def object(self, plan: ObjectPlan, value: dict[str, Any] | list[Any] | None, path: Path) -> None:
        if value is None:
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.object(plan, item, path.add_key(index))
            return
        for selected in plan.fields:
            key, spec = selected.key, selected.spec
            if isinstance(spec, Encrypted):
                text = value[key]
                if text is not None:
                    blob = base64.b64decode(text)
                    self.sealed.append(_Sealed(value, selected, spec.column, blob, path.add_key(key)))
            elif selected.sub is not None:
                self.object(selected.sub, value[key], path.add_key(key))

    def connection(self, plan: ConnectionPlan, value: dict[str, Any], path: Path) -> None:
        name_of_sort = plan.sort.name
        for key, name, sub in plan.fields:
            if name == "edges":
                for index, edge in enumerate(value[key]):
                    for edge_key, edge_name, node in sub:
                        if edge_name == "cursor":
                            edge[edge_key] = encode_cursor(name_of_sort, *edge[edge_key])
                        elif edge_name == "node":
                            self.object(
                                node, edge[edge_key], path.add_key(key).add_key(index).add_key(edge_key)
                            )
            elif name == "pageInfo":
                info = value[key]
                for info_key, info_name, _ in sub:
                    if info_name in ("startCursor", "endCursor") and info[info_key] is not None:
                        info[info_key] = encode_cursor(name_of_sort, *info[info_key])

    async def open(self, ctx: Context) -> None:
        """Plaintext in place of each ciphertext; one that does not open is an error at its field,
        null there, as its resolver would answer."""
        if not self.sealed:
            return
        try:
            every: TenantKeys | None = await ctx.keys(*(sealed.blob for sealed in self.sealed))
        except Exception:
            every = None  # some key is missing: each value on its own, so the others still open
        for sealed in self.sealed:
            try:
                keys = every if every is not None else await ctx.keys(sealed.blob)
                sealed.container[sealed.selected.key] = sealed.column.unseal(keys, sealed.blob)
            except Exception as error:
                sealed.container[sealed.selected.key] = None
                selected = sealed.selected
                self.executor.handle_field_error(error, selected.type_, selected.details, sealed.path)


async def answer(executor: Any, plan: OperationPlan, templates: dict[Hashable, Template]) -> dict[str, Any]:
    """The operation's `data`, with its field errors handed to `executor` as its resolvers' are.
    `templates` holds the statements compiled so far, by shape."""
    ctx: Context = executor.context_value
    dialect = ctx.resources.engine.dialect
    key = shape(plan)
    compiled = templates.get(key)
    if compiled is None:
        if len(templates) >= MAX_TEMPLATES:
            templates.clear()  # a client sending ever new shapes: start over rather than grow
        compiled = templates[key] = template(plan, dialect)
    sql, params = bound(plan, compiled, dialect)
    try:
        data: dict[str, Any] = await ctx.compiled_scalar(sql, params)
    except Exception as error:
        for root in plan.roots:
            if root.body is not None:
                executor.handle_field_error(
                    error, root.return_type, root.details, Path(None, root.key, "Query")
                )
        return {root.key: "Query" if root.body is None else None for root in plan.roots}
    finishing = _Finishing(executor)
    for root in plan.roots:
        path = Path(None, root.key, "Query")
        if isinstance(root.body, ConnectionPlan):
            finishing.connection(root.body, data[root.key], path)
        elif isinstance(root.body, ObjectPlan):
            finishing.object(root.body, data[root.key], path)
    await finishing.open(ctx)
    for root in plan.roots:
        if isinstance(root.body, ObjectPlan) and data[root.key] is None:
            path = Path(None, root.key, "Query")
            executor.handle_field_error(not_found("Guest"), root.return_type, root.details, path)
    return data
