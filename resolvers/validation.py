"""Input checks for the GraphQL entry points: the domain's own checks (`services/validation.py`)
and opaque IDs, which only the API decodes."""

from __future__ import annotations

import uuid

from hospes.schema.ids import decode_id
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.services.validation import (
    amount,
    count,
    country,
    currency,
    email,
    language,
    phone,
    stay_dates,
    text,
    timezone,
)

# Resolvers call every check through this module (`check.text`, `check.object_id`).
__all__ = [
    "Problems",
    "Rejection",
    "amount",
    "count",
    "country",
    "currency",
    "email",
    "language",
    "object_id",
    "phone",
    "rejected",
    "stay_dates",
    "text",
    "timezone",
]


def object_id(problems: Problems, field_name: str, type_name: str, value: str | None) -> uuid.UUID | None:
    """The row id inside an opaque ID; a malformed ID is reported like a missing row (NOT_FOUND)."""
    if value is None:
        problems.add(field_name, UserErrorCode.REQUIRED, "Must not be empty.")
        return None
    pk = decode_id(type_name, value)
    if pk is None:
        problems.add(field_name, UserErrorCode.NOT_FOUND, f"{type_name} not found.")
    return pk
