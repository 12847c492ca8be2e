"""How each request is parsed and validated, cheapest refusal first: the document's limits (one
linear pass, schema/limits.py), then graphql-core's rules with ours (safe to run within those
limits; field merging, quadratic, has a work budget), then the text in its variables. A large
document is parsed and validated off the event loop. What a caller learns about the schema follows
one policy: introspection and "Did you mean…" suggestions only for staff, or for anyone in
development."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, ClassVar

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.validation import NoSchemaIntrospectionCustomRule, OverlappingFieldsCanBeMergedRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from hospes.resolvers.compiled import ReadCompiler
from hospes.schema.errors import ErrorCode
from hospes.schema.limits import Limits, measure, refusals
from hospes.schema.text import StorableTextRule, variable_text_errors
from hospes.tenancy.principal import PrincipalKind


@dataclass(frozen=True)
class SchemaVisibility:
    """Who may learn the schema's shape from a response."""

    development: bool

    def allows(self, context: Any) -> bool:
        principal = getattr(context, "principal", None)
        return self.development or (principal is not None and principal.kind is PrincipalKind.STAFF)


class BoundedFieldMerging(OverlappingFieldsCanBeMergedRule):
    """graphql-core's field-merging rule, quadratic in fields sharing a response name, with a
    budget of its own per document (graphql-core's module-wide default, 500,000 units, allows
    seconds of work; it is left alone): spent, the document is refused as too complex and the
    rule stops; the other rules go on."""

    budget: ClassVar[int] = 5_000  # units: comparing two fields costs 2

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = self.budget
        self.spent = False

    def enter_selection_set(
        self, selection_set: SelectionSetNode, _key: Any, parent: Any, *args: Any
    ) -> None:
        if self.spent:
            return
        try:
            super().enter_selection_set(selection_set, _key, parent, *args)
        except ValidationAbortedError:
            if self.rule_context.remaining_complexity_budget >= 0:
                raise  # the error limit, not our budget
            self.spent = True
            self.report_error(
                GraphQLError(
                    "Too many fields to merge; use fewer fields or fragments of the same name.",
                    selection_set,
                    extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value},
                )
            )


@lru_cache
def validation_rules(field_merging_budget: int) -> tuple[type[ASTValidationRule], ...]:
    """graphql-core's rules with field merging bounded, the two strawberry adds when it validates
    (we validate ourselves), and ours. The same tuple for the same budget: it keys the cache."""
    bounded = type("BoundedFieldMerging", (BoundedFieldMerging,), {"budget": field_merging_budget})
    return (
        *(bounded if rule is OverlappingFieldsCanBeMergedRule else rule for rule in specified_rules),
        MaybeNullValidationRule,
        OneOfInputValidationRule,
        StorableTextRule,
    )


@lru_cache(maxsize=512)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    # Keyed by the document's value: a client repeating its operations is validated once.
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


# A document longer than this is parsed and validated on a thread of its own. The work is linear
# (bounded by the token limit) yet can take tens of milliseconds; meanwhile the event loop serves
# other requests, waiting at most the interpreter's switch interval (5 ms) for the GIL. One thread:
# a flood of large documents queues there instead of taking turns with the loop.
OFF_LOOP_CHARS = 2_048
VALIDATION_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphql-validation")
# Stands in for a document whose parsing failed off the loop, so strawberry does not parse it
# again on the loop; the parse error is then reported as the validation's result.
_UNPARSED = parse("{ __typename }")


def _parsed(query: str, options: Mapping[str, Any]) -> DocumentNode | GraphQLError:
    try:
        return parse(query, **options)
    except GraphQLError as error:
        return error
    except Exception as error:  # as strawberry's own parsing step answers it
        return GraphQLError(str(error), original_error=error)


class RequestValidation(SchemaExtension):
    """Parsing of large documents and all validation, in place of strawberry's steps (each of
    which it skips when an extension has done it)."""

    def __init__(self, *, limits: Limits, visibility: SchemaVisibility) -> None:
        self.limits = limits
        self.visibility = visibility
        self.parse_error: GraphQLError | None = None

    def _off_loop(self) -> bool:
        # A long document, or a body long enough that walking its variables takes a while.
        request = getattr(self.execution_context.context, "request", None)
        declared = request.headers.get("content-length", "") if request is not None else ""
        body_bytes = int(declared) if declared.isdigit() else 0
        return max(len(self.execution_context.query or ""), body_bytes) > OFF_LOOP_CHARS

    async def on_parse(self) -> AsyncIterator[None]:
        execution = self.execution_context
        if execution.graphql_document is None and execution.query and self._off_loop():
            loop = asyncio.get_running_loop()
            parsed = await loop.run_in_executor(
                VALIDATION_THREAD, _parsed, execution.query, dict(execution.parse_options)
            )
            if isinstance(parsed, GraphQLError):
                self.parse_error, parsed = parsed, _UNPARSED
            execution.graphql_document = parsed
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if self.parse_error is not None:
            execution.pre_execution_errors = [self.parse_error]
        elif document is not None:  # else not parsed: strawberry reports why
            visible = self.visibility.allows(execution.context)
            check = partial(self._errors, document, visible=visible, variables=execution.variables)
            if self._off_loop():
                errors = await asyncio.get_running_loop().run_in_executor(VALIDATION_THREAD, check)
            else:
                errors = check()
            execution.pre_execution_errors = errors
        yield

    def _errors(
        self, document: DocumentNode, *, visible: bool, variables: Mapping[str, object] | None
    ) -> list[GraphQLError]:
        """Cheapest refusal first: the limits, then the rules, then the variables' text."""
        schema = self.execution_context.schema._schema
        errors = refusals(measure(document, schema), self.limits)
        if not errors:
            rules = validation_rules(self.limits.field_merging_budget)
            if not visible:
                rules = (*rules, NoSchemaIntrospectionCustomRule)
            errors = list(_validate(schema, document, rules, not visible))
        return errors or variable_text_errors(variables)


def execution_class(
    visibility: SchemaVisibility, compiler: ReadCompiler
) -> type[StrawberryGraphQLCoreExecutionContext]:
    """Strawberry's execution context, hiding suggestions from errors in variables (an unknown
    input field, a misspelt enum value) as validation hides them in the document, and handing
    query operations to the read compiler (which hands back what it does not compile)."""

    class Execution(StrawberryGraphQLCoreExecutionContext):
        @classmethod
        def build(
            cls,
            schema: GraphQLSchema,
            document: DocumentNode,
            root_value: Any = None,
            context_value: Any = None,
            *args: Any,
            **kwargs: Any,
        ) -> Any:
            kwargs["hide_suggestions"] = not visibility.allows(context_value)
            return super().build(schema, document, root_value, context_value, *args, **kwargs)

        def execute_root_grouped_field_set(
            self,
            root_type: GraphQLObjectType,
            root_value: Any,
            grouped_field_set: GroupedFieldSet,
            serially: bool,
            position_context: Any,
        ) -> Any:
            def resolve() -> Any:
                return super(Execution, self).execute_root_grouped_field_set(
                    root_type, root_value, grouped_field_set, serially, position_context
                )

            if not compiler.enabled or self.operation.operation is not OperationType.QUERY:
                return resolve()
            return compiler.execute(self, root_type, grouped_field_set, resolve)

    return Execution
