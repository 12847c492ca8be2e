"""A local HTTP server that stands in for SendGrid and Twilio, so tests drive the real client libraries.

    def test_something(provider_server):
        provider_server.script("twilio", rate_limited(retry_after=5))  # the next Twilio call gets a 429
        ...  # build providers with base_url=provider_server.url
        [call] = provider_server.calls("twilio")

Every request is recorded on arrival (before any scripted hold), with its provider, path, headers
(lower-case names) and parsed body (JSON for SendGrid, the form for Twilio). Scripted responses are
used in order, per provider; once they run out, each provider answers as it does on success.

Each test gets its own server on its own port, so tests (and xdist workers) never share one."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl

import pytest

ProviderName = Literal["sendgrid", "twilio"]

SENDGRID_PATH = "/v3/mail/send"
_TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_HOLD_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    provider: ProviderName
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]  # SendGrid: the JSON document; Twilio: the form fields


@dataclass(frozen=True)
class ScriptedResponse:
    """How the server answers one request.

    `status=None` is the provider's usual success. `body=None` with an error status is the provider's
    usual error document for that status; a callable body is given the request (to echo a field).
    `hold` keeps the request waiting until the event is set (or `hold_timeout` passes, or the server
    stops); `disconnect` closes the connection without answering."""

    status: int | None = None
    body: Any | Callable[[RecordedRequest], Any] = None
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    hold_timeout: float = 10.0
    disconnect: bool = False


def rate_limited(*, retry_after: float | None = None) -> ScriptedResponse:
    """429 Too Many Requests, with a Retry-After header when `retry_after` is given."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return ScriptedResponse(status=429, headers=headers)


def server_error(status: int = 500) -> ScriptedResponse:
    """A 5xx answer with the provider's usual error document."""
    return ScriptedResponse(status=status)


def held(
    hold: threading.Event, *, then: ScriptedResponse | None = None, timeout: float = 10.0
) -> ScriptedResponse:
    """Wait for `hold` (at most `timeout` seconds), then answer `then` (the usual success by default)."""
    return replace(then or ScriptedResponse(), hold=hold, hold_timeout=timeout)


def dropped() -> ScriptedResponse:
    """Close the connection without answering."""
    return ScriptedResponse(disconnect=True)


def sendgrid_invalid_address() -> ScriptedResponse:
    """SendGrid's 400 for a malformed recipient."""
    return ScriptedResponse(
        status=400,
        body={
            "errors": [
                {
                    "message": "The to email does not contain a valid address.",
                    "field": "personalizations.0.to.0.email",
                    "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to",
                }
            ]
        },
    )


def twilio_invalid_number() -> ScriptedResponse:
    """Twilio's 400 with error 21211, quoting the number as Twilio does."""
    return ScriptedResponse(
        status=400,
        body=lambda request: _twilio_error(
            400, 21211, f"The 'To' number {request.body.get('To', '')} is not a valid phone number."
        ),
    )


def twilio_unreachable_whatsapp() -> ScriptedResponse:
    """Twilio's 400 with error 63003: the number has no WhatsApp account."""
    return ScriptedResponse(status=400, body=_twilio_error(400, 63003, "Channel could not find To address"))


class ProviderServer:
    """The stand-in server; `url` is its base URL, e.g. "http://127.0.0.1:54321"."""

    def __init__(self, *, port: int = 0) -> None:
        """`port` 0 picks a free one; a given port brings a stopped server back where it was."""
        self._lock = threading.Lock()
        self._calls: list[RecordedRequest] = []
        self._scripts: dict[ProviderName, list[ScriptedResponse]] = {"sendgrid": [], "twilio": []}
        self._arrived = threading.Condition(self._lock)
        # Set on stop, so requests still held do not outlive their test.
        self.closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        # A short poll interval: `shutdown()` waits up to one, at every test's teardown.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="provider-server",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        port: int = self._httpd.server_address[1]
        return port

    def start(self) -> ProviderServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def script(self, provider: ProviderName, *responses: ScriptedResponse) -> None:
        """Queue answers for the provider's next requests, used in order before the usual success."""
        with self._lock:
            self._scripts[provider].extend(responses)

    def calls(self, provider: ProviderName | None = None) -> list[RecordedRequest]:
        """The requests received so far (for one provider, or all), oldest first."""
        with self._lock:
            return self._matching(provider)

    def wait_for_calls(
        self, count: int, provider: ProviderName | None = None, *, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Block until at least `count` requests arrived (e.g. a send is in flight and held)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(matching := self._matching(provider)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(matching)} of {count} {provider or 'provider'} calls arrived")
                self._arrived.wait(remaining)
            return matching

    def reset(self) -> None:
        """Forget recorded requests and unused scripted answers."""
        with self._lock:
            self._calls.clear()
            for queue in self._scripts.values():
                queue.clear()

    def record(self, request: RecordedRequest) -> ScriptedResponse:
        """Record an arriving request and take the answer for it (called by the handler)."""
        with self._arrived:
            self._calls.append(request)
            self._arrived.notify_all()
            queue = self._scripts[request.provider]
            return queue.pop(0) if queue else ScriptedResponse()

    def _matching(self, provider: ProviderName | None) -> list[RecordedRequest]:
        return [call for call in self._calls if provider is None or call.provider == provider]


def _handler_for(server: ProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            twilio = _TWILIO_PATH.match(self.path)
            if self.path == SENDGRID_PATH:
                provider: ProviderName = "sendgrid"
                body: dict[str, Any] = json.loads(raw or b"{}")
            elif twilio:
                provider = "twilio"
                body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            else:
                self._answer(404, {"message": f"no stand-in for {self.path}"}, {})
                return
            request = RecordedRequest(
                provider=provider,
                method="POST",
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            scripted = server.record(request)
            if scripted.hold is not None:
                _wait(scripted.hold, timeout=scripted.hold_timeout, closing=server.closing)
            if scripted.disconnect or server.closing.is_set():
                self.close_connection = True
                return
            status, payload, headers = _rendered(scripted, request, sid=twilio["sid"] if twilio else "")
            # The client may have given up waiting (a timeout test); then nobody is left to answer.
            with contextlib.suppress(OSError):
                self._answer(status, payload, headers)

        def _answer(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest output is for the tests' own failures

    return Handler


def _wait(hold: threading.Event, *, timeout: float, closing: threading.Event) -> None:
    deadline = time.monotonic() + timeout
    while not hold.wait(_HOLD_POLL_SECONDS) and not closing.is_set() and time.monotonic() < deadline:
        pass


def _rendered(
    scripted: ScriptedResponse, request: RecordedRequest, *, sid: str
) -> tuple[int, Any, dict[str, str]]:
    """Status, JSON payload (None for no body) and headers for a scripted answer."""
    body = scripted.body(request) if callable(scripted.body) else scripted.body
    if scripted.status is None:
        if request.provider == "sendgrid":
            return 202, None, {"X-Message-Id": secrets.token_urlsafe(16)[:22], **scripted.headers}
        return 201, body or _twilio_message(request, account_sid=sid), scripted.headers
    if body is None and scripted.status >= 400:
        body = _default_error(request.provider, scripted.status)
    return scripted.status, body, scripted.headers


def _default_error(provider: ProviderName, status: int) -> dict[str, Any]:
    words = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
    message = words.get(status, "Error")
    if provider == "sendgrid":
        return {"errors": [{"message": message.lower(), "field": None, "help": None}]}
    return _twilio_error(status, 20000 + status if status in words else status, message)


def _twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _twilio_message(request: RecordedRequest, *, account_sid: str) -> dict[str, Any]:
    """The Message resource Twilio returns on create, enough for the library's MessageInstance."""
    sid = "SM" + secrets.token_hex(16)
    now = format_datetime(datetime.now(UTC))
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": request.body.get("Body", ""),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": request.body.get("From"),
        "messaging_service_sid": request.body.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": request.body.get("To"),
        "uri": f"{uri}.json",
    }


# Registered as `provider_server`; import `provider_server_fixture` (or list this module in
# `pytest_plugins`) to use it.
@pytest.fixture(name="provider_server")
def provider_server_fixture() -> Iterator[ProviderServer]:
    """A fresh stand-in for SendGrid and Twilio, stopped (and any held request released) afterwards."""
    server = ProviderServer().start()
    try:
        yield server
    finally:
        server.stop()
