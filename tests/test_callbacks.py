"""Provider callbacks: signatures made with real keys and the providers' own libraries, payloads as
SendGrid and Twilio send them, and the order rules that keep late callbacks from undoing news."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from twilio.request_validator import RequestValidator

from hospes.models.tenant import Channel, CommunicationStatus
from hospes.notifications.callbacks import (
    MAX_INBOUND_BODY,
    CallbackError,
    InboundMessage,
    advances,
    sendgrid_events,
    twilio_inbound,
    twilio_status,
)
from hospes.notifications.signatures import verify_sendgrid, verify_twilio

S = CommunicationStatus
NOW = 1_750_000_000.0
TWILIO_TOKEN = "12345678901234567890123456789012"
TWILIO_URL = "https://hooks.hospes.test/webhooks/twilio/status?c=5b8a3c52-3b0b-4c43-9a61-1c1c1c1c1c1c"


# --- SendGrid signatures --------------------------------------------------------------------------


def _export(public_key: Any) -> str:
    """The key as SendGrid shows it: base64 DER SubjectPublicKeyInfo (a PEM body without its lines)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def _sign(private_key: ec.EllipticCurvePrivateKey, timestamp: str, payload: bytes) -> str:
    """What SendGrid sends in X-Twilio-Email-Event-Webhook-Signature."""
    signature = private_key.sign(timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


@pytest.fixture(scope="module")
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def signed(sendgrid_key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    payload = json.dumps([{"event": "delivered", "email": "ana@example.com", "timestamp": int(NOW)}]).encode()
    timestamp = str(int(NOW) - 5)
    return {
        "payload": payload,
        "signature": _sign(sendgrid_key, timestamp, payload),
        "timestamp": timestamp,
        "public_key": _export(sendgrid_key.public_key()),
        "now": NOW,
    }


def test_sendgrid_signature_from_sendgrid_is_accepted(signed: dict[str, Any]) -> None:
    assert verify_sendgrid(**signed) is True


def test_sendgrid_key_pasted_as_pem_block_is_accepted(
    signed: dict[str, Any], sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    pem = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert verify_sendgrid(**{**signed, "public_key": pem.decode()}) is True


def test_sendgrid_tampered_payload_is_refused(signed: dict[str, Any]) -> None:
    tampered = signed["payload"].replace(b"delivered", b"bounce")
    assert verify_sendgrid(**{**signed, "payload": tampered}) is False


def test_sendgrid_signature_under_another_key_is_refused(signed: dict[str, Any]) -> None:
    other = _export(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert verify_sendgrid(**{**signed, "public_key": other}) is False


def test_sendgrid_signature_is_bound_to_its_timestamp(signed: dict[str, Any]) -> None:
    # A fresh timestamp on an old signature: the signed string no longer matches.
    assert verify_sendgrid(**{**signed, "timestamp": str(int(NOW))}) is False


def test_sendgrid_replay_of_an_old_request_is_refused(
    signed: dict[str, Any], sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    old = str(int(NOW) - 601)
    replay = {**signed, "timestamp": old, "signature": _sign(sendgrid_key, old, signed["payload"])}
    assert verify_sendgrid(**replay) is False
    assert verify_sendgrid(**replay, max_age_seconds=3600) is True


def test_sendgrid_timestamp_far_in_the_future_is_refused(
    signed: dict[str, Any], sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    future = str(int(NOW) + 3600)
    assert (
        verify_sendgrid(
            **{**signed, "timestamp": future, "signature": _sign(sendgrid_key, future, signed["payload"])}
        )
        is False
    )


def test_sendgrid_small_clock_drift_is_tolerated(
    signed: dict[str, Any], sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    ahead = str(int(NOW) + 60)
    drifted = {**signed, "timestamp": ahead, "signature": _sign(sendgrid_key, ahead, signed["payload"])}
    assert verify_sendgrid(**drifted) is True


def test_sendgrid_age_is_measured_against_the_real_clock_by_default(
    sendgrid_key: ec.EllipticCurvePrivateKey,
) -> None:
    payload = b"[]"
    fresh = str(int(time.time()))
    stale = str(int(time.time()) - 3600)
    key = _export(sendgrid_key.public_key())
    assert verify_sendgrid(
        payload=payload, signature=_sign(sendgrid_key, fresh, payload), timestamp=fresh, public_key=key
    )
    assert not verify_sendgrid(
        payload=payload, signature=_sign(sendgrid_key, stale, payload), timestamp=stale, public_key=key
    )


@pytest.mark.parametrize("header", ["signature", "timestamp"])
@pytest.mark.parametrize("missing", [None, ""])
def test_sendgrid_request_without_signature_headers_is_refused(
    signed: dict[str, Any], header: str, missing: str | None
) -> None:
    assert verify_sendgrid(**{**signed, header: missing}) is False


@pytest.mark.parametrize(
    "signature",
    ["not base64 at all!", "AAAA", base64.b64encode(b"\x30\x02\x01").decode(), "A" * 5000, "é"],
)
def test_sendgrid_garbage_signature_is_refused(signed: dict[str, Any], signature: str) -> None:
    assert verify_sendgrid(**{**signed, "signature": signature}) is False


@pytest.mark.parametrize("timestamp", ["yesterday", "-5", "1.5e9", " 1749999995", "١٧٤٩٩٩٩٩٩٥", "9" * 5000])
def test_sendgrid_garbled_timestamp_is_refused(signed: dict[str, Any], timestamp: str) -> None:
    assert verify_sendgrid(**{**signed, "timestamp": timestamp}) is False


def test_sendgrid_malformed_or_wrong_kind_of_key_is_refused(signed: dict[str, Any]) -> None:
    rsa_key = _export(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    for key in ["", "   ", "not a key", base64.b64encode(b"not DER").decode(), rsa_key]:
        assert verify_sendgrid(**{**signed, "public_key": key}) is False


def test_sendgrid_payload_that_is_not_utf8_is_refused(
    signed: dict[str, Any], sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    payload = b"[\xff\xfe]"
    signature = _sign(sendgrid_key, signed["timestamp"], payload)
    assert verify_sendgrid(**{**signed, "payload": payload, "signature": signature}) is False


# --- Twilio signatures ----------------------------------------------------------------------------

FORM = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "To": "+34600111222"}


def _twilio_signature(url: str = TWILIO_URL, params: Any = FORM, token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def test_twilio_signature_from_twilio_is_accepted() -> None:
    assert verify_twilio(url=TWILIO_URL, params=FORM, signature=_twilio_signature(), auth_token=TWILIO_TOKEN)


def test_twilio_signature_is_accepted_with_or_without_the_default_port() -> None:
    with_port = TWILIO_URL.replace("hospes.test/", "hospes.test:443/")
    assert verify_twilio(url=with_port, params=FORM, signature=_twilio_signature(), auth_token=TWILIO_TOKEN)
    assert verify_twilio(
        url=TWILIO_URL, params=FORM, signature=_twilio_signature(url=with_port), auth_token=TWILIO_TOKEN
    )


def test_twilio_form_given_as_pairs_signs_every_repeated_value() -> None:
    pairs = [("MessageSid", "SM1"), ("Tag", "b"), ("Tag", "a")]
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        TWILIO_URL, {"MessageSid": "SM1", "Tag": "a"}
    )
    # Twilio signs each value of a repeated name; dropping one must not verify.
    assert not verify_twilio(url=TWILIO_URL, params=pairs, signature=signature, auth_token=TWILIO_TOKEN)
    expected = RequestValidator(TWILIO_TOKEN).compute_signature(TWILIO_URL, _MultiDict(pairs))
    assert verify_twilio(url=TWILIO_URL, params=pairs, signature=expected, auth_token=TWILIO_TOKEN)


class _MultiDict(dict[str, list[str]]):
    """Flask's MultiDict shape, which Twilio's own validator understands."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        for name, value in pairs:
            self.setdefault(name, []).append(value)

    def getall(self, name: str) -> list[str]:
        return self[name]


def test_twilio_signature_under_another_token_is_refused() -> None:
    signature = _twilio_signature(token="another-token-another-token-1234")
    assert not verify_twilio(url=TWILIO_URL, params=FORM, signature=signature, auth_token=TWILIO_TOKEN)


def test_twilio_changed_parameter_is_refused() -> None:
    changed = {**FORM, "MessageStatus": "failed"}
    assert not verify_twilio(
        url=TWILIO_URL, params=changed, signature=_twilio_signature(), auth_token=TWILIO_TOKEN
    )
    added = {**FORM, "ErrorCode": "30003"}
    assert not verify_twilio(
        url=TWILIO_URL, params=added, signature=_twilio_signature(), auth_token=TWILIO_TOKEN
    )


def test_twilio_signature_for_another_url_is_refused() -> None:
    for url in [
        TWILIO_URL.replace("/status", "/inbound"),
        TWILIO_URL.replace("c=5b8a", "c=0000"),  # the ids in our query string are signed too
        TWILIO_URL.replace("https:", "http:"),
    ]:
        assert not verify_twilio(url=url, params=FORM, signature=_twilio_signature(), auth_token=TWILIO_TOKEN)


@pytest.mark.parametrize("signature", [None, "", "garbage", "é" * 28])
def test_twilio_missing_or_garbage_signature_is_refused(signature: str | None) -> None:
    assert not verify_twilio(url=TWILIO_URL, params=FORM, signature=signature, auth_token=TWILIO_TOKEN)


def test_twilio_empty_auth_token_refuses_even_a_matching_signature() -> None:
    signature = _twilio_signature(token="")
    assert not verify_twilio(url=TWILIO_URL, params=FORM, signature=signature, auth_token="")


def test_twilio_form_with_non_text_value_is_refused_not_raised() -> None:
    form: Any = {**FORM, "MediaFile": object()}
    assert not verify_twilio(
        url=TWILIO_URL, params=form, signature=_twilio_signature(), auth_token=TWILIO_TOKEN
    )


# --- Status order ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.SENT),
        (S.SENT, S.DELIVERED),
        (S.DELIVERED, S.READ),
        (S.QUEUED, S.DELIVERED),
        (S.SENT, S.READ),
    ],
)
def test_status_moves_forward(current: S, new: S) -> None:
    assert advances(current, new)


def test_late_sent_never_overwrites_delivered() -> None:
    assert not advances(S.DELIVERED, S.SENT)


def test_late_delivered_never_overwrites_read() -> None:
    assert not advances(S.READ, S.DELIVERED)


@pytest.mark.parametrize("status", list(S))
def test_same_status_twice_is_no_change(status: S) -> None:
    assert not advances(status, status)


def test_undelivered_after_sent_marks_failed() -> None:
    assert advances(S.SENT, S.FAILED)
    assert advances(S.QUEUED, S.FAILED)


@pytest.mark.parametrize("current", [S.DELIVERED, S.READ])
def test_late_failure_never_undoes_delivery(current: S) -> None:
    assert not advances(current, S.FAILED)


def test_proof_of_delivery_overrules_an_earlier_failure() -> None:
    assert advances(S.FAILED, S.DELIVERED)
    assert advances(S.FAILED, S.READ)
    assert not advances(S.FAILED, S.SENT)
    assert not advances(S.FAILED, S.QUEUED)


@pytest.mark.parametrize("new", [S.SENT, S.DELIVERED, S.READ, S.FAILED])
def test_any_report_of_the_provider_settles_an_unknown_outcome(new: S) -> None:
    assert advances(S.UNKNOWN, new)


def test_an_unknown_outcome_never_goes_back_to_queued_or_suppressed_and_never_undoes_news() -> None:
    assert not advances(S.UNKNOWN, S.QUEUED)
    assert not advances(S.UNKNOWN, S.SUPPRESSED)
    assert not any(advances(current, S.UNKNOWN) for current in [S.SENT, S.DELIVERED, S.READ, S.FAILED])


@pytest.mark.parametrize("new", [s for s in S if s != S.SUPPRESSED])
def test_suppressed_message_stays_suppressed(new: S) -> None:
    assert not advances(S.SUPPRESSED, new)


def test_only_a_queued_message_can_be_suppressed() -> None:
    assert advances(S.QUEUED, S.SUPPRESSED)
    assert not any(advances(current, S.SUPPRESSED) for current in [S.SENT, S.DELIVERED, S.READ, S.FAILED])


def test_callbacks_in_any_order_end_at_the_furthest_news() -> None:
    def apply(sequence: list[S]) -> S:
        current = S.QUEUED
        for new in sequence:
            if advances(current, new):
                current = new
        return current

    assert apply([S.DELIVERED, S.SENT]) == S.DELIVERED
    assert apply([S.READ, S.DELIVERED, S.SENT]) == S.READ
    assert apply([S.SENT, S.FAILED]) == S.FAILED
    assert apply([S.SENT, S.FAILED, S.DELIVERED]) == S.DELIVERED
    assert apply([S.UNKNOWN, S.DELIVERED, S.SENT]) == S.DELIVERED
    assert apply([S.UNKNOWN, S.SENT, S.FAILED]) == S.FAILED
    assert apply([S.DELIVERED, S.FAILED, S.SENT]) == S.DELIVERED


# --- SendGrid events ------------------------------------------------------------------------------

COMMUNICATION = uuid.uuid4()
TENANT = uuid.uuid4()


def _event(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "email": "ana@example.com",
        "timestamp": 1_750_000_000,
        "event": kind,
        "sg_event_id": f"evt-{kind}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
        "hospes_communication": str(COMMUNICATION),
        "hospes_tenant": str(TENANT),
        **fields,
    }


def _events(*events: Any) -> list[Any]:
    return sendgrid_events(json.dumps(list(events)).encode())


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("processed", S.SENT),
        ("delivered", S.DELIVERED),
        ("open", S.READ),
        ("click", S.READ),
        ("bounce", S.FAILED),
        ("dropped", S.FAILED),
        ("blocked", S.FAILED),
    ],
)
def test_sendgrid_event_maps_to_status(kind: str, status: S) -> None:
    [update] = _events(_event(kind))
    assert update.status == status
    assert update.provider == "sendgrid"


def test_sendgrid_update_carries_our_ids_time_and_event_id() -> None:
    [update] = _events(_event("delivered"))
    assert update.communication_id == COMMUNICATION
    assert update.tenant_id == TENANT
    assert update.provider_message_id == "14c5d75ce93"
    assert update.at == datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC)
    assert update.event_id == "evt-delivered"
    assert update.detail is None


@pytest.mark.parametrize(
    "kind", ["deferred", "spamreport", "unsubscribe", "group_unsubscribe", "unknown_new"]
)
def test_sendgrid_events_that_change_no_status_are_left_out(kind: str) -> None:
    assert _events(_event(kind)) == []


def test_sendgrid_bounce_reason_is_kept_without_the_address() -> None:
    reason = "550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown (call +34 600 111 222)"
    [update] = _events(_event("bounce", reason=reason))
    assert update.detail == "550 5.1.1 <[email]>: Recipient address rejected: User unknown (call [phone])"


def test_sendgrid_drop_without_reason_still_says_why() -> None:
    [update] = _events(_event("dropped", reason=None))
    assert update.detail == "dropped"


def test_sendgrid_machine_open_is_not_a_read() -> None:
    # Apple Mail Privacy Protection opens every message on delivery.
    assert _events(_event("open", sg_machine_open=True)) == []
    assert len(_events(_event("open", sg_machine_open=False))) == 1


def test_sendgrid_event_without_our_ids_is_matched_by_message_id() -> None:
    event = _event("delivered")
    del event["hospes_communication"], event["hospes_tenant"], event["timestamp"]
    before = datetime.now(UTC)
    [update] = _events(event)
    assert update.communication_id is None and update.tenant_id is None
    assert update.provider_message_id == "14c5d75ce93"
    assert before <= update.at <= datetime.now(UTC) + timedelta(seconds=1)


def test_sendgrid_malformed_events_are_skipped_and_the_rest_kept() -> None:
    updates = _events(
        "not an event",
        42,
        None,
        ["delivered"],
        _event("delivered", hospes_communication="not-a-uuid"),
        _event("delivered", hospes_tenant=12345),
        _event("delivered", timestamp="yesterday"),
        _event("delivered", timestamp=True),
        _event("delivered", timestamp=10**20),
        _event("delivered", event=["delivered"]),
        _event("delivered", sg_message_id=None, hospes_communication=None),  # nothing to find it by
        _event("open"),
    )
    assert [update.status for update in updates] == [S.READ]


def test_sendgrid_events_keep_their_order() -> None:
    updates = _events(_event("processed"), _event("delivered"), _event("open"))
    assert [update.status for update in updates] == [S.SENT, S.DELIVERED, S.READ]


@pytest.mark.parametrize(
    "payload",
    [b"", b"{", b'{"event": "delivered"}', b'"delivered"', b"null", b"[\xff]", b"[" * 100_000],
)
def test_sendgrid_body_that_is_not_a_json_array_is_an_error(payload: bytes) -> None:
    with pytest.raises(CallbackError, match="JSON array"):
        sendgrid_events(payload)


def test_sendgrid_empty_array_is_no_updates() -> None:
    assert sendgrid_events(b"[]") == []


# --- Twilio status callbacks ----------------------------------------------------------------------

SID = "SM" + "0123456789abcdef" * 2


def _status(status: str, **fields: str) -> dict[str, str]:
    return {"MessageSid": SID, "MessageStatus": status, "AccountSid": "AC" + "1" * 32, **fields}


@pytest.mark.parametrize(
    ("twilio", "status"),
    [
        ("sent", S.SENT),
        ("delivered", S.DELIVERED),
        ("read", S.READ),
        ("undelivered", S.FAILED),
        ("failed", S.FAILED),
    ],
)
def test_twilio_status_maps_to_status(twilio: str, status: S) -> None:
    update = twilio_status(_status(twilio))
    assert update is not None
    assert update.status == status
    assert update.provider == "twilio"
    assert update.provider_message_id == SID
    assert update.at.tzinfo is not None
    assert abs(update.at - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    "twilio", ["queued", "accepted", "scheduled", "sending", "receiving", "something_new"]
)
def test_twilio_status_still_in_flight_changes_nothing(twilio: str) -> None:
    assert twilio_status(_status(twilio)) is None


def test_twilio_older_sms_status_field_is_read() -> None:
    update = twilio_status({"MessageSid": SID, "SmsStatus": "delivered"})
    assert update is not None and update.status == S.DELIVERED


def test_twilio_failure_detail_is_code_and_message() -> None:
    update = twilio_status(
        _status("undelivered", ErrorCode="30003", ErrorMessage="Unreachable handset +34600111222")
    )
    assert update is not None
    assert update.detail == "30003: Unreachable handset [phone]"


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        ("30003", "30003: Unreachable destination handset"),
        ("30004", "30004: Message blocked"),
        ("30005", "30005: Unknown destination handset"),
        ("30006", "30006: Landline or unreachable carrier"),
        ("30007", "30007: Carrier violation / filtered"),
        ("30008", "30008: Unknown error"),
        ("63016", "63016: Outside the WhatsApp 24-hour window"),
        ("63003", "63003: WhatsApp channel could not find the To address"),
        ("21610", "error 21610"),
    ],
)
def test_twilio_error_code_alone_is_explained(code: str, detail: str) -> None:
    update = twilio_status(_status("failed", ErrorCode=code))
    assert update is not None and update.detail == detail


def test_twilio_failure_detail_never_keeps_a_national_number() -> None:
    update = twilio_status(
        _status("failed", ErrorCode="21610", ErrorMessage="Recipient 34600111222 opted out")
    )
    assert update is not None and update.detail == "21610: Recipient [phone] opted out"


def test_twilio_failure_without_error_code_says_its_status() -> None:
    update = twilio_status(_status("undelivered"))
    assert update is not None and update.detail == "undelivered"


def test_twilio_canceled_is_a_failure() -> None:
    update = twilio_status(_status("canceled"))
    assert update is not None
    assert (update.status, update.detail) == (S.FAILED, "canceled")


def test_twilio_success_carries_no_detail_even_with_an_error_code() -> None:
    update = twilio_status(_status("delivered", ErrorCode="30008"))
    assert update is not None and update.detail is None


def test_twilio_ids_from_our_callback_url_are_read() -> None:
    update = twilio_status(_status("delivered"), {"c": str(COMMUNICATION), "t": str(TENANT)})
    assert update is not None
    assert (update.communication_id, update.tenant_id) == (COMMUNICATION, TENANT)
    bare = twilio_status(_status("delivered"))
    assert bare is not None and bare.communication_id is None and bare.tenant_id is None


@pytest.mark.parametrize("query", [{"c": "nope"}, {"t": "123"}])
def test_twilio_bad_ids_in_callback_url_are_an_error(query: dict[str, str]) -> None:
    with pytest.raises(CallbackError, match="UUID"):
        twilio_status(_status("delivered"), query)


@pytest.mark.parametrize(
    "form", [{"MessageStatus": "delivered"}, {"MessageSid": "  ", "MessageStatus": "sent"}]
)
def test_twilio_status_without_message_sid_is_an_error(form: dict[str, str]) -> None:
    with pytest.raises(CallbackError, match="MessageSid"):
        twilio_status(form)


def test_twilio_status_without_status_is_an_error() -> None:
    with pytest.raises(CallbackError, match="MessageStatus"):
        twilio_status({"MessageSid": SID})


# --- Twilio incoming messages ---------------------------------------------------------------------


def _inbound(**fields: str) -> dict[str, str]:
    form = {
        "MessageSid": "SM" + "f" * 32,
        "From": "whatsapp:+34600111222",
        "To": "whatsapp:+14155238886",
        "Body": "  Hola, ¿a qué hora es el check-in? 🙂  ",
        "NumMedia": "0",
        "ProfileName": "Ana",
    }
    return {**form, **fields}


def test_whatsapp_message_is_read_with_plain_numbers() -> None:
    assert twilio_inbound(_inbound()) == InboundMessage(
        provider_message_id="SM" + "f" * 32,
        channel=Channel.WHATSAPP,
        sender="+34600111222",
        recipient="+14155238886",
        body="Hola, ¿a qué hora es el check-in? 🙂",
        media_count=0,
        profile_name="Ana",
    )


def test_sms_message_is_read_as_sms() -> None:
    message = twilio_inbound(_inbound(From="+34 600 11 12 22", To="+14155238886", ProfileName=""))
    assert message.channel == Channel.SMS
    assert (message.sender, message.recipient) == ("+34600111222", "+14155238886")
    assert message.profile_name is None


def test_inbound_body_is_capped_and_media_counted() -> None:
    message = twilio_inbound(_inbound(Body="x" * (MAX_INBOUND_BODY + 100), NumMedia="2"))
    assert len(message.body) == MAX_INBOUND_BODY
    assert message.media_count == 2


def test_inbound_media_only_message_has_empty_body() -> None:
    form = _inbound(NumMedia="1")
    del form["Body"]
    message = twilio_inbound(form)
    assert (message.body, message.media_count) == ("", 1)


def test_inbound_text_drops_characters_the_database_cannot_store() -> None:
    message = twilio_inbound(_inbound(Body="a\x00b\r\nc 👨\u200d👩\u200d👧", ProfileName="\x00"))
    assert message.body == "ab\nc 👨\u200d👩\u200d👧"
    assert message.profile_name is None


@pytest.mark.parametrize("count", ["", "many", "-3"])
def test_inbound_unreadable_media_count_is_zero(count: str) -> None:
    assert twilio_inbound(_inbound(NumMedia=count)).media_count == 0


@pytest.mark.parametrize("field", ["MessageSid", "From", "To"])
def test_inbound_without_required_field_is_an_error(field: str) -> None:
    form = _inbound()
    del form[field]
    with pytest.raises(CallbackError, match=field):
        twilio_inbound(form)


@pytest.mark.parametrize("sender", ["whatsapp:hello", "whatsapp:", "+999", "600111222", "+34 1"])
def test_inbound_from_that_is_not_a_phone_number_is_an_error(sender: str) -> None:
    with pytest.raises(CallbackError, match="From is not a valid phone number"):
        twilio_inbound(_inbound(From=sender))


def test_callback_error_does_not_echo_the_payload() -> None:
    with pytest.raises(CallbackError) as raised:
        twilio_inbound(_inbound(From="whatsapp:<script>alert(1)</script>"))
    assert "<script>" not in str(raised.value)
