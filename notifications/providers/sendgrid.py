"""Email through SendGrid's v3 Mail Send API, with the official `sendgrid` library."""

from __future__ import annotations

import json
import logging
import re
import time
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Header, Mail, ReplyTo

from hospes.models.tenant import Channel
from hospes.notifications.providers import failures
from hospes.notifications.providers.base import Accepted, DeliveryError, OutboundMessage, PermanentFailure

PROVIDER = "sendgrid"
_REASON_MAX = 300
_EMAIL = re.compile(r"[^\s<>\"'@,;:]+@[^\s<>\"'@,;:]+")

# python_http_client logs every request's headers (the API key) and payload (the guest's address and
# message) at DEBUG; keep that out of any log, whatever level the root logger is given.
logging.getLogger("python_http_client.client").setLevel(logging.INFO)


class SendGridProvider:
    """Sends EMAIL messages; failures come back as `DeliveryError`s, sorted by `failures`."""

    name = PROVIDER

    def __init__(
        self,
        *,
        api_key: str,
        sender: str,
        base_url: str = "https://api.sendgrid.com",
        timeout: float = 10.0,
    ) -> None:
        self._sender = sender
        self._api = SendGridAPIClient(api_key=api_key, host=base_url.rstrip("/"))
        # python_http_client passes `Client.timeout` to urlopen (and to every client it derives for a
        # path); left at None, a silent server would hold a worker thread forever.
        self._api.client.timeout = timeout

    def send(self, message: OutboundMessage) -> Accepted:
        """Hand the email to SendGrid; the accepted id is SendGrid's `X-Message-Id`."""
        if message.channel is not Channel.EMAIL:
            raise PermanentFailure(f"sendgrid cannot send {message.channel.value}", provider=PROVIDER)
        if not message.subject:
            # SendGrid would answer 400 for it; no need to ask.
            raise PermanentFailure("an email needs a subject", provider=PROVIDER)
        try:
            request_body = _mail(message, sender=self._sender)
        except (KeyError, ValueError, TypeError, AttributeError):
            # The helper cannot even parse the address (e.g. "a@@b"); SendGrid would refuse it too.
            raise PermanentFailure("the recipient address is not valid", provider=PROVIDER) from None
        try:
            response = self._api.send(request_body)
        except HTTPError as error:
            raise _failure(error, recipient=message.to) from None
        except Exception as error:
            # No answer, or one that could not be read: whether it may have been sent decides.
            raise failures.unanswered(error, provider=PROVIDER) from None
        message_id = response.headers.get("X-Message-Id")
        return Accepted(PROVIDER, message_id or str(message.communication_id))


def _mail(message: OutboundMessage, *, sender: str) -> dict[str, Any]:
    """The Mail Send request body, built by the library's helper."""
    mail = Mail(
        from_email=sender,
        to_emails=message.to,
        subject=message.subject,
        plain_text_content=message.body,
    )
    # Echoed in every event-webhook event, so delivery events find their communication again.
    mail.custom_arg = [
        CustomArg("hospes_tenant", str(message.tenant_id)),
        CustomArg("hospes_communication", str(message.communication_id)),
    ]
    if message.reply_to:
        # Reply-To is one of SendGrid's reserved headers: it goes in the `reply_to` field.
        mail.reply_to = ReplyTo(message.reply_to)
    if message.message_id:
        # Message-ID is not reserved, so SendGrid sends ours; the guest's mail program quotes it back
        # in In-Reply-To and References.
        mail.header = Header("Message-ID", message.message_id)
    body: dict[str, Any] = mail.get()
    return body


def _failure(error: HTTPError, *, recipient: str) -> DeliveryError:
    status = int(error.status_code)
    reason = _scrubbed(f"{status}: {_provider_words(error)}", recipient=recipient)
    return failures.answered(status, reason, provider=PROVIDER, retry_after=_retry_after(error.headers))


def _provider_words(error: HTTPError) -> str:
    """SendGrid's own messages from `{"errors": [{"message": …}]}`, else the HTTP reason phrase."""
    try:
        errors = json.loads(error.body)["errors"]
        words = "; ".join(str(item["message"]) for item in errors if item.get("message"))
    except (ValueError, TypeError, KeyError, AttributeError):
        words = ""
    return words or str(error.reason or "error")


def _retry_after(headers: Message | None) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or a date) or SendGrid's `X-RateLimit-Reset`."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    reset = headers.get("X-RateLimit-Reset")  # SendGrid's own: the epoch second the limit resets
    try:
        return max(0.0, float(reset) - time.time()) if reset else None
    except ValueError:
        return None


def _scrubbed(reason: str, *, recipient: str) -> str:
    # The reason is stored and shown to staff; it must not carry the guest's address.
    reason = reason.replace(recipient, "the recipient") if recipient else reason
    return _EMAIL.sub("the address", reason)[:_REASON_MAX]
