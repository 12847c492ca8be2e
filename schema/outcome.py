"""What an answer says about writes. The answer and the database agree: an operation with an
unexpected error is rolled back whole, and so is one whose answer could not show what it wrote
(a top-level error on a mutation field nulls all of `data`); its answer then says nothing was
written."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError
from strawberry.types import ExecutionResult

from hospes.schema.errors import ErrorCode

# Codes of failures the client could not foresee; any of them rolls the whole request back.
UNEXPECTED_CODES = frozenset({ErrorCode.INTERNAL.value, ErrorCode.TIMEOUT.value, ErrorCode.UNAVAILABLE.value})


def _is_unexpected(error: GraphQLError) -> bool:
    return (error.extensions or {}).get("code") in UNEXPECTED_CODES


def failed_unexpectedly(result: object) -> bool:
    """Whether `result` (an operation's result, as coded by the ErrorPolicy) has an unexpected error."""
    return isinstance(result, ExecutionResult) and any(map(_is_unexpected, result.errors or []))


def hides_writes(result: object, *, wrote: bool) -> bool:
    """Whether `result` answers `data: null` although a mutation of the request wrote: a top-level
    error on a mutation field (payloads are non-null) takes every other payload with it."""
    return wrote and isinstance(result, ExecutionResult) and result.data is None and bool(result.errors)


def must_roll_back(results: Sequence[object], *, wrote: bool) -> bool:
    """Whether the request's transaction must be undone for its answer to be true."""
    return any(failed_unexpectedly(result) or hides_writes(result, wrote=wrote) for result in results)


def report_nothing_written(result: object, *, drop_data: bool, request_id: str) -> None:
    """Rewrite `result` of a rolled-back request: its errors say `written: false`, and
    with `drop_data` (something had been written, then undone) its data is dropped and it carries
    such an error even if it failed in nothing itself (a batch's other operations)."""
    if not isinstance(result, ExecutionResult):
        return
    errors = list(result.errors or [])
    if drop_data:
        result.data = None
        if not errors:
            errors.append(
                GraphQLError(
                    "Another operation of this request failed; nothing was written.",
                    extensions={"code": ErrorCode.INTERNAL.value, "requestId": request_id},
                )
            )
    for error in errors:
        error.extensions = {**(error.extensions or {}), "written": False}
    result.errors = errors


def report_failed_commit(result: object, *, code: ErrorCode, message: str, request_id: str) -> None:
    """Rewrite `result` of a request whose commit failed (so nothing was written): no data, one
    error with `code` saying `written: false`."""
    if not isinstance(result, ExecutionResult):
        return
    result.data = None
    result.errors = [
        GraphQLError(message, extensions={"code": code.value, "requestId": request_id, "written": False})
    ]


def has_code(results: Sequence[object], code: ErrorCode) -> bool:
    """Whether any of `results` carries an error with `code`."""
    return any(
        (error.extensions or {}).get("code") == code.value
        for result in results
        if isinstance(result, ExecutionResult)
        for error in result.errors or []
    )
