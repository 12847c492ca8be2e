"""The two kinds of errors of the contract: `UserError` in mutation payloads for validation
problems, and top-level GraphQL errors with `extensions.code` for everything else."""

from __future__ import annotations

from enum import Enum, StrEnum

import strawberry
from graphql import GraphQLError


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    TIMEOUT = "TIMEOUT"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


class ApiError(GraphQLError):
    """An expected failure whose message and code are safe to show the caller."""

    def __init__(self, code: ErrorCode, message: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})
        self.code = code


def unauthenticated(message: str = "Authentication required.") -> ApiError:
    return ApiError(ErrorCode.UNAUTHENTICATED, message)


def forbidden(message: str = "Not allowed.") -> ApiError:
    return ApiError(ErrorCode.FORBIDDEN, message)


def not_found(what: str = "Object") -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"{what} not found.")


def bad_input(message: str) -> ApiError:
    return ApiError(ErrorCode.BAD_USER_INPUT, message)


# Answers for PostgreSQL or Redis failing the request; they name no host, port or driver message.
TIMED_OUT = "The request took too long and was stopped; nothing was written. Retry, or ask for less."
UNAVAILABLE = "The service is temporarily unavailable; retry shortly."


@strawberry.enum(description="Why a mutation input was refused.")
class UserErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    INVALID_STATE = "INVALID_STATE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    CONFLICT = "CONFLICT"


@strawberry.type(description="A validation problem with a mutation's input; nothing was written.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field, in camelCase, or null for the whole input."
    )
    code: UserErrorCode
    message: str
