"""A failing assertion over messages says which messages it saw, in one short line each."""

from __future__ import annotations

import pytest

from tests.messaging_support import Messages, ProviderCalls, describe_messages
from tests.provider_server import RecordedRequest


def _twilio(to: str, body: str) -> RecordedRequest:
    form = {
        "To": to,
        "From": "+12015550100",
        "Body": body,
        "StatusCallback": "https://x/webhooks/twilio/status",
    }
    return RecordedRequest(
        "twilio", "POST", "/2010-04-01/Accounts/AC0/Messages.json", {"x-big": "h" * 500}, form
    )


def test_a_failing_count_of_provider_calls_names_each_message() -> None:
    calls = ProviderCalls(
        [
            _twilio(
                "whatsapp:+34600111222", "Hola Anna, your booking at Casa del Sol is confirmed " + "x" * 300
            ),
            RecordedRequest(
                "sendgrid", "POST", "/v3/mail/send", {}, {"subject": "Welcome", "content": ["y" * 500]}
            ),
        ]
    )
    with pytest.raises(AssertionError) as failure:
        assert len(calls) == 1
    shown = str(failure.value)
    assert "[twilio whatsapp 'Hola Anna, your booking at Casa del Sol…'; sendgrid email 'Welcome']" in shown
    assert "x-big" not in shown and "yyy" not in shown  # no headers, no bodies


def test_a_failing_list_of_messages_shows_channel_template_and_status() -> None:
    rows = Messages(
        [
            {
                "channel": "whatsapp",
                "template_key": "booking_confirmed",
                "status": "sent",
                "direction": "out",
            },
            {
                "channel": "email",
                "template_key": "check_in",
                "status": "queued",
                "direction": "out",
                "body": "z" * 500,
            },
            {"channel": "sms", "template_key": None, "status": "received", "direction": "in"},
        ]
    )
    with pytest.raises(AssertionError) as failure:
        assert len(rows) == 1
    assert (
        "[whatsapp to booking_confirmed/sent; email to check_in/queued; sms from the guest/received]"
        in str(failure.value)
    )
    assert "zzz" not in str(failure.value)
    assert describe_messages([]) == "[]"
