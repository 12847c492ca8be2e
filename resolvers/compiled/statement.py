"""A plan as ONE SQL statement building the whole response's `data` as JSON: correlated
subqueries for nested objects and lists, a CTE per page of a connection. Every value from the
request is a bound parameter; names in the statement come from the plan's fixed tables."""

from __future__ import annotations

import itertools
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

    def connection(self, plan: ConnectionPlan) -> js.Expression:
        sort = plan.sort
        keys = [column.label(f"_k{index}") for index, column in enumerate(sort.columns)]
        ranked = plan.page.add_columns(
            *keys, sa.func.row_number().over(order_by=sort.order_by()).label("_rn")
        )
        page = ranked.cte(f"page{next(self._names)}")
        cursor = sa.func.json_build_array(
            *(
                _CURSOR_FORMATS.get(kind, js.plain)(page.c[f"_k{index}"])
                for index, kind in enumerate(sort.kinds)
            )
        )
        shown = page.c._rn <= plan.size
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
                edges = sa.select(js.json_list(js.json_object(edge), page.c._rn)).where(shown)
                pairs.append((key, edges.scalar_subquery()))
            elif name == "pageInfo":
                info = [(k, self._page_info(n, t, page, plan, cursor)) for k, n, t in sub]
                pairs.append((key, js.json_object(info)))
            elif name == "totalCount":
                pairs.append((key, plan.listing.count.scalar_subquery()))
            else:
                pairs.append((key, js.const(sub)))
        return js.json_object(pairs)

    def _page_info(
        self, name: str, type_name: str, page: Any, plan: ConnectionPlan, cursor: js.Expression
    ) -> js.Expression:
        shown = page.c._rn <= plan.size
        if name == "hasNextPage":
            return sa.exists(sa.select(page.c._rn).where(page.c._rn > plan.size))
        if name == "hasPreviousPage":
            return sa.literal(plan.after_given)
        if name == "startCursor":
            return sa.select(cursor).where(page.c._rn == 1).scalar_subquery()
        if name == "endCursor":
            return sa.select(cursor).where(shown).order_by(page.c._rn.desc()).limit(1).scalar_subquery()
        return js.const(type_name)


def statement(plan: OperationPlan) -> sa.Select[Any]:
    """The one statement answering `plan`: a single row, a single `json` column, in which each
    root field's key holds its value (NULL for `guest(id)` that names no guest of this tenant)."""
    builder = _Builder()
    pairs: list[tuple[str, js.Expression]] = []
    for root in plan.roots:
        if root.body is None:
            pairs.append((root.key, js.const("Query")))
        elif isinstance(root.body, ConnectionPlan):
            pairs.append((root.key, builder.connection(root.body)))
        elif root.guest_pk is None:
            pairs.append((root.key, sa.null()))
        else:
            row = builder.alias("Guest")
            value = builder.object(root.body, row)
            pairs.append((root.key, sa.select(value).where(row.c.id == root.guest_pk).scalar_subquery()))
    return sa.select(js.json_object(pairs))
