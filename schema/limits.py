"""Request limits that run during validation, before any resolver: a cost budget where list
fields cost by their page size, and introspection only for staff (or in development)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tenancy.principal import PrincipalKind

# A nested list without `first` (Guest.bookings, Booking.payments…) is costed at this many items.
NESTED_LIST_ESTIMATE = 10
TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def _page_size(field: FieldNode) -> int:
    """The `first` a connection field asks for; a variable counts as the maximum."""
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(0, min(int(argument.value.value), MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def cost_rule(budget: int) -> type[ValidationRule]:
    """A validation rule refusing operations whose estimated cost exceeds `budget`."""

    class CostLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._seen_fragments: set[str] = set()

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            if root is None:
                return
            cost = self._selection_cost(node.selection_set, root, depth=0)
            if cost > budget:
                self.report_error(
                    GraphQLError(
                        f"The query costs {cost}, over the budget of {budget}; ask for fewer items.",
                        node,
                        extensions={"code": TOO_COMPLEX, "cost": cost, "budget": budget},
                    )
                )

        def _fields(self, selection_set: SelectionSetNode, parent: Any) -> Iterator[tuple[FieldNode, Any]]:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    yield selection, parent
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = self.context.schema.get_type(condition.name.value) if condition else parent
                    yield from self._fields(selection.selection_set, target or parent)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.context.get_fragment(selection.name.value)
                    if fragment is None or selection.name.value in self._seen_fragments:
                        continue  # unknown or cyclic fragments are other rules' errors
                    self._seen_fragments.add(selection.name.value)
                    target = self.context.schema.get_type(fragment.type_condition.name.value)
                    yield from self._fields(fragment.selection_set, target or parent)
                    self._seen_fragments.discard(selection.name.value)

        def _selection_cost(self, selection_set: SelectionSetNode, parent: Any, *, depth: int) -> int:
            if depth > 64:  # the depth limiter refuses these; do not recurse without end
                return budget + 1
            total = 0
            for field, owner in self._fields(selection_set, parent):
                if not isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
                    total += 1
                    continue
                definition = owner.fields.get(field.name.value)
                if definition is None:
                    total += 1
                    continue
                child = 0
                if field.selection_set is not None:
                    child = self._selection_cost(
                        field.selection_set, get_named_type(definition.type), depth=depth + 1
                    )
                if "first" in definition.args:
                    multiplier = _page_size(field)
                elif field.name.value == "edges" and owner.name.endswith("Connection"):
                    multiplier = 1  # the connection's page size already counted its edges
                elif _is_list(definition.type):
                    multiplier = NESTED_LIST_ESTIMATE
                else:
                    multiplier = 1
                total += 1 + multiplier * child
                if total > budget:
                    return total
            return total

    return CostLimit


class IntrospectionPolicy(SchemaExtension):
    """Introspection (`__schema`, `__type`) only for staff, or for anyone in development."""

    def __init__(self, *, development: bool) -> None:
        self.development = development

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context.context
        principal = getattr(context, "principal", None)
        staff = principal is not None and principal.kind is PrincipalKind.STAFF
        if not (self.development or staff):
            rules = tuple(self.execution_context.validation_rules)
            self.execution_context.validation_rules = (*rules, NoSchemaIntrospectionCustomRule)
        yield


def alias_count(document: Any) -> int:
    """How many aliased fields a parsed document holds (a cheap walk, no validation)."""
    stack = list(getattr(document, "definitions", ()))
    count = 0
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode) and node.alias is not None:
            count += 1
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return count


class RefuseAliasFloods(SchemaExtension):
    """A document with too many aliases is refused by the alias rule alone: the other validation
    rules (field merging is quadratic in same-named fields) never see it."""

    def __init__(self, *, max_aliases: int, alias_rules: list[type[ASTValidationRule]]) -> None:
        self.max_aliases = max_aliases
        self.alias_rules = tuple(alias_rules)

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if document is not None and alias_count(document) > self.max_aliases:
            self.execution_context.validation_rules = self.alias_rules
        yield


_STRINGS = re.compile(r'"""(?:.|\n)*?"""|"(?:\\.|[^"\\])*"')
_ARGUMENTS = re.compile(r"\([^()]*\)")
_ALIAS = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\s*:")


def alias_estimate(query: str) -> int:
    """Aliases in a document, counted on its text before parsing: outside strings and argument
    lists, a `name:` can only be an alias. Parsing a flood of aliases costs far more than this."""
    return len(_ALIAS.findall(_ARGUMENTS.sub("", _STRINGS.sub("", query))))
