"""SMS and WhatsApp through Twilio's Messages API, with the official `twilio` library."""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit, urlunsplit

from twilio.base import values
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from hospes.models.tenant import Channel
from hospes.notifications.providers import failures
from hospes.notifications.providers.base import (
    Accepted,
    DeliveryError,
    OutboundMessage,
    PermanentFailure,
    UnknownOutcome,
)

PROVIDER = "twilio"
TWILIO_API = "https://api.twilio.com"
_WHATSAPP = "whatsapp:"
_REASON_MAX = 300
# Seven or more digits, maybe after "+" or "whatsapp:", maybe with separators: a phone number, not an
# error code (Twilio's are five digits).
_PHONE = re.compile(r"(?:whatsapp:)?\+?\d(?:[\s().-]?\d){6,}")
_LIBRARY_PREFIX = re.compile(r"^Unable to \w+ record:\s*")


class _RebasedHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, sending to `base_url` instead of api.twilio.com (the library has no option
    for it; tests and the benchmark point it at a local stand-in)."""

    def __init__(self, *, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        # The library's exceptions drop the response headers; keep Retry-After per thread (worker
        # threads share one client) for the failure to report.
        self._last = threading.local()
        root = base_url.rstrip("/")
        # Left at Twilio's own, URLs stay as the library builds them (with any TWILIO_EDGE/REGION).
        self._base = None if root == TWILIO_API else urlsplit(root)

    def request(  # noqa: PLR0917 (the library's own signature, which it calls positionally)
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self._base is not None:
            # The whole origin, not just the "https://api.twilio.com" prefix: TWILIO_EDGE or
            # TWILIO_REGION in the environment make the library address api.<edge>.<region>.twilio.com.
            parts = urlsplit(url)
            url = urlunsplit(
                (self._base.scheme, self._base.netloc, self._base.path + parts.path, parts.query, "")
            )
        self._last.retry_after = None
        response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self._last.retry_after = (response.headers or {}).get("Retry-After")
        return response

    def last_retry_after(self) -> float | None:
        """Seconds from the Retry-After header of this thread's last response, if it had one."""
        value = getattr(self._last, "retry_after", None)
        try:
            return max(0.0, float(value)) if value else None
        except ValueError:  # the HTTP-date form; Twilio sends seconds
            return None


class TwilioProvider:
    """Sends SMS and WHATSAPP messages; failures come back as `DeliveryError`s, sorted by `failures`."""

    name = PROVIDER

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sms_from: str | None,
        whatsapp_from: str | None,
        base_url: str = TWILIO_API,
        timeout: float = 10.0,
    ) -> None:
        self._senders: dict[Channel, str] = {}
        if sms_from:
            self._senders[Channel.SMS] = sms_from
        if whatsapp_from:
            self._senders[Channel.WHATSAPP] = _whatsapp_address(whatsapp_from)
        self._http = _RebasedHttpClient(base_url=base_url, timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    def send(self, message: OutboundMessage) -> Accepted:
        """Hand the message to Twilio; the accepted id is the message's SID (`SM…`)."""
        sender = self._senders.get(message.channel)
        if sender is None:
            raise PermanentFailure(f"no sender configured for {message.channel.value}", provider=PROVIDER)
        to = _whatsapp_address(message.to) if message.channel is Channel.WHATSAPP else message.to
        try:
            created = self._client.messages.create(
                to=to,
                from_=sender,
                body=message.body,
                status_callback=message.status_callback or values.unset,
            )
        except (TwilioRestException, TwilioServiceException) as error:
            raise _failure(error, recipient=message.to, retry_after=self._http.last_retry_after()) from None
        except Exception as error:
            # No answer (the library lets requests' errors through), or one it could not read.
            raise failures.unanswered(error, provider=PROVIDER) from None
        if not created.sid:
            # Twilio took it (2xx) but named no message: its status callback, by our id, settles it.
            raise UnknownOutcome("twilio answered without a message sid", provider=PROVIDER)
        return Accepted(PROVIDER, created.sid)


def _whatsapp_address(number: str) -> str:
    return number if number.startswith(_WHATSAPP) else _WHATSAPP + number


def _failure(
    error: TwilioRestException | TwilioServiceException, *, recipient: str, retry_after: float | None
) -> DeliveryError:
    status = int(error.status)
    if isinstance(error, TwilioServiceException):  # the newer RFC 9457 error shape
        words = error.detail or error.title
    else:
        words = _LIBRARY_PREFIX.sub("", str(error.msg))
    # Twilio's own error code tells staff more than the HTTP status; the library falls back to the status.
    reason = _scrubbed(f"{error.code or status}: {words}", recipient=recipient)
    return failures.answered(status, reason, provider=PROVIDER, retry_after=retry_after)


def _scrubbed(reason: str, *, recipient: str) -> str:
    # The reason is stored and shown to staff; Twilio's messages often quote the guest's number.
    reason = _PHONE.sub("", reason)
    if recipient:  # a recipient that does not look like a number, e.g. "whatsapp:" plus a typo
        reason = reason.replace(recipient, "")
    reason = re.sub(r"\s+([.,;:])", r"\1", re.sub(r"\s{2,}", " ", reason)).strip()
    return reason[:_REASON_MAX]
