"""Whether a failed provider call may have reached the provider: the one place that decides between
trying again and `unknown`.

A message must reach a guest at most once, so only a failure that proves the provider did not take
the message is retried:
- the request never went out: DNS, a refused or unreachable host, a connect timeout, a TLS handshake
  that failed (nothing of the request is written before the connection is up);
- the provider answered that it refused it for now: 429, and 503 (SendGrid: "the v3 Web API is not
  available"; Twilio error 20503: "try again with exponential back-off").
Everything else after the request may have gone out is `UnknownOutcome`: a read or write timeout, a
connection dropped mid-request, an answer that cannot be read, and any other 5xx (Twilio's 20500
page says retrying a message create after a 500 may send it twice; SendGrid's 500 means "an error
occurred when SendGrid attempted to process" a valid request). 4xx are permanent.

Covers both transports the provider libraries use: urllib/http.client (python-http-client, under
`sendgrid`) and requests/urllib3 (under `twilio`)."""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
from collections.abc import Iterator
from pathlib import PurePath

import requests
import urllib3.exceptions

from hospes.notifications.providers.base import PermanentFailure, TransientFailure, UnknownOutcome

# Only ever raised before a byte of the request is written.
_BEFORE_THE_REQUEST: tuple[type[BaseException], ...] = (
    socket.gaierror,  # DNS
    ConnectionRefusedError,
    ssl.SSLCertVerificationError,
    ssl.CertificateError,
    urllib3.exceptions.NewConnectionError,  # refused, unreachable, DNS (NameResolutionError)
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.ProxyError,  # only raised while the proxy connection is being made
    requests.ConnectTimeout,
)
# Where each transport opens the connection (TCP, then TLS): a failure raised inside it happened
# before the request was written. urllib wraps connect and write errors alike in URLError, and
# urllib3 wraps a handshake failure and a TLS error mid-answer alike in SSLError; the frame tells.
_CONNECTING = {("http", "client.py"), ("urllib3", "connection.py")}
_NOT_ANSWERING = "{provider} did not answer in time; it may have sent the message"
_DROPPED = "the connection to {provider} broke after the request was sent; it may have sent the message"
_UNREADABLE = "{provider}'s answer could not be read ({kind}); it may have sent the message"
_SETTLED_LATER = " (not retried; its delivery report settles it)"


def answered(
    status: int, reason: str, *, provider: str, retry_after: float | None = None
) -> TransientFailure | PermanentFailure | UnknownOutcome:
    """The failure for an error answer with HTTP `status`; `reason` is the provider's words, fit to store."""
    if status in (429, 503):
        return TransientFailure(reason, provider=provider, retry_after=retry_after)
    if status >= 500:
        words = f"{reason}; {provider} may have sent the message{_SETTLED_LATER}"
        return UnknownOutcome(words, provider=provider)
    return PermanentFailure(reason, provider=provider)


def unanswered(error: BaseException, *, provider: str) -> TransientFailure | UnknownOutcome:
    """The failure for a call that raised instead of answering: retried only when the request never
    left. The reason names only the kind of failure (an exception's text may name hosts or URLs)."""
    chain = list(_causes(error))
    kind = type(chain[-1]).__name__
    if any(isinstance(cause, _BEFORE_THE_REQUEST) or _raised_while_connecting(cause) for cause in chain):
        return TransientFailure(f"could not reach {provider}: {kind}", provider=provider)
    if isinstance(error, urllib.error.URLError) and not isinstance(error.reason, BaseException):
        # urllib refused the URL itself ("no host given", an unknown scheme): nothing was sent.
        return TransientFailure(f"could not reach {provider}: {error.reason}", provider=provider)
    if any(isinstance(cause, TimeoutError | requests.Timeout) for cause in chain):
        words = _NOT_ANSWERING
    elif any(isinstance(cause, ConnectionError | http.client.HTTPException) for cause in chain) or any(
        isinstance(cause, urllib3.exceptions.ProtocolError) for cause in chain
    ):
        words = _DROPPED
    else:
        words = _UNREADABLE
    return UnknownOutcome(words.format(provider=provider, kind=kind) + _SETTLED_LATER, provider=provider)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps, outermost first: `__cause__`, urllib's and urllib3's `reason`,
    and the exception requests and urllib3 pass as their first argument."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = [
            candidate
            for candidate in (
                current.__cause__,
                getattr(current, "reason", None),
                current.args[0] if current.args else None,
            )
            if isinstance(candidate, BaseException) and id(candidate) not in seen
        ]
        current = wrapped[0] if wrapped else None


def _raised_while_connecting(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if code.co_name == "connect" and PurePath(code.co_filename).parts[-2:] in _CONNECTING:
            return True
        traceback = traceback.tb_next
    return False
