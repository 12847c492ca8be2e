"""What an answer says about writes: an operation with an unexpected error is rolled back whole,
and its answer must not show anything as written."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.types import ExecutionResult

from schema.errors import ErrorCode

# Codes of failures the client could not foresee; any of them rolls the whole request back.
UNEXPECTED_CODES = frozenset({ErrorCode.INTERNAL.value})


def _is_unexpected(error: GraphQLError) -> bool:
    return (error.extensions or {}).get("code") in UNEXPECTED_CODES


def failed_unexpectedly(result: object) -> bool:
    """Whether `result` (an operation's result, as coded by the ErrorPolicy) has an unexpected error."""
    return isinstance(result, ExecutionResult) and any(map(_is_unexpected, result.errors or []))


def report_nothing_written(result: object, *, drop_data: bool, request_id: str) -> None:
    """Rewrite `result` of a rolled-back request: its unexpected errors say `written: false`, and
    with `drop_data` (something had been written, then undone) its data is dropped and it carries
    such an error even if it failed in nothing itself (a batch's other operations)."""
    if not isinstance(result, ExecutionResult):
        return
    errors = list(result.errors or [])
    if drop_data:
        result.data = None
        if not any(map(_is_unexpected, errors)):
            errors.append(
                GraphQLError(
                    "Internal error in another operation of this request; nothing was written.",
                    extensions={"code": ErrorCode.INTERNAL.value, "requestId": request_id},
                )
            )
    for error in errors:
        if _is_unexpected(error):
            error.extensions = {**(error.extensions or {}), "written": False}
    result.errors = errors
