"""Schema extensions: the error policy that gives every error a contract code and keeps
internals out of responses."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from hospes.schema.errors import TIMED_OUT, UNAVAILABLE, ApiError, ErrorCode
from hospes.tenancy.outages import is_timeout, is_unavailable

log = logging.getLogger("hospes.graphql")

# The message of graphql-core's token limit, which carries no code of its own (our other limits,
# schema/limits.py and schema/validation.py, name theirs).
_TOO_COMPLEX_MARKERS = ("tokens. Parsing aborted",)


class ErrorPolicy(SchemaExtension):
    """Codes every error: ApiErrors keep theirs; request errors (syntax, validation, variables)
    become BAD_USER_INPUT or QUERY_TOO_COMPLEX; a statement timeout is TIMEOUT and an unreachable
    PostgreSQL or Redis UNAVAILABLE; anything else is logged with the request id and answered as
    INTERNAL with no detail."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._coded(error) for error in result.errors]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ApiError):
            return error
        if error.path is None:
            if (error.extensions or {}).get("code"):
                return error  # our own validation rules name their code
            code = ErrorCode.BAD_USER_INPUT
            if original is None and any(marker in error.message for marker in _TOO_COMPLEX_MARKERS):
                code = ErrorCode.QUERY_TOO_COMPLEX
            elif "introspection has been disabled" in error.message:
                code = ErrorCode.FORBIDDEN
            error.extensions = {**(error.extensions or {}), "code": code.value}
            return error
        request_id = getattr(self.execution_context.context, "request_id", None)
        for matches, code, message in (
            (is_timeout, ErrorCode.TIMEOUT, TIMED_OUT),
            (is_unavailable, ErrorCode.UNAVAILABLE, UNAVAILABLE),
        ):
            if original is not None and matches(original):
                # The error's type only: SQLAlchemy's message carries the statement's parameters.
                where = ".".join(map(str, error.path))
                log.warning("%s in %s [request %s]: %s", code, where, request_id, type(original).__name__)
                return GraphQLError(
                    message,
                    nodes=error.nodes,
                    path=error.path,
                    extensions={"code": code.value, "requestId": request_id},
                )
        log.error(
            "unexpected error in %s [request %s]",
            ".".join(map(str, error.path)),
            request_id,
            exc_info=original,
        )
        return GraphQLError(
            "Internal error.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.INTERNAL.value, "requestId": request_id},
        )
