"""A plan as ONE SQL statement building the whole response's `data` as JSON: correlated
subqueries for nested objects and lists, a CTE per page of a connection. Every value from the
request is a bound parameter; names in the statement come from the plan's fixed tables."""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hospes.resolvers.compiled import json_sql as js
from hospes.resolvers.compiled.fields import TYPES, Child, Computed, Embedded, Encrypted, Scalar, Source
from hospes.resolvers.compiled.plan import ConnectionPlan, ObjectPlan, OperationPlan

_CURSOR_FORMATS = {"datetime": js.iso_datetime, "uuid": js.uuid_hex}


class _Builder:
    def __init__(self) -> None:
        self._names = itertools.count()

    def alias(self, type_name: str) -> Source:
        return TYPES[type_name].table.alias(f"c{next(self._names)}")

    def object(self, plan: ObjectPlan, row: Source) -> js.Expression:
        pairs: list[tuple[str, js.Expression]] = []
        for selected in plan.fields:
            key, spec, sub = selected.key, selected.spec, selected.sub
            if isinstance(spec, str):
                pairs.append((key, js.const(spec)))
            elif isinstance(spec, Scalar):
                pairs.append((key, spec.format(row.c[spec.column])))
            elif isinstance(spec, Computed):
                pairs.append((key, spec.expression(row)))
            elif isinstance(spec, Encrypted):
                pairs.append((key, js.ciphertext(row.c[spec.column.attribute])))
            elif isinstance(spec, Embedded):
                assert sub is not None
                present = sa.func.coalesce(row.c[spec.present], js.const("")) != js.const("")
                pairs.append((key, sa.case((present, self.object(sub, row)))))
            else:
                assert isinstance(spec, Child) and sub is not None
                pairs.append((key, self.child(spec, sub, row)))
        return js.json_object(pairs)

    def child(self, spec: Child, plan: ObjectPlan, parent: Source) -> js.Expression:
        row = self.alias(spec.type_name)
        value = self.object(plan, row)
        if not spec.many:
            return sa.select(value).where(spec.link(parent, row)).correlate(parent).scalar_subquery()
        order = [row.c[column].desc() for column in spec.order]
        listed = sa.select(js.json_list(value, *order)).where(spec.link(parent, row))
        return listed.correlate(parent).scalar_subquery()

    def connection(self, plan: ConnectionPlan, index: int) -> js.Expression:
        """The connection's JSON over its page, a CTE whose body (`PAGE`) and whose count
        (`COUNT`) are filled in per request: they depend on the arguments, the rest does not."""
        sort = plan.sort
        guest_columns: list[sa.ColumnClause[Any]] = [
            sa.column(column.name) for column in TYPES["Guest"].table.columns
        ]
        keys: list[sa.ColumnClause[Any]] = [sa.column(f"_k{position}") for position in range(len(sort.kinds))]
        body = sa.text(PAGE.format(index)).columns(*guest_columns, *keys, sa.column("_rn"))
        page = body.cte(f"page{index}")
        cursor = sa.func.json_build_array(
            *(
                _CURSOR_FORMATS.get(kind, js.plain)(page.c[f"_k{position}"])
                for position, kind in enumerate(sort.kinds)
            )
        )
        size = sa.bindparam(f"size{index}", type_=sa.Integer)
        pairs: list[tuple[str, js.Expression]] = []
        for key, name, sub in plan.fields:
            if name == "edges":
                edge: list[tuple[str, js.Expression]] = []
                for edge_key, edge_name, node in sub:
                    if edge_name == "cursor":
                        edge.append((edge_key, cursor))
                    elif edge_name == "node":
                        edge.append((edge_key, self.object(node, page)))
                    else:
                        edge.append((edge_key, js.const(node)))
                edges = sa.select(js.json_list(js.json_object(edge), page.c._rn)).where(page.c._rn <= size)
                pairs.append((key, edges.scalar_subquery()))
            elif name == "pageInfo":
                info = [
                    (k, _page_info(n, t, page=page, size=size, cursor=cursor, index=index)) for k, n, t in sub
                ]
                pairs.append((key, js.json_object(info)))
            elif name == "totalCount":
                pairs.append((key, sa.literal_column(f"({COUNT.format(index)})")))
            else:
                pairs.append((key, js.const(sub)))
        return js.json_object(pairs)


def _page_info(
    name: str, type_name: str, *, page: Any, size: Any, cursor: js.Expression, index: int
) -> js.Expression:
    if name == "hasNextPage":
        return sa.exists(sa.select(page.c._rn).where(page.c._rn > size))
    if name == "hasPreviousPage":
        return sa.bindparam(f"previous{index}", type_=sa.Boolean)
    if name == "startCursor":
        return sa.select(cursor).where(page.c._rn == 1).scalar_subquery()
    if name == "endCursor":
        return (
            sa.select(cursor).where(page.c._rn <= size).order_by(page.c._rn.desc()).limit(1).scalar_subquery()
        )
    return js.const(type_name)


# Where a connection's page and count go into a template; nothing else in it looks like these.
PAGE = "__hospes_page_{}__"
COUNT = "__hospes_count_{}__"
_BIND = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Template:
    """A plan's statement compiled once: its SQL and the values of its constant parameters."""

    sql: str
    constants: dict[str, Any]


def template(plan: OperationPlan, dialect: sa.Dialect) -> Template:
    """The statement answering every plan of `plan`'s shape (see `shape`): a single row, a single
    `json` column, each root field's key holding its value (NULL for `guest(id)` naming no guest
    of this tenant). What varies per request is bound by `bound`."""
    builder = _Builder()
    pairs: list[tuple[str, js.Expression]] = []
    for index, root in enumerate(plan.roots):
        if root.body is None:
            pairs.append((root.key, js.const("Query")))
        elif isinstance(root.body, ConnectionPlan):
            pairs.append((root.key, builder.connection(root.body, index)))
        elif root.guest_pk is None:
            pairs.append((root.key, sa.null()))
        else:
            row = builder.alias("Guest")
            value = builder.object(root.body, row)
            pk = sa.bindparam(f"guest{index}", type_=sa.Uuid)
            pairs.append((root.key, sa.select(value).where(row.c.id == pk).scalar_subquery()))
    compiled = sa.select(js.json_object(pairs)).compile(dialect=dialect)
    named = {f"{name}{i}" for name in ("guest", "size", "previous") for i in range(len(plan.roots))}
    constants = {name: value for name, value in compiled.params.items() if name not in named}
    return Template(compiled.string, constants)


def bound(plan: OperationPlan, template_: Template, dialect: sa.Dialect) -> tuple[str, dict[str, Any]]:
    """This request's SQL and parameters: the template with each connection's page and count
    compiled from its arguments (their parameters renamed apart), and the ids and sizes bound."""
    sql = template_.sql
    params = dict(template_.constants)
    for index, root in enumerate(plan.roots):
        body = root.body
        if isinstance(body, ConnectionPlan):
            sort = body.sort
            keys = [column.label(f"_k{position}") for position, column in enumerate(sort.columns)]
            rank = sa.func.row_number().over(order_by=sort.order_by()).label("_rn")
            page_sql = _renamed(body.page.add_columns(*keys, rank), f"p{index}_", dialect, params)
            count_sql = _renamed(body.listing.count, f"n{index}_", dialect, params)
            sql = sql.replace(PAGE.format(index), page_sql).replace(COUNT.format(index), count_sql)
            params[f"size{index}"] = body.size
            params[f"previous{index}"] = body.after_given
        elif isinstance(body, ObjectPlan) and root.guest_pk is not None:
            params[f"guest{index}"] = root.guest_pk
    return sql, params


def _renamed(statement: Any, prefix: str, dialect: sa.Dialect, params: dict[str, Any]) -> str:
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params.update({prefix + name: value for name, value in compiled.params.items()})
    return _BIND.sub(lambda match: f"%({prefix}{match.group(1)})s", compiled.string)


def shape(plan: OperationPlan) -> Hashable:
    """What the template depends on: the selection (keys, fields, nesting), each connection's
    cursor kinds, whether each `guest(id)` names an id at all. Not the arguments' values."""
    parts: list[Hashable] = []
    for root in plan.roots:
        body = root.body
        if isinstance(body, ConnectionPlan):
            parts.append((root.key, body.sort.kinds, tuple(_connection_shape(body))))
        elif isinstance(body, ObjectPlan):
            parts.append((root.key, root.guest_pk is None, _object_shape(body)))
        else:
            parts.append((root.key,))
    return tuple(parts)


def _object_shape(plan: ObjectPlan) -> Hashable:
    return (
        plan.type_name,
        tuple((s.key, s.spec, _object_shape(s.sub) if s.sub else None) for s in plan.fields),
    )


def _connection_shape(plan: ConnectionPlan) -> Iterator[Hashable]:
    for key, name, sub in plan.fields:
        if name == "edges":
            edge = tuple((k, n, _object_shape(x) if isinstance(x, ObjectPlan) else x) for k, n, x in sub)
            yield (key, name, edge)
        elif name == "pageInfo":
            yield (key, name, tuple(sub))
        else:
            yield (key, name, sub)
