"""How a service refuses: a `Rejection` holding one `UserError` per problem with the input. Plain
Python; `schema/errors.py` registers the two value types with Strawberry, so a rejection is the
payload's `errors` as it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


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


@dataclass
class UserError:
    """One problem: the input field in camelCase (None for the whole input), a code, a message."""

    field: str | None
    code: UserErrorCode
    message: str


@dataclass
class Rejection:
    """A mutation's answer when its input is refused: the payload's `errors`, nothing written."""

    errors: list[UserError]


@dataclass
class Problems:
    """Collects the validation problems of one input."""

    errors: list[UserError] = field(default_factory=list)

    def add(self, field_name: str | None, code: UserErrorCode, message: str) -> None:
        self.errors.append(UserError(field=field_name, code=code, message=message))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def rejection(self) -> Rejection:
        return Rejection(list(self.errors))


def rejected(field_name: str | None, code: UserErrorCode, message: str) -> Rejection:
    return Rejection([UserError(field=field_name, code=code, message=message)])
