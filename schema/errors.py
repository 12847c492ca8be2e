"""The two kinds of errors of the contract: `UserError` in mutation payloads for validation
problems, and top-level GraphQL errors with `extensions.code` for everything else."""

from __future__ import annotations

from enum import StrEnum

import strawberry
from graphql import GraphQLError

from hospes.services.rejections import UserError, UserErrorCode

# The payload error types are re-exported for the API modules that name them.
__all__ = [
    "TIMED_OUT",
    "UNAVAILABLE",
    "ApiError",
    "ErrorCode",
    "UserError",
    "UserErrorCode",
    "bad_input",
    "forbidden",
    "not_found",
    "unauthenticated",
]


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


# The domain's refusal values (plain Python, `services/rejections.py`) are the GraphQL types as they are.
strawberry.enum(UserErrorCode, description="Why a mutation input was refused.")
strawberry.type(UserError, description="A validation problem with a mutation's input; nothing was written.")
# Descriptions belong to the API, so the one on `field` is set here rather than in the domain class.
UserError.__strawberry_definition__.get_field("field").description = (  # type: ignore[attr-defined]
    "The input field, in camelCase, or null for the whole input."
)
