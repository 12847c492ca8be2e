"""Request limits checked before graphql-core's own validation rules and before any resolver:
fragment spreads, depth, aliases and an estimated cost where list fields cost by their page size.

A hostile document can make naive checks exponential (each fragment spreading the next one twice
doubles the work per level) and some standard rules quadratic (field merging). So the document is
measured in one pass that reads every selection once: each definition (operation or fragment) is
summarised on its own, with the fragments it spreads and where, and the summaries are then
combined fragment by fragment, each fragment's totals computed once. Within these limits the
standard rules run on a document of bounded size and shape."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

from hospes.resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from hospes.schema.errors import ErrorCode
from hospes.settings import Settings

# A nested list without `first` (Guest.bookings, Booking.payments…) is costed at this many items.
NESTED_LIST_ESTIMATE = 10


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_fragment_spreads: int
    max_cost: int
    field_merging_budget: int  # graphql-core's units; enforced by schema/validation.py

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_fragment_spreads=settings.graphql_max_fragment_spreads,
            max_cost=settings.graphql_max_cost,
            field_merging_budget=settings.graphql_field_merging_budget,
        )


@dataclass(frozen=True)
class OperationMeasure:
    node: OperationDefinitionNode
    depth: int  # most fields enclosing one field, fragments expanded; introspection not counted
    cost: int


@dataclass(frozen=True)
class DocumentMeasure:
    operations: tuple[OperationMeasure, ...]
    aliases: int  # over all operations, a fragment's aliases counted at each spread
    fragment_spreads: int  # as written in the document
    selections_read: int  # the work done: every selection of the document read once


@dataclass(frozen=True)
class _Spread:
    name: str
    level: int | None  # fields enclosing the spread; None inside an introspection field
    weight: int  # the page sizes multiplied above the spread; 0 where nothing is costed


@dataclass
class _Summary:
    """One definition on its own: its fields, and the fragments it spreads, not yet expanded."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0
    spreads: list[_Spread] = field(default_factory=list)


@dataclass(frozen=True)
class _Totals:
    depth: int
    aliases: int
    cost: int


_NONE = _Totals(depth=0, aliases=0, cost=0)


def _page_size(node: FieldNode) -> int:
    """The `first` a connection field asks for; a variable counts as the maximum."""
    for argument in node.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(0, min(int(argument.value.value), MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _multiplier(node: FieldNode, definition: Any, owner: GraphQLObjectType | GraphQLInterfaceType) -> int:
    """How many times a field's selection is paid for."""
    if "first" in definition.args:
        return _page_size(node)
    if node.name.value == "edges" and owner.name.endswith("Connection"):
        return 1  # the connection's page size already counted its edges
    if _is_list(definition.type):
        return NESTED_LIST_ESTIMATE
    return 1


@dataclass(frozen=True)
class _Frame:
    """A selection set waiting to be read, with what its position means."""

    selections: SelectionSetNode
    owner: Any  # the type its fields belong to; None where unknown
    level: int | None  # fields enclosing it; None below an introspection field (depth not counted)
    weight: int  # page sizes multiplied above it; 0 below an unknown field (nothing more costed)


class _Reader:
    """Summarises definitions; counts the selections it reads."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.selections_read = 0

    def summarise(self, selection_set: SelectionSetNode, owner: Any) -> _Summary:
        summary = _Summary()
        stack = [_Frame(selection_set, owner, level=0, weight=1)]
        while stack:
            frame = stack.pop()
            for selection in frame.selections.selections:
                self.selections_read += 1
                if isinstance(selection, FieldNode):
                    child = self._field(selection, frame=frame, summary=summary)
                    if child is not None:
                        stack.append(child)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = self.schema.get_type(condition.name.value) if condition else None
                    stack.append(
                        _Frame(selection.selection_set, target or frame.owner, frame.level, frame.weight)
                    )
                elif isinstance(selection, FragmentSpreadNode):
                    summary.spreads.append(_Spread(selection.name.value, frame.level, frame.weight))
        return summary

    def _field(self, node: FieldNode, *, frame: _Frame, summary: _Summary) -> _Frame | None:
        """Counts the field; its selection set as a frame to read, if it has one."""
        if node.alias is not None:
            summary.aliases += 1
        if frame.level is not None:
            summary.depth = max(summary.depth, frame.level)
        summary.cost += frame.weight
        if node.selection_set is None:
            return None
        owner = frame.owner
        definition = None
        if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
            definition = owner.fields.get(node.name.value)
        child_type, child_weight = None, 0
        if definition is not None:
            child_type = get_named_type(definition.type)
            child_weight = frame.weight * _multiplier(node, definition, owner)
        # Introspection fields do not count towards depth (as in strawberry's depth limiter).
        child_level = None if frame.level is None or node.name.value.startswith("__") else frame.level + 1
        return _Frame(node.selection_set, child_type, child_level, child_weight)


def _combine(summary: _Summary, totals: dict[str, _Totals]) -> _Totals:
    depth, aliases, cost = summary.depth, summary.aliases, summary.cost
    for spread in summary.spreads:
        # Unknown fragments and the spread closing a cycle add nothing; other rules refuse them.
        inner = totals.get(spread.name, _NONE)
        aliases += inner.aliases
        cost += spread.weight * inner.cost
        if spread.level is not None:
            depth = max(depth, spread.level + inner.depth)
    return _Totals(depth=depth, aliases=aliases, cost=cost)


def _fragment_order(summaries: dict[str, _Summary]) -> Iterator[str]:
    """Fragment names, each after the fragments it spreads (a spread closing a cycle is skipped).
    Iterative: a chain of fragments can be longer than Python's recursion limit."""
    done: set[str] = set()
    for root, summary in summaries.items():
        if root in done:
            continue
        path = [(root, iter(summary.spreads))]
        on_path = {root}
        while path:
            name, spreads = path[-1]
            for spread in spreads:
                if spread.name in summaries and spread.name not in done and spread.name not in on_path:
                    path.append((spread.name, iter(summaries[spread.name].spreads)))
                    on_path.add(spread.name)
                    break
            else:
                path.pop()
                on_path.discard(name)
                done.add(name)
                yield name


def measure(document: DocumentNode, schema: GraphQLSchema) -> DocumentMeasure:
    """Depth, aliases, spreads and cost of every operation in `document`, in time linear in its
    size: every selection is read once and every fragment's totals are computed once."""
    reader = _Reader(schema)
    fragments: dict[str, _Summary] = {}
    operations: list[tuple[OperationDefinitionNode, _Summary]] = []
    spreads = 0
    for definition in document.definitions:
        if not isinstance(definition, ExecutableDefinitionNode):
            continue  # type definitions in a request are refused by the standard rules
        if isinstance(definition, FragmentDefinitionNode):
            parent = schema.get_type(definition.type_condition.name.value)
            summary = reader.summarise(definition.selection_set, parent)
            fragments.setdefault(definition.name.value, summary)
        elif isinstance(definition, OperationDefinitionNode):
            summary = reader.summarise(definition.selection_set, schema.get_root_type(definition.operation))
            operations.append((definition, summary))
        spreads += len(summary.spreads)
    totals: dict[str, _Totals] = {}
    for name in _fragment_order(fragments):
        totals[name] = _combine(fragments[name], totals)
    measured = [(node, _combine(summary, totals)) for node, summary in operations]
    return DocumentMeasure(
        operations=tuple(OperationMeasure(node=node, depth=t.depth, cost=t.cost) for node, t in measured),
        aliases=sum(t.aliases for _, t in measured),
        fragment_spreads=spreads,
        selections_read=reader.selections_read,
    )


def _too_complex(message: str, nodes: Any = None, **extensions: object) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, **extensions})


def refusals(document: DocumentMeasure, limits: Limits) -> list[GraphQLError]:
    """Why the measured document is over the limits, if it is; each limit reported once."""
    if document.fragment_spreads > limits.max_fragment_spreads:
        return [
            _too_complex(
                f"{document.fragment_spreads} fragment spreads found. Allowed: {limits.max_fragment_spreads}."
            )
        ]
    errors = [
        _too_complex(
            f"'{operation.node.name.value if operation.node.name else 'anonymous'}' exceeds "
            f"maximum operation depth of {limits.max_depth}.",
            operation.node,
        )
        for operation in document.operations
        if operation.depth > limits.max_depth
    ]
    if document.aliases > limits.max_aliases:
        errors.append(_too_complex(f"{document.aliases} aliases found. Allowed: {limits.max_aliases}."))
    errors.extend(
        _too_complex(
            f"The query costs {operation.cost}, over the budget of {limits.max_cost}; ask for fewer items.",
            operation.node,
            cost=operation.cost,
            budget=limits.max_cost,
        )
        for operation in document.operations
        if operation.cost > limits.max_cost
    )
    return errors
