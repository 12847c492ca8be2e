"""High-entropy credentials (portal links, API keys, account tokens): made with `secrets`, shown
once, stored only as a SHA-256 digest (right for secrets this long; no salt or slow hash needed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PORTAL_PREFIX = "hp_"
API_KEY_PREFIX = "hk_"
ACCOUNT_TOKEN_PREFIX = "ha_"  # noqa: S105  (a marker, not a secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret), stored)


def new_portal_token() -> str:
    return PORTAL_PREFIX + secrets.token_urlsafe(24)  # 192 bits


def new_account_token() -> str:
    return ACCOUNT_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """(prefix, full key): `hk_<prefix>_<secret>`; the prefix is public, the secret 256 bits."""
    prefix = secrets.token_hex(4)
    return prefix, f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def api_key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    if not key.startswith(API_KEY_PREFIX) or len(key) > 80:
        return None
    prefix, _, secret = key[len(API_KEY_PREFIX) :].partition("_")
    return prefix if len(prefix) == 8 and secret else None
