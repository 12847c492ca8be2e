"""Field encryption and blind indexes.

Envelope encryption: each tenant has AES-256-GCM data keys (one current, older ones kept for
reading) and an HMAC key for blind indexes, all stored in the tenant schema wrapped (AES-GCM) by
the master key from settings. A ciphertext names the data key version that sealed it, so rows
written under any version stay readable while `hospes keys rotate` re-encrypts them.

Ciphertext layout: b"\\x01" | key version (4 bytes, big endian) | nonce (12 bytes) | AES-GCM output.
The associated data binds a value to its column (`guest.email`), so a ciphertext copied into
another column fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = 1
_HEADER = struct.Struct(">BI")
_NONCE_BYTES = 12
KEY_BYTES = 32


class CryptoError(Exception):
    """A value or key could not be decrypted: wrong master key, tampering, or a missing key version."""


def parse_master_key(encoded: str) -> bytes:
    """Decode `HOSPES_MASTER_KEY` (base64url of 32 random bytes)."""
    try:
        raw = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
    except (binascii.Error, ValueError) as error:
        raise CryptoError("the master key is not base64url") from error
    if len(raw) != KEY_BYTES:
        raise CryptoError(f"the master key must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@dataclass(frozen=True)
class MasterKey:
    """Wraps and unwraps tenant keys. The context (schema, purpose, version) is bound as
    associated data, so a wrapped key cannot be moved to another tenant or role."""

    raw: bytes = field(repr=False)

    def wrap(self, key: bytes, *, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self.raw).encrypt(nonce, key, context.encode())

    def unwrap(self, wrapped: bytes, *, context: str) -> bytes:
        try:
            return AESGCM(self.raw).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], context.encode())
        except InvalidTag as error:
            raise CryptoError(f"cannot unwrap {context}: wrong master key or tampered key") from error


@dataclass(frozen=True)
class TenantKeys:
    """One tenant's unwrapped keys: data keys by version (the highest is current) and the
    blind-index key."""

    data_keys: dict[int, bytes] = field(repr=False)
    index_key: bytes = field(repr=False)

    @property
    def current_version(self) -> int:
        return max(self.data_keys)

    def encrypt(self, value: str, *, column: str) -> bytes:
        version = self.current_version
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.data_keys[version]).encrypt(nonce, value.encode(), column.encode())
        return _HEADER.pack(FORMAT, version) + nonce + sealed

    def decrypt(self, blob: bytes, *, column: str) -> str:
        key = self.data_keys.get(version_of(blob))
        if key is None:
            raise CryptoError(f"no data key version {version_of(blob)} for {column}")
        start = _HEADER.size
        nonce, sealed = blob[start : start + _NONCE_BYTES], blob[start + _NONCE_BYTES :]
        try:
            return AESGCM(key).decrypt(nonce, sealed, column.encode()).decode()
        except InvalidTag as error:
            raise CryptoError(f"cannot decrypt {column}") from error

    def encrypt_optional(self, value: str | None, *, column: str) -> bytes | None:
        return None if value is None else self.encrypt(value, column=column)

    def decrypt_optional(self, blob: bytes | None, *, column: str) -> str | None:
        return None if blob is None else self.decrypt(bytes(blob), column=column)

    def blind_index(self, normalised: str | None, *, kind: str) -> bytes | None:
        """A keyed, deterministic digest of an already-normalised value, for equality lookups."""
        if normalised is None:
            return None
        return hmac.new(self.index_key, f"{kind}:{normalised}".encode(), hashlib.sha256).digest()


def version_of(blob: bytes) -> int:
    """The data key version a ciphertext names."""
    if len(blob) < _HEADER.size + _NONCE_BYTES + 16:  # header, nonce and the GCM tag at least
        raise CryptoError("not a ciphertext")
    fmt, version = _HEADER.unpack_from(bytes(blob[: _HEADER.size]))
    if fmt != FORMAT:
        raise CryptoError(f"unknown ciphertext format {fmt}")
    return int(version)


def versions_in(blobs: list[bytes | None]) -> set[int]:
    return {version_of(blob) for blob in blobs if blob is not None}
