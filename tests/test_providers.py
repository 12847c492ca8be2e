"""The message providers, driving the real `sendgrid` and `twilio` libraries against a local stand-in."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from hospes.models.tenant import Channel
from hospes.notifications.providers import ProviderConfig, build_providers
from hospes.notifications.providers.base import (
    OutboundMessage,
    PermanentFailure,
    Provider,
    TransientFailure,
    UnknownOutcome,
)
from hospes.notifications.providers.log import LogProvider, masked
from hospes.notifications.providers.sendgrid import SendGridProvider
from hospes.notifications.providers.twilio import TwilioProvider
from hospes.settings import Settings
from tests.conftest import TenantFixture
from tests.factories import create_guest
from tests.messaging_support import (
    Rig,
    calls_for,
    communications,
    outbox_rows,
    rig_engine,
    running_rig,
    sendgrid_event,
    sent_messages,
    tenant_id,
    timeline,
    wait_until,
)
from tests.provider_server import (
    ProviderServer,
    ScriptedResponse,
    dropped,
    held,
    provider_server_fixture,  # noqa: F401 (registers the `provider_server` fixture)
    rate_limited,
    sendgrid_invalid_address,
    server_error,
    twilio_invalid_number,
    twilio_unreachable_whatsapp,
)

API_KEY = "SG.test-key"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-token"
GUEST_EMAIL = "ana.garcia@example.com"
GUEST_PHONE = "+34600111222"
CALLBACK = "https://hospes.example/webhooks/twilio/status"


def _message(
    channel: Channel, *, to: str, subject: str | None = None, callback: str | None = None
) -> OutboundMessage:
    return OutboundMessage(
        communication_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        channel=channel,
        to=to,
        subject=subject,
        body="Your room is ready from 15:00.",
        status_callback=callback,
    )


def _email(to: str = GUEST_EMAIL) -> OutboundMessage:
    return _message(Channel.EMAIL, to=to, subject="Check-in instructions")


def _sendgrid(server: ProviderServer | _Unreachable, *, timeout: float = 5.0) -> SendGridProvider:
    return SendGridProvider(
        api_key=API_KEY, sender="stay@hotel.example", base_url=server.url, timeout=timeout
    )


def _twilio(
    server: ProviderServer | _Unreachable, *, timeout: float = 5.0, whatsapp_from: str | None = "+14155238886"
) -> TwilioProvider:
    return TwilioProvider(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sms_from="+15005550006",
        whatsapp_from=whatsapp_from,
        base_url=server.url,
        timeout=timeout,
    )


# --- SendGrid -----------------------------------------------------------------------------------------


def test_email_reaches_sendgrid_with_its_content_and_the_keys_to_match_events(provider_server):
    message = _email()

    accepted = _sendgrid(provider_server).send(message)

    [call] = provider_server.calls("sendgrid")
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.body["from"] == {"email": "stay@hotel.example"}
    assert call.body["personalizations"][0]["to"] == [{"email": GUEST_EMAIL}]
    assert call.body["subject"] == "Check-in instructions"
    assert call.body["content"] == [{"type": "text/plain", "value": message.body}]
    assert call.body["custom_args"] == {
        "hospes_tenant": str(message.tenant_id),
        "hospes_communication": str(message.communication_id),
    }
    assert accepted.provider == "sendgrid"
    assert accepted.provider_message_id  # SendGrid's X-Message-Id
    assert accepted.provider_message_id != str(message.communication_id)


def test_inquiry_email_reaches_sendgrid_with_its_reply_to_and_our_message_id(provider_server):
    message = replace(
        _email(),
        reply_to="demo+i0123456789abcdef0123456789abcdef@in.hospes.test",
        message_id="<c.1@in.hospes.test>",
    )

    _sendgrid(provider_server).send(message)

    [call] = provider_server.calls("sendgrid")
    # Reply-To is reserved in SendGrid's `headers`: it goes in its own field; Message-ID is not.
    assert call.body["reply_to"] == {"email": message.reply_to}
    assert call.body["headers"] == {"Message-ID": "<c.1@in.hospes.test>"}


def test_email_accepted_without_a_message_id_is_known_by_its_communication(provider_server):
    provider_server.script("sendgrid", ScriptedResponse(status=202))
    message = _email()

    accepted = _sendgrid(provider_server).send(message)

    assert accepted.provider_message_id == str(message.communication_id)


def test_rate_limited_email_is_a_transient_failure_with_the_wait_sendgrid_asks_for(provider_server):
    provider_server.script("sendgrid", rate_limited(retry_after=7))

    with pytest.raises(TransientFailure) as failure:
        _sendgrid(provider_server).send(_email())

    assert failure.value.retry_after == 7.0
    assert failure.value.provider == "sendgrid"
    assert failure.value.reason.startswith("429")


def test_sendgrid_unavailable_is_a_transient_failure(provider_server):
    provider_server.script("sendgrid", server_error(503))  # "the v3 Web API is not available"

    with pytest.raises(TransientFailure) as failure:
        _sendgrid(provider_server).send(_email())

    assert failure.value.retry_after is None
    assert failure.value.reason.startswith("503")


@pytest.mark.parametrize("status", [500, 502, 504])
def test_sendgrid_error_while_processing_is_an_unknown_outcome(provider_server, status):
    provider_server.script("sendgrid", server_error(status))

    with pytest.raises(UnknownOutcome) as failure:
        _sendgrid(provider_server).send(_email())

    assert failure.value.reason.startswith(f"{status}:")
    assert "may have sent" in failure.value.reason


def test_invalid_email_address_is_a_permanent_failure_in_sendgrids_words_without_the_address(provider_server):
    provider_server.script("sendgrid", sendgrid_invalid_address())
    message = _email(to="ana.garcia@example")  # no top-level domain: the helper passes it on

    with pytest.raises(PermanentFailure) as failure:
        _sendgrid(provider_server).send(message)

    assert failure.value.reason == "400: The to email does not contain a valid address."
    assert message.to not in failure.value.reason
    assert API_KEY not in failure.value.reason


def test_email_to_an_unparseable_address_fails_without_calling_sendgrid(provider_server):
    with pytest.raises(PermanentFailure) as failure:
        _sendgrid(provider_server).send(_email(to="ana.garcia@@example"))

    assert failure.value.reason == "the recipient address is not valid"
    assert provider_server.calls() == []


def test_sendgrid_error_quoting_the_address_is_stored_without_it(provider_server):
    provider_server.script(
        "sendgrid",
        ScriptedResponse(status=403, body={"errors": [{"message": f"{GUEST_EMAIL} is on the bounce list"}]}),
    )

    with pytest.raises(PermanentFailure) as failure:
        _sendgrid(provider_server).send(_email())

    assert GUEST_EMAIL not in failure.value.reason
    assert failure.value.reason == "403: the recipient is on the bounce list"


def test_email_sendgrid_received_but_did_not_answer_in_time_is_an_unknown_outcome(provider_server):
    release = threading.Event()
    provider_server.script("sendgrid", held(release))

    with pytest.raises(UnknownOutcome) as failure:
        _sendgrid(provider_server, timeout=0.3).send(_email())

    release.set()
    assert failure.value.reason.startswith("sendgrid did not answer in time; it may have sent the message")
    assert len(provider_server.calls("sendgrid")) == 1


def test_email_whose_connection_drops_after_the_request_is_an_unknown_outcome(provider_server):
    provider_server.script("sendgrid", dropped())

    with pytest.raises(UnknownOutcome) as failure:
        _sendgrid(provider_server).send(_email())

    assert failure.value.reason.startswith("the connection to sendgrid broke after the request was sent")


def test_email_without_a_subject_fails_without_calling_sendgrid(provider_server):
    with pytest.raises(PermanentFailure):
        _sendgrid(provider_server).send(_message(Channel.EMAIL, to=GUEST_EMAIL, subject=None))

    assert provider_server.calls() == []


# --- Twilio -------------------------------------------------------------------------------------------


def test_sms_reaches_twilio_from_the_account_with_its_status_callback(provider_server):
    message = _message(Channel.SMS, to=GUEST_PHONE, callback=CALLBACK)

    accepted = _twilio(provider_server).send(message)

    [call] = provider_server.calls("twilio")
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call.body == {
        "To": GUEST_PHONE,
        "From": "+15005550006",
        "Body": message.body,
        "StatusCallback": CALLBACK,
    }
    expected_auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert call.headers["authorization"] == f"Basic {expected_auth}"
    assert accepted.provider == "twilio"
    assert accepted.provider_message_id.startswith("SM")
    assert len(accepted.provider_message_id) == 34


def test_whatsapp_message_addresses_both_ends_as_whatsapp(provider_server):
    accepted = _twilio(provider_server).send(_message(Channel.WHATSAPP, to=GUEST_PHONE))

    [call] = provider_server.calls("twilio")
    assert call.body["To"] == f"whatsapp:{GUEST_PHONE}"
    assert call.body["From"] == "whatsapp:+14155238886"
    assert "StatusCallback" not in call.body  # none was asked for
    assert accepted.provider_message_id.startswith("SM")


def test_twilio_is_reached_at_the_configured_url_whatever_region_the_environment_names(
    provider_server, monkeypatch
):
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")

    _twilio(provider_server).send(_message(Channel.SMS, to=GUEST_PHONE))

    assert len(provider_server.calls("twilio")) == 1


def test_rate_limited_sms_is_a_transient_failure(provider_server):
    provider_server.script("twilio", rate_limited(retry_after=3))

    with pytest.raises(TransientFailure) as failure:
        _twilio(provider_server).send(_message(Channel.SMS, to=GUEST_PHONE))

    assert failure.value.retry_after == 3.0
    assert failure.value.reason == "20429: Too Many Requests"


def test_twilio_unavailable_is_a_transient_failure_with_the_wait_twilio_asks_for(provider_server):
    # Twilio's error 20503: "try again a few times with exponential back-off".
    provider_server.script("twilio", ScriptedResponse(status=503, headers={"Retry-After": "4"}))

    with pytest.raises(TransientFailure) as failure:
        _twilio(provider_server).send(_message(Channel.SMS, to=GUEST_PHONE))

    assert failure.value.provider == "twilio"
    assert failure.value.retry_after == 4.0


def test_twilio_internal_error_is_an_unknown_outcome(provider_server):
    # Twilio's error 20500: retrying a message create after a 500 may send the message twice.
    provider_server.script("twilio", server_error(500))

    with pytest.raises(UnknownOutcome) as failure:
        _twilio(provider_server).send(_message(Channel.SMS, to=GUEST_PHONE))

    assert failure.value.reason.startswith("20500: Internal Server Error; twilio may have sent the message")


def test_invalid_number_is_a_permanent_failure_in_twilios_words_without_the_number(provider_server):
    provider_server.script("twilio", twilio_invalid_number())

    with pytest.raises(PermanentFailure) as failure:
        _twilio(provider_server).send(_message(Channel.SMS, to=GUEST_PHONE))

    assert failure.value.reason == "21211: The 'To' number is not a valid phone number."
    assert "600111222" not in failure.value.reason
    assert AUTH_TOKEN not in failure.value.reason


def test_whatsapp_number_without_whatsapp_is_a_permanent_failure(provider_server):
    provider_server.script("twilio", twilio_unreachable_whatsapp())

    with pytest.raises(PermanentFailure) as failure:
        _twilio(provider_server).send(_message(Channel.WHATSAPP, to=GUEST_PHONE))

    assert failure.value.reason == "63003: Channel could not find To address"


def test_sms_twilio_received_but_did_not_answer_in_time_is_an_unknown_outcome(provider_server):
    release = threading.Event()
    provider_server.script("twilio", held(release))

    with pytest.raises(UnknownOutcome) as failure:
        _twilio(provider_server, timeout=0.3).send(_message(Channel.SMS, to=GUEST_PHONE))

    release.set()
    assert failure.value.reason.startswith("twilio did not answer in time; it may have sent the message")
    assert len(provider_server.calls("twilio")) == 1


def test_sms_whose_connection_drops_after_the_request_is_an_unknown_outcome(provider_server):
    provider_server.script("twilio", dropped())

    with pytest.raises(UnknownOutcome) as failure:
        _twilio(provider_server).send(_message(Channel.SMS, to=GUEST_PHONE))

    assert failure.value.reason.startswith("the connection to twilio broke after the request was sent")


# --- A request that never left is a transient failure, for both libraries ----------------------------


class _Unreachable:
    """A base URL on which no request can be written."""

    def __init__(self, url: str) -> None:
        self.url = url


@pytest.fixture
def closed_port() -> _Unreachable:
    """A port nobody listens on: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return _Unreachable(f"http://127.0.0.1:{port}")


@pytest.fixture
def full_backlog() -> Iterator[_Unreachable]:
    """A listener that never accepts, its queue already full: a connection attempt times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    waiting: list[socket.socket] = []
    for _ in range(4):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        waiting.append(client)
    try:
        yield _Unreachable(f"http://127.0.0.1:{port}")
    finally:
        for client in waiting:
            client.close()
        listener.close()


def _both(server: ProviderServer | _Unreachable) -> list[tuple[Provider, OutboundMessage]]:
    return [
        (_sendgrid(server, timeout=0.5), _email()),
        (_twilio(server, timeout=0.5), _message(Channel.SMS, to=GUEST_PHONE)),
    ]


@pytest.mark.parametrize("unreachable", ["closed_port", "full_backlog"])
def test_a_provider_that_cannot_be_connected_to_is_a_transient_failure(request, unreachable):
    where: _Unreachable = request.getfixturevalue(unreachable)
    for provider, message in _both(where):
        with pytest.raises(TransientFailure) as failure:
            provider.send(message)

        assert failure.value.reason.startswith(f"could not reach {provider.name}: ")


def test_held_send_is_in_flight_until_released(provider_server):
    release = threading.Event()
    provider_server.script("twilio", held(release))
    results: list[str] = []
    sender = threading.Thread(
        target=lambda: results.append(
            _twilio(provider_server).send(_message(Channel.SMS, to=GUEST_PHONE)).provider_message_id
        )
    )
    sender.start()

    provider_server.wait_for_calls(1, "twilio")
    assert results == []  # arrived, not yet answered
    release.set()
    sender.join(timeout=5)

    assert results and results[0].startswith("SM")


def test_whatsapp_without_a_configured_sender_fails_without_calling_twilio(provider_server):
    with pytest.raises(PermanentFailure) as failure:
        _twilio(provider_server, whatsapp_from=None).send(_message(Channel.WHATSAPP, to=GUEST_PHONE))

    assert failure.value.reason == "no sender configured for whatsapp"
    assert provider_server.calls() == []


def test_sending_leaves_no_contact_or_secret_in_the_logs_even_at_debug(provider_server, caplog):
    with caplog.at_level(logging.DEBUG):
        _sendgrid(provider_server).send(_email())
        _twilio(provider_server).send(_message(Channel.SMS, to=GUEST_PHONE))

    assert caplog.records  # the libraries did log something
    for secret in (GUEST_EMAIL, GUEST_PHONE, API_KEY, AUTH_TOKEN):
        assert secret not in caplog.text


# --- The log provider ---------------------------------------------------------------------------------


def test_log_provider_logs_a_masked_recipient_and_records_the_message(caplog):
    provider = LogProvider()
    message = _message(Channel.WHATSAPP, to=GUEST_PHONE, subject=None)
    before = time.monotonic()

    with caplog.at_level(logging.INFO, logger="hospes.messages"):
        accepted = provider.send(message)

    [record] = [r for r in caplog.records if r.name == "hospes.messages"]
    line = record.getMessage()
    assert "+34•••••222" in line
    assert GUEST_PHONE not in line
    assert str(message.communication_id) in line
    assert message.body not in line
    assert accepted.provider == "log"
    assert accepted.provider_message_id.startswith("log-")
    [logged] = provider.sent
    assert logged.message == message
    assert logged.provider_message_id == accepted.provider_message_id
    assert before <= logged.at <= time.monotonic()


def test_log_provider_records_an_inquiry_mails_headers_and_logs_no_reply_token(caplog):
    provider = LogProvider()
    token = "i0123456789abcdef0123456789abcdef"
    message = replace(_email(), reply_to=f"demo+{token}@in.hospes.test", message_id="<c.1@in.hospes.test>")

    with caplog.at_level(logging.INFO, logger="hospes.messages"):
        provider.send(message)

    [record] = [r for r in caplog.records if r.name == "hospes.messages"]
    assert "<c.1@in.hospes.test>" in record.getMessage() and token not in record.getMessage()
    [logged] = provider.sent
    assert (logged.message.reply_to, logged.message.message_id) == (message.reply_to, message.message_id)


def test_log_provider_keeps_only_the_most_recent_messages_until_cleared():
    provider = LogProvider(capacity=3)
    messages = [_email(to=f"guest{n}@example.com") for n in range(5)]
    for message in messages:
        provider.send(message)

    assert [logged.message for logged in provider.sent] == messages[2:]
    provider.clear()
    assert provider.sent == []


@pytest.mark.parametrize(
    ("contact", "shown"),
    [
        ("+34600111222", "+34•••••222"),
        ("whatsapp:+34600111222", "whatsapp:+34•••••222"),
        ("ana.garcia@example.com", "a•••@example.com"),
        ("1234", "1•••"),
        ("", "•••"),
    ],
)
def test_masked_contact_never_shows_the_whole_of_it(contact, shown):
    assert masked(contact) == shown


# --- Choosing providers -------------------------------------------------------------------------------


def test_channels_without_credentials_go_to_the_log_provider():
    log = LogProvider()

    providers = build_providers(ProviderConfig(), log_provider=log)

    assert providers == {Channel.EMAIL: log, Channel.SMS: log, Channel.WHATSAPP: log}


def test_configured_channels_go_to_sendgrid_and_twilio():
    config = ProviderConfig(
        email_from="stay@hotel.example",
        sendgrid_api_key=API_KEY,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        sms_from="+15005550006",
        whatsapp_from="+14155238886",
    )

    providers = build_providers(config, log_provider=LogProvider())

    assert isinstance(providers[Channel.EMAIL], SendGridProvider)
    assert isinstance(providers[Channel.SMS], TwilioProvider)
    assert providers[Channel.WHATSAPP] is providers[Channel.SMS]


def test_a_channel_missing_part_of_its_configuration_stays_on_the_log_provider():
    log = LogProvider()
    config = ProviderConfig(
        sendgrid_api_key=API_KEY,  # no sender address
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        sms_from="+15005550006",  # no WhatsApp sender
    )

    providers = build_providers(config, log_provider=log)

    assert providers[Channel.EMAIL] is log
    assert isinstance(providers[Channel.SMS], TwilioProvider)
    assert providers[Channel.WHATSAPP] is log


def test_tenant_credentials_override_the_global_ones_and_fill_in_from_them():
    global_config = ProviderConfig(
        email_from="hello@hospes.example",
        sendgrid_api_key="SG.global",
        sendgrid_base_url="http://127.0.0.1:9999",
        twilio_account_sid="AC-global",
        twilio_auth_token="global-token",
        sms_from="+15005550006",
        timeout_seconds=2.0,
    )
    tenant_config = ProviderConfig(email_from="stay@hotel.example", sendgrid_api_key="SG.tenant")

    merged = tenant_config.merged_over(global_config)

    assert merged.email_from == "stay@hotel.example"
    assert merged.sendgrid_api_key == "SG.tenant"
    assert merged.twilio_account_sid == "AC-global"
    assert merged.sms_from == "+15005550006"
    assert merged.whatsapp_from is None
    # A tenant that never named a base URL or timeout does not pull the run back to the real provider.
    assert merged.sendgrid_base_url == "http://127.0.0.1:9999"
    assert merged.timeout_seconds == 2.0


def test_provider_config_never_shows_its_secrets():
    shown = repr(ProviderConfig(sendgrid_api_key=API_KEY, twilio_auth_token=AUTH_TOKEN))

    assert API_KEY not in shown
    assert AUTH_TOKEN not in shown


# --- Through the worker: what each kind of failure does to a message ---------------------------------

SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { errors { code } } }"""


def _email_one_guest(rig: Rig, tenant: TenantFixture) -> uuid.UUID:
    """Queue one email to a new guest through the API; the tenant's id."""
    api = rig.api(tenant)
    guest = create_guest(api, name="Slow Provider", email=GUEST_EMAIL, phone=None)
    sent = api.data(SEND, {"input": {"guestId": guest["id"], "subject": "Hi", "body": "Exactly once"}})
    assert sent["sendMessage"]["errors"] == []
    return tenant_id(rig_engine(rig), tenant.slug)


@pytest.mark.parametrize("answer", ["stalls", "drops"])
def test_a_message_the_provider_may_have_received_is_unknown_never_retried_and_settled_by_the_report(
    settings: Settings,
    provider_server: ProviderServer,
    make_tenant: Callable[..., TenantFixture],
    answer: str,
) -> None:
    release = threading.Event()
    # The stand-in reads the whole request, then holds it past our timeout or hangs up.
    provider_server.script("sendgrid", held(release) if answer == "stalls" else dropped())
    with running_rig(settings, provider_server) as rig:
        rig.settings.provider_timeout_seconds = 0.5
        rig.start_worker()
        tenant = make_tenant("slow")
        tid = _email_one_guest(rig, tenant)
        [row] = sent_messages(rig, tenant.schema_name)
        release.set()

        assert row["status"] == "unknown" and row["attempts"] == 1
        assert "it may have sent the message" in row["error"]
        assert outbox_rows(rig_engine(rig), tid) == []  # no retry scheduled
        rig.tick()
        assert len(calls_for(provider_server, tid)) == 1
        steps = [step for step, _ in timeline(rig_engine(rig), tenant.schema_name, row["id"])]
        assert steps == ["queued", "sending", "unknown"]
        # SendGrid's report finds the message by the custom arg we sent.
        event = {
            **sendgrid_event(row, tid, "delivered", 1_800_000_000),
            "sg_message_id": "sg-late.filter0001",
        }
        payload = json.dumps([event]).encode()
        response = rig.client.post(
            "/webhooks/sendgrid", content=payload, headers=rig.sendgrid_signature(payload)
        )
        assert response.status_code == 200
        [settled] = communications(rig_engine(rig), tenant.schema_name)
        assert settled["status"] == "delivered"
        assert len(calls_for(provider_server, tid)) == 1


def test_a_provider_refusing_connections_is_retried_then_sends_once_when_it_is_back(
    settings: Settings, make_tenant: Callable[..., TenantFixture]
) -> None:
    down = ProviderServer().start()
    down.stop()  # its port is closed now: every connection is refused
    back: ProviderServer | None = None
    with running_rig(settings, down) as rig:
        rig.start_worker()
        tenant = make_tenant("down")
        tid = _email_one_guest(rig, tenant)

        def refused() -> bool:
            [row] = communications(rig_engine(rig), tenant.schema_name)
            return row["status"] == "queued" and (row["error"] or "").startswith("could not reach sendgrid")

        wait_until(refused, what="the first attempt to be refused")
        back = ProviderServer(port=down.port).start()
        try:
            [row] = sent_messages(rig, tenant.schema_name)
            steps = [step for step, _ in timeline(rig_engine(rig), tenant.schema_name, row["id"])]
            calls = calls_for(back, tid)
        finally:
            back.stop()
    assert row["status"] == "sent" and row["attempts"] == 2
    assert steps == ["queued", "sending", "retrying", "sending", "sent"]
    assert len(calls) == 1
