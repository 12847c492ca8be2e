"""The one Schema object, with its limits and error policy."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from hospes.resolvers.compiled import ReadCompiler
from hospes.schema.access import AccessMutation, AccessQuery
from hospes.schema.accounts import AccountMutation, AccountQuery
from hospes.schema.extensions import ErrorPolicy
from hospes.schema.history import (
    BookingEvent,
    InquiryEvent,
    MessageEvent,
    PaymentEvent,
    ServiceRequestEvent,
)
from hospes.schema.inquiries import InquiryMutation, InquiryQuery
from hospes.schema.inquiry_history import (
    InquiryChangeItem,
    InquiryMessageItem,
    InquiryQuoteItem,
    InquiryReminderItem,
)
from hospes.schema.inquiry_outbound import InquiryOutboundMutation
from hospes.schema.limits import Limits
from hospes.schema.messaging import MessagingMutation, MessagingQuery
from hospes.schema.mutation import Mutation
from hospes.schema.portal import PortalMutation, PortalQuery
from hospes.schema.query import Query
from hospes.schema.tenant_settings import SettingsMutation, SettingsQuery
from hospes.schema.validation import RequestValidation, SchemaVisibility, execution_class
from hospes.settings import Settings


class HospesSchema(strawberry.Schema):
    read_compiler: ReadCompiler  # the switch and its counts, for the tests and the bench

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are answers, not incidents; `ErrorPolicy` logs the unexpected ones."""


# Each lane of the API keeps its root fields in its own module; the roots are their union.
QUERIES: tuple[type, ...] = (
    Query,
    SettingsQuery,
    AccountQuery,
    PortalQuery,
    AccessQuery,
    MessagingQuery,
    InquiryQuery,
)
MUTATIONS: tuple[type, ...] = (
    Mutation,
    SettingsMutation,
    AccountMutation,
    PortalMutation,
    AccessMutation,
    MessagingMutation,
    InquiryMutation,
    InquiryOutboundMutation,
)


def build_schema(settings: Settings) -> HospesSchema:
    limits = Limits.from_settings(settings)
    visibility = SchemaVisibility(development=settings.is_development)
    compiler = ReadCompiler(enabled=settings.read_compiler)
    schema = HospesSchema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        # Implementations reached only through the HistoryEvent and InquiryHistoryItem interfaces.
        types=[
            BookingEvent,
            MessageEvent,
            ServiceRequestEvent,
            PaymentEvent,
            InquiryEvent,
            InquiryChangeItem,
            InquiryMessageItem,
            InquiryQuoteItem,
            InquiryReminderItem,
        ],
        config=StrawberryConfig(
            auto_camel_case=True, batching_config={"max_operations": settings.graphql_max_batch}
        ),
        execution_context_class=execution_class(visibility, compiler),
        # Factories, not instances: an extension holds per-operation state.
        extensions=[
            ErrorPolicy,
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: RequestValidation(limits=limits, visibility=visibility),
        ],
    )
    schema.read_compiler = compiler
    return schema
