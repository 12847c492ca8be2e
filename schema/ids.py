"""Opaque, typed IDs: base64url of `<Type>:` + the row's 16 UUID bytes. Clients treat them as
strings; the server refuses an ID of the wrong type as if the row did not exist."""

from __future__ import annotations

import base64
import binascii
import uuid


def encode_id(type_name: str, pk: uuid.UUID) -> str:
    raw = type_name.encode() + b":" + pk.bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_id(type_name: str, value: str) -> uuid.UUID | None:
    """The UUID inside `value` if it is a well-formed ID of `type_name`, else None."""
    if not value or len(value) > 64:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    prefix = type_name.encode() + b":"
    if not raw.startswith(prefix) or len(raw) != len(prefix) + 16:
        return None
    return uuid.UUID(bytes=raw[len(prefix) :])
