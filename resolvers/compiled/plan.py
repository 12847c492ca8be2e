"""From a validated selection to a plan: which fields, from which tables, with which arguments;
the permission rules of every selected field are run here, before any SQL. Anything the compiler
does not produce, and any refusal or bad argument, raises `Unsupported`: the operation then runs
through the resolvers, which answer it exactly as they always have."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLNonNull, GraphQLObjectType, get_named_type
from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.values import get_argument_values
from strawberry.types.arguments import convert_arguments

from hospes.resolvers.compiled.fields import TYPES, Child, Embedded, FieldSpec
from hospes.resolvers.context import Context
from hospes.resolvers.guests import guest_listing
from hospes.resolvers.pagination import page_query
from hospes.resolvers.permissions import check
from hospes.schema.errors import ApiError
from hospes.schema.ids import decode_id
from hospes.schema.inputs import GuestOrder
from hospes.services.paging import Listing, Sort


class Unsupported(Exception):
    """This operation is answered by the resolvers."""


@dataclass(frozen=True)
class Selected:
    """One selected field: its response key, how SQL makes it (a type's name for `__typename`),
    what is selected of it, and its nodes and type for an error located at it."""

    key: str
    spec: FieldSpec | str
    sub: ObjectPlan | None
    details: FieldDetailsList
    type_: Any


@dataclass
class ObjectPlan:
    """The selected fields of one object type, in response order."""

    type_name: str
    fields: list[Selected] = field(default_factory=list)


@dataclass
class ConnectionPlan:
    """One page of a list: its statements, the page's size and what is selected of it."""

    listing: Listing
    page: Any  # the page's select, narrowed past the cursor, one row over the size
    size: int
    after_given: bool
    # (key, field name, what is selected of it: the edge's and page info's fields; a type's name)
    fields: list[tuple[str, str, Any]]

    @property
    def sort(self) -> Sort:
        return self.listing.sort


@dataclass
class RootPlan:
    key: str
    name: str
    details: FieldDetailsList
    return_type: Any
    body: ObjectPlan | ConnectionPlan | None  # None: __typename of Query
    guest_pk: uuid.UUID | None = None  # `guest(id)`: the id, None when malformed


@dataclass
class OperationPlan:
    roots: list[RootPlan]


class Planner:
    """Plans one operation for one caller; `executor` is graphql-core's, for field collection
    (fragments, @skip/@include) and argument coercion exactly as execution does them."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.ctx: Context = executor.context_value
        self.strawberry = executor.schema._strawberry_schema

    def _permit(self, parent: GraphQLObjectType, name: str) -> None:
        definition = parent.fields[name].extensions.get("strawberry-definition")
        for permission in getattr(definition, "permission_classes", ()):
            rule = getattr(permission, "rule", None)
            if rule is None:
                raise Unsupported(f"{parent.name}.{name}: a permission without a rule")
            try:
                check(self.ctx, rule)
            except ApiError as refused:
                raise Unsupported("refused: the resolvers answer it as always") from refused

    def _arguments(self, parent: GraphQLObjectType, name: str, details: FieldDetailsList) -> dict[str, Any]:
        first = details[0]
        definition = parent.fields[name]
        try:
            raw = get_argument_values(
                definition,
                first.node,
                self.executor.variable_values,
                first.fragment_variable_values,
                self.executor.hide_suggestions,
            )
        except GraphQLError as error:
            raise Unsupported("bad arguments") from error
        strawberry_field = definition.extensions["strawberry-definition"]
        return convert_arguments(
            raw,
            strawberry_field.arguments,
            scalar_registry=self.strawberry.schema_converter.scalar_registry,
            config=self.strawberry.config,
        )

    def _subfields(self, parent: GraphQLObjectType, details: FieldDetailsList) -> dict[str, FieldDetailsList]:
        grouped: dict[str, FieldDetailsList] = self.executor.collect_subfields(parent, details)[0]
        return grouped

    def object_plan(self, type_: GraphQLObjectType, details: FieldDetailsList) -> ObjectPlan:
        spec = TYPES.get(type_.name)
        if spec is None:
            raise Unsupported(type_.name)
        plan = ObjectPlan(type_.name)
        for key, group in self._subfields(type_, details).items():
            name = group[0].node.name.value
            if name == "__typename":
                plan.fields.append(Selected(key, type_.name, None, group, None))
                continue
            chosen = spec.fields.get(name)
            if chosen is None or type_.fields[name].args:
                raise Unsupported(f"{type_.name}.{name}")
            self._permit(type_, name)
            sub = None
            if isinstance(chosen, Child | Embedded):
                child_type = get_named_type(type_.fields[name].type)
                assert isinstance(child_type, GraphQLObjectType)
                sub = self.object_plan(child_type, group)
            plan.fields.append(Selected(key, chosen, sub, group, type_.fields[name].type))
        return plan

    async def connection_plan(
        self, type_: GraphQLObjectType, details: FieldDetailsList, arguments: dict[str, Any]
    ) -> ConnectionPlan:
        fields: list[tuple[str, str, Any]] = []
        for key, group in self._subfields(type_, details).items():
            name = group[0].node.name.value
            if name == "edges":
                edge_type = get_named_type(type_.fields[name].type)
                assert isinstance(edge_type, GraphQLObjectType)
                edge: list[tuple[str, str, ObjectPlan | str]] = []
                for edge_key, edge_group in self._subfields(edge_type, group).items():
                    edge_name = edge_group[0].node.name.value
                    node_plan: ObjectPlan | str = edge_type.name
                    if edge_name == "node":
                        node_type = get_named_type(edge_type.fields["node"].type)
                        assert isinstance(node_type, GraphQLObjectType)
                        node_plan = self.object_plan(node_type, edge_group)
                    edge.append((edge_key, edge_name, node_plan))
                fields.append((key, name, edge))
            elif name == "pageInfo":
                info_type = get_named_type(type_.fields[name].type)
                assert isinstance(info_type, GraphQLObjectType)
                picked = [
                    (info_key, info_group[0].node.name.value, info_type.name)
                    for info_key, info_group in self._subfields(info_type, group).items()
                ]
                fields.append((key, name, picked))
            elif name in ("totalCount", "__typename"):
                fields.append((key, name, type_.name))
            else:
                raise Unsupported(f"{type_.name}.{name}")
        try:
            listing = await guest_listing(
                self.ctx,
                search=arguments["search"],
                order=arguments["order_by"] or GuestOrder(),
                filter_=arguments["filter"],
            )
            page, size = page_query(
                query=listing.query, sort=listing.sort, first=arguments["first"], after=arguments["after"]
            )
        except ApiError as refused:
            raise Unsupported("bad arguments: the resolvers answer it as always") from refused
        return ConnectionPlan(listing, page, size, arguments["after"] is not None, fields)

    async def plan(self, root_type: GraphQLObjectType, grouped: dict[str, FieldDetailsList]) -> OperationPlan:
        names = {details[0].node.name.value for details in grouped.values()}
        if not isinstance(self.ctx, Context) or names <= {"__typename"}:
            raise Unsupported("nothing to read from the database")
        roots: list[RootPlan] = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                roots.append(RootPlan(key, name, details, None, None))
                continue
            if name not in ("guest", "guests"):
                raise Unsupported(f"Query.{name}")
            self._permit(root_type, name)
            arguments = self._arguments(root_type, name, details)
            return_type = root_type.fields[name].type
            named = get_named_type(return_type)
            assert isinstance(named, GraphQLObjectType)
            if name == "guest":
                body: ObjectPlan | ConnectionPlan = self.object_plan(named, details)
                pk = decode_id("Guest", arguments["id"])
                roots.append(RootPlan(key, name, details, return_type, body, guest_pk=pk))
            else:
                assert isinstance(return_type, GraphQLNonNull)
                body = await self.connection_plan(named, details, arguments)
                roots.append(RootPlan(key, name, details, return_type, body))
        return OperationPlan(roots)
