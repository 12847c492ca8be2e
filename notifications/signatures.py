"""Is this webhook request really from our provider? Signature checks for SendGrid's Event Webhook
and Twilio's callbacks, done by the providers' own libraries.

Every check answers True or False and never raises: a request with a bad signature, bad headers or a
bad key is simply refused (fail closed), and the route answers the same way whatever the reason."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

# SendGrid signs when it sends; allow for a little clock drift between its servers and ours.
FUTURE_SKEW_SECONDS = 300
# A DER ECDSA P-256 signature is at most 72 bytes (96 base64 characters); anything far longer is junk.
_MAX_SIGNATURE_CHARS = 200


def verify_sendgrid(
    *,
    payload: bytes,
    signature: str | None,
    timestamp: str | None,
    public_key: str,
    max_age_seconds: int = 600,
    now: float | None = None,
) -> bool:
    """True only if `signature` (header `X-Twilio-Email-Event-Webhook-Signature`) is SendGrid's ECDSA
    signature of `timestamp + payload` under `public_key`, and `timestamp` (header
    `X-Twilio-Email-Event-Webhook-Timestamp`, unix seconds) is at most `max_age_seconds` old and not
    more than `FUTURE_SKEW_SECONDS` ahead of `now`: an old signed request replayed is refused.

    `payload` is the raw request body, exactly as received. `public_key` is the verification key from
    SendGrid's Mail Settings (base64 DER; a full PEM block is accepted too)."""
    if not _fresh_sendgrid_headers(signature, timestamp, max_age_seconds=max_age_seconds, now=now):
        return False
    assert signature is not None and timestamp is not None  # _fresh_sendgrid_headers checked them
    try:
        # SendGrid's helper decodes leniently (it drops stray characters); insist on clean base64.
        base64.b64decode(signature, validate=True)
        text = payload.decode("utf-8")  # the helper signs str; invalid UTF-8 cannot be SendGrid's
        verifier = _sendgrid_verifier(_key_body(public_key))
        return bool(verifier.verify_signature(text, signature, timestamp))
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        # binascii.Error and UnicodeDecodeError are ValueErrors; a malformed key raises ValueError.
        return False


def verify_sendgrid_raw(
    *,
    payload: bytes,
    signature: str | None,
    timestamp: str | None,
    public_key: str,
    max_age_seconds: int = 600,
    now: float | None = None,
) -> bool:
    """`verify_sendgrid` over the raw bytes of the body, whatever their encoding: SendGrid's Inbound
    Parse posts `multipart/form-data` whose parts (an attachment, a body in ISO-8859-1) need not be
    UTF-8, so the signature over timestamp + body is checked with `cryptography` directly (the same
    ECDSA P-256 / SHA-256 scheme and the same timestamp window)."""
    if not _fresh_sendgrid_headers(signature, timestamp, max_age_seconds=max_age_seconds, now=now):
        return False
    assert signature is not None and timestamp is not None  # _fresh_sendgrid_headers checked them
    try:
        der_signature = base64.b64decode(signature, validate=True)
        key = _sendgrid_verifier(_key_body(public_key)).public_key
        key.verify(der_signature, timestamp.encode("ascii") + payload, ec.ECDSA(hashes.SHA256()))
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _fresh_sendgrid_headers(
    signature: str | None, timestamp: str | None, *, max_age_seconds: int, now: float | None
) -> bool:
    """Both headers present and sane, and the timestamp inside the accepted window."""
    if not signature or not timestamp or len(signature) > _MAX_SIGNATURE_CHARS:
        return False
    # Digits only: the value is signed as sent, so it must also be the number we checked the age of.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    current = time.time() if now is None else now
    age = current - int(timestamp)
    return not (age > max_age_seconds or age < -FUTURE_SKEW_SECONDS)


def verify_twilio(
    *,
    url: str,
    params: Mapping[str, str] | list[tuple[str, str]],
    signature: str | None,
    auth_token: str,
) -> bool:
    """True only if `signature` (header `X-Twilio-Signature`) is Twilio's HMAC of `url` and the
    form `params` under `auth_token`.

    `url` must be the full public URL Twilio called, query string included (behind a proxy, rebuild
    it from the public scheme and host); Twilio's validator tries it with and without the default
    port. Pass repeated form fields as a list of pairs so that every value is signed."""
    if not signature or not auth_token:
        # An empty token would let anyone compute a "valid" signature.
        return False
    try:
        return bool(RequestValidator(auth_token).validate(url, _FormParams.of(params), signature))
    except (ValueError, TypeError, AttributeError):
        # Non-text values (an uploaded file in the form) or a URL urllib cannot parse.
        return False


class _FormParams(dict[str, list[str]]):
    """Form fields with every value of a repeated name, in the shape Twilio's validator reads
    (it calls `getall`, as on Flask's MultiDict), since it cannot take a list of pairs."""

    @classmethod
    def of(cls, params: Mapping[str, str] | list[tuple[str, str]]) -> _FormParams:
        pairs = params.items() if isinstance(params, Mapping) else params
        form = cls()
        for name, value in pairs:
            form.setdefault(name, []).append(value)
        return form

    def getall(self, name: str) -> list[str]:
        return self[name]


def _key_body(public_key: str) -> str:
    """The base64 body of the key, whether configured bare (as SendGrid shows it) or as a PEM block."""
    lines = [line.strip() for line in public_key.strip().splitlines()]
    return "".join(line for line in lines if line and not line.startswith("-----"))


@lru_cache(maxsize=64)
def _sendgrid_verifier(key_body: str) -> EventWebhook:
    """Parsed once per key (tenants may have their own); a bad key raises and is not cached."""
    if not key_body:
        raise ValueError("no SendGrid webhook public key")
    base64.b64decode(key_body, validate=True)
    verifier = EventWebhook(key_body)
    # The helper loads any PEM public key; only an EC key can check an ECDSA signature.
    if not isinstance(verifier.public_key, ec.EllipticCurvePublicKey):
        raise ValueError("SendGrid webhook public key is not an EC key")
    return verifier
