"""What a provider callback says, read from its payload: delivery status updates from SendGrid's
Event Webhook and Twilio's status callbacks, and guests' incoming messages from Twilio.

Pure functions: no database, no HTTP. The webhook routes verify the signature first
(`notifications/signatures.py`), then call these, then apply an update only if `advances` allows it,
because providers deliver callbacks late, twice and out of order."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import phonenumbers

from hospes.models.tenant import Channel, CommunicationStatus

SENDGRID = "sendgrid"
TWILIO = "twilio"

MAX_INBOUND_BODY = 5_000
MAX_DETAIL = 500
MAX_PROFILE_NAME = 200
# The `communication.provider_message_id` column; a longer id cannot be one of ours.
MAX_PROVIDER_ID = 200
WHATSAPP_PREFIX = "whatsapp:"

# Custom args set on every email we send (SendGrid puts them at the top level of each event), and
# the query parameters of the status callback URL we give Twilio.
SENDGRID_COMMUNICATION_ARG = "hospes_communication"
SENDGRID_TENANT_ARG = "hospes_tenant"
TWILIO_COMMUNICATION_PARAM = "c"
TWILIO_TENANT_PARAM = "t"


class CallbackError(ValueError):
    """The callback cannot be read at all. The message names the problem, never the payload's
    content, so it is safe to send back to the caller."""


@dataclass(frozen=True)
class StatusUpdate:
    """One provider report about one message we sent. Find the message by `communication_id` when
    given, else by `provider_message_id`; check `tenant_id` against the tenant the route serves."""

    provider: str
    provider_message_id: str | None
    communication_id: uuid.UUID | None
    tenant_id: uuid.UUID | None
    status: CommunicationStatus
    at: datetime
    detail: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A message a guest sent to one of our numbers. Numbers are E.164, without `whatsapp:`."""

    provider_message_id: str
    channel: Channel
    sender: str
    recipient: str
    body: str
    media_count: int
    profile_name: str | None


# --- Status order ---------------------------------------------------------------------------------

# The forward ladder. FAILED and SUPPRESSED are off it: `advances` has their rules. UNKNOWN (the
# worker died during the provider call) sits just above QUEUED: any report from the provider is news.
STATUS_RANK: Mapping[CommunicationStatus, int] = MappingProxyType(
    {
        CommunicationStatus.QUEUED: 0,
        CommunicationStatus.UNKNOWN: 1,
        CommunicationStatus.SENT: 2,
        CommunicationStatus.DELIVERED: 3,
        CommunicationStatus.READ: 4,
    }
)
_FAILABLE = frozenset({CommunicationStatus.QUEUED, CommunicationStatus.UNKNOWN, CommunicationStatus.SENT})
_OVERRULES_FAILURE = frozenset({CommunicationStatus.DELIVERED, CommunicationStatus.READ})


def advances(current: CommunicationStatus, new: CommunicationStatus) -> bool:
    """Whether a message in `current` should take `new`. Statuses only move forward
    (queued < unknown < sent < delivered < read), so a late or repeated report changes nothing:

    - FAILED follows only QUEUED, UNKNOWN or SENT; a failure reported after delivery is ignored.
    - After FAILED, only DELIVERED or READ: proof of delivery beats an earlier failure.
    - UNKNOWN is decided by us (a send interrupted mid-call), only from QUEUED; any report of the
      provider's settles it.
    - SUPPRESSED is decided by us before sending (so only from QUEUED), and is final.
    - The same status again is no change."""
    if current in (new, CommunicationStatus.SUPPRESSED):
        return False
    if new == CommunicationStatus.SUPPRESSED:
        return current == CommunicationStatus.QUEUED
    if new == CommunicationStatus.FAILED:
        return current in _FAILABLE
    if current == CommunicationStatus.FAILED:
        return new in _OVERRULES_FAILURE
    return STATUS_RANK[new] > STATUS_RANK[current]


# --- SendGrid -------------------------------------------------------------------------------------

_SENDGRID_STATUS: Mapping[str, CommunicationStatus] = MappingProxyType(
    {
        "processed": CommunicationStatus.SENT,
        "delivered": CommunicationStatus.DELIVERED,
        "open": CommunicationStatus.READ,
        "click": CommunicationStatus.READ,
        "bounce": CommunicationStatus.FAILED,
        "dropped": CommunicationStatus.FAILED,
        "blocked": CommunicationStatus.FAILED,
        # deferred (SendGrid keeps retrying), spamreport, unsubscribe and group_unsubscribe do not
        # change delivery status; consent changes are not read from here.
    }
)


def sendgrid_events(payload: bytes) -> list[StatusUpdate]:
    """The status updates in a SendGrid Event Webhook body (a JSON array of events), in order.

    Events that do not change a status (deferred, spam reports, unsubscribes, unknown kinds) are
    left out, and so is any malformed event (not an object, a bad id or timestamp, nothing to find
    the message by), so one bad event does not cost the batch. Raises `CallbackError` only when the
    body is not a JSON array."""
    try:
        events = json.loads(payload)
    except (ValueError, RecursionError) as error:
        # ValueError covers invalid JSON and invalid UTF-8; RecursionError absurdly deep nesting.
        raise CallbackError("The body is not a JSON array of events.") from error
    if not isinstance(events, list):
        raise CallbackError("The body is not a JSON array of events.")
    updates = (_sendgrid_event(event) for event in events)
    return [update for update in updates if update is not None]


def _sendgrid_event(event: Any) -> StatusUpdate | None:
    if not isinstance(event, dict):
        return None
    kind = event.get("event")
    status = _SENDGRID_STATUS.get(kind) if isinstance(kind, str) else None
    if status is None:
        return None
    # Apple Mail Privacy Protection fetches every message's images: such an open proves no reading.
    if kind == "open" and event.get("sg_machine_open") is True:
        return None
    try:
        communication_id = _optional_uuid(event.get(SENDGRID_COMMUNICATION_ARG))
        tenant_id = _optional_uuid(event.get(SENDGRID_TENANT_ARG))
        at = _unix_time(event.get("timestamp"))
    except ValueError:
        return None
    provider_message_id = _sendgrid_message_id(event.get("sg_message_id"))
    if provider_message_id is None and communication_id is None:
        return None
    detail = None
    if status == CommunicationStatus.FAILED:
        reason = event.get("reason")
        detail = scrub(reason if isinstance(reason, str) else "") or kind
    event_id = event.get("sg_event_id")
    return StatusUpdate(
        provider=SENDGRID,
        provider_message_id=provider_message_id,
        communication_id=communication_id,
        tenant_id=tenant_id,
        status=status,
        at=at,
        detail=detail,
        event_id=_clean_id(event_id) if isinstance(event_id, str) else None,
    )


def _sendgrid_message_id(value: Any) -> str | None:
    """`sg_message_id` is "<X-Message-Id>.filterdrecv-…"; the part we stored at sending is the first."""
    if not isinstance(value, str):
        return None
    return _clean_id(value.split(".", 1)[0])


def _optional_uuid(value: Any) -> uuid.UUID | None:
    """None when absent; ValueError when present but not a UUID string."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a UUID string")
    return uuid.UUID(value)


def _unix_time(value: Any) -> datetime:
    """SendGrid's `timestamp` (unix seconds) as aware UTC; now when absent."""
    if value is None:
        return datetime.now(UTC)
    # bool is an int to Python, but never a timestamp.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("timestamp is not a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError) as error:
        raise ValueError("timestamp out of range") from error


# --- Twilio ---------------------------------------------------------------------------------------

_TWILIO_STATUS: Mapping[str, CommunicationStatus | None] = MappingProxyType(
    {
        # Still on Twilio's side: nothing new to record.
        "queued": None,
        "accepted": None,
        "scheduled": None,
        "sending": None,
        "sent": CommunicationStatus.SENT,
        "delivered": CommunicationStatus.DELIVERED,
        "read": CommunicationStatus.READ,
        "undelivered": CommunicationStatus.FAILED,
        "failed": CommunicationStatus.FAILED,
        "canceled": CommunicationStatus.FAILED,
    }
)

# Twilio often sends only ErrorCode; these are the codes a guest message commonly fails with.
TWILIO_ERRORS: Mapping[str, str] = MappingProxyType(
    {
        "30003": "Unreachable destination handset",
        "30004": "Message blocked",
        "30005": "Unknown destination handset",
        "30006": "Landline or unreachable carrier",
        "30007": "Carrier violation / filtered",
        "30008": "Unknown error",
        "63016": "Outside the WhatsApp 24-hour window",
        "63003": "WhatsApp channel could not find the To address",
    }
)


def twilio_status(form: Mapping[str, str], query: Mapping[str, str] | None = None) -> StatusUpdate | None:
    """The status update in a Twilio status callback, or None when it changes nothing (the message
    is still queued or sending at Twilio, or the status is one we do not know).

    `query` is the callback URL's query string: `c` (communication id) and `t` (tenant id) when we
    put them there at sending. A failure's `detail` is "ErrorCode: message". Raises `CallbackError`
    when MessageSid or the status is missing, or `c` or `t` is not a UUID."""
    provider_message_id = _clean_id(_field(form, "MessageSid"))
    if provider_message_id is None:
        raise CallbackError("MessageSid is missing.")
    # SmsStatus is the older name Twilio still sends alongside (and for some accounts, instead).
    raw_status = _field(form, "MessageStatus") or _field(form, "SmsStatus")
    if raw_status is None:
        raise CallbackError("MessageStatus is missing.")
    status_word = raw_status.strip().lower()
    status = _TWILIO_STATUS.get(status_word)
    if status is None:
        return None
    query = query or {}
    try:
        communication_id = _optional_uuid(query.get(TWILIO_COMMUNICATION_PARAM) or None)
        tenant_id = _optional_uuid(query.get(TWILIO_TENANT_PARAM) or None)
    except ValueError as error:
        raise CallbackError("The callback URL's c or t parameter is not a UUID.") from error
    detail = None
    if status == CommunicationStatus.FAILED:
        detail = "canceled" if status_word == "canceled" else _twilio_error(form, status_word)
    return StatusUpdate(
        provider=TWILIO,
        provider_message_id=provider_message_id,
        communication_id=communication_id,
        tenant_id=tenant_id,
        status=status,
        at=datetime.now(UTC),  # Twilio's callbacks carry no event time
        detail=detail,
    )


def _twilio_error(form: Mapping[str, str], status_word: str) -> str:
    """ "30003: Unreachable destination handset", from ErrorCode and ErrorMessage or our table."""
    code = (_field(form, "ErrorCode") or "").strip()
    code = code if code.isascii() and code.isdigit() and len(code) <= 10 else ""
    message = scrub(_field(form, "ErrorMessage") or "")
    if code and message:
        return f"{code}: {message}"[:MAX_DETAIL]
    if code:
        known = TWILIO_ERRORS.get(code)
        return f"{code}: {known}" if known else f"error {code}"
    return message or status_word


def twilio_inbound(form: Mapping[str, str]) -> InboundMessage:
    """The message in a Twilio incoming-message webhook (SMS, or WhatsApp when From is
    "whatsapp:+…"). Raises `CallbackError` when MessageSid, From or To is missing or a number
    is not a valid phone number."""
    provider_message_id = _clean_id(_field(form, "MessageSid"))
    if provider_message_id is None:
        raise CallbackError("MessageSid is missing.")
    raw_from = (_field(form, "From") or "").strip()
    raw_to = (_field(form, "To") or "").strip()
    if not raw_from:
        raise CallbackError("From is missing.")
    if not raw_to:
        raise CallbackError("To is missing.")
    is_whatsapp = raw_from.lower().startswith(WHATSAPP_PREFIX)
    body = storable_text(_field(form, "Body") or "").strip()[:MAX_INBOUND_BODY]
    profile_name = storable_text(_field(form, "ProfileName") or "").strip()[:MAX_PROFILE_NAME]
    return InboundMessage(
        provider_message_id=provider_message_id,
        channel=Channel.WHATSAPP if is_whatsapp else Channel.SMS,
        sender=_e164(raw_from, field_name="From"),
        recipient=_e164(raw_to, field_name="To"),
        body=body,
        media_count=_media_count(_field(form, "NumMedia")),
        profile_name=profile_name or None,
    )


def _e164(value: str, *, field_name: str) -> str:
    """The number without `whatsapp:`, in E.164. Twilio always sends international format."""
    number_text = value[len(WHATSAPP_PREFIX) :] if value.lower().startswith(WHATSAPP_PREFIX) else value
    try:
        number = phonenumbers.parse(number_text.strip(), None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise CallbackError(f"{field_name} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _media_count(value: str | None) -> int:
    # At most 10 media per message on Twilio; anything unreadable counts as none.
    try:
        return max(0, min(int((value or "0").strip()), 10))
    except ValueError:
        return 0


# --- Shared ---------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# National numbers written without "+" that the matcher below cannot place in a country.
_LONG_DIGITS = re.compile(r"(?<!\d)\d{9,}(?!\d)")
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # keeps tab and newline


def scrub(text: str) -> str:
    """`text` fit to store as a failure detail: email addresses and phone numbers replaced (bounce
    reasons quote the recipient), control characters removed, whitespace collapsed, length capped."""
    # Bound the work of the phone matcher on a hostile reason before anything else.
    cleaned = _WHITESPACE.sub(" ", storable_text(text[: MAX_DETAIL * 4])).strip()
    cleaned = _EMAIL.sub("[email]", cleaned)
    for match in reversed(
        list(phonenumbers.PhoneNumberMatcher(cleaned, None, phonenumbers.Leniency.POSSIBLE))
    ):
        cleaned = cleaned[: match.start] + "[phone]" + cleaned[match.end :]
    cleaned = _LONG_DIGITS.sub("[phone]", cleaned)
    return cleaned[:MAX_DETAIL]


def storable_text(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and other control characters only garble logs. Format
    # characters stay: emoji sequences and right-to-left text need them.
    return _CONTROL.sub("", text)


def _field(form: Mapping[str, str], name: str) -> str | None:
    """A form field's text; None when absent or not text (an uploaded file)."""
    value = form.get(name)
    return value if isinstance(value, str) else None


def _clean_id(value: str | None) -> str | None:
    """A provider id, trimmed; None when blank or too long to be one we stored."""
    if value is None:
        return None
    cleaned = value.strip()
    return cleaned if cleaned and len(cleaned) <= MAX_PROVIDER_ID and cleaned.isprintable() else None
