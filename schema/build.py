"""The one Schema object, with its limits and error policy."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.access import AccessMutation, AccessQuery
from schema.accounts import AccountMutation, AccountQuery
from schema.company import CompanyMutation, CompanyQuery
from schema.extensions import ErrorPolicy
from schema.history import BookingEvent, MessageEvent, PaymentEvent, ServiceRequestEvent
from schema.limits import IntrospectionPolicy, RefuseAliasFloods, cost_rule
from schema.messaging import MessagingMutation, MessagingQuery
from schema.mutation import Mutation
from schema.portal import PortalMutation, PortalQuery
from schema.query import Query
from settings import Settings


class HospesSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are answers, not incidents; `ErrorPolicy` logs the unexpected ones."""


# Each lane of the API keeps its root fields in its own module; the roots are their union.
QUERIES: tuple[type, ...] = (
    Query,
    CompanyQuery,
    AccountQuery,
    PortalQuery,
    AccessQuery,
    MessagingQuery,
)
MUTATIONS: tuple[type, ...] = (
    Mutation,
    CompanyMutation,
    AccountMutation,
    PortalMutation,
    AccessMutation,
    MessagingMutation,
)


def build_schema(settings: Settings) -> strawberry.Schema:
    alias_rules = list(MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules)
    rules = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *alias_rules,
        cost_rule(settings.graphql_max_cost),
    ]
    return HospesSchema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        # Implementations reached only through the HistoryEvent interface.
        types=[BookingEvent, MessageEvent, ServiceRequestEvent, PaymentEvent],
        config=StrawberryConfig(
            auto_camel_case=True, batching_config={"max_operations": settings.graphql_max_batch}
        ),
        # Factories, not instances: an extension holds per-operation state.
        # Factories, not instances: an extension holds per-operation state. The validation rules
        # are built once, so ValidationCache (keyed by document and rule classes) hits.
        extensions=[
            ErrorPolicy,
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: AddValidationRules(rules),
            lambda: IntrospectionPolicy(development=settings.is_development),
            lambda: RefuseAliasFloods(max_aliases=settings.graphql_max_aliases, alias_rules=alias_rules),
            lambda: ValidationCache(maxsize=512),
        ],
    )
