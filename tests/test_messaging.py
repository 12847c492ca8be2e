"""Messages reach guests on the right channel, exactly once in effect: the outbox, the real Dramatiq
worker on Redis, the scheduler, and the real sendgrid/twilio libraries talking to a local server
that plays the providers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hospes.models.public import OutboxKind
from hospes.models.tenant import Booking, Guest
from hospes.notifications import lifecycle
from hospes.schema.ids import encode_id
from hospes.settings import Settings
from hospes.tasks.broker import make_broker, message_for
from hospes.tasks.outbox import OutboxItem
from hospes.tasks.runtime import Runtime
from tests.conftest import GraphQLClient, TenantFixture
from tests.dates import AHEAD, days_from_today, iso
from tests.factories import create_booking, create_guest, create_property
from tests.helpers_accounts import REGISTER
from tests.helpers_db import plaintext_found
from tests.messaging_support import (
    Company,
    Rig,
    calls_for,
    communications,
    new_company,
    outbox_rows,
    rig_engine,
    running_rig,
    sendgrid_event,
    sent_messages,
    tenant_id,
    timeline,
    twilio_post,
    wait_until,
)
from tests.provider_server import (
    ProviderName,
    ProviderServer,
    ScriptedResponse,
    held,
    provider_server_fixture,  # noqa: F401  (registers the provider_server fixture)
    rate_limited,
    server_error,
    twilio_unreachable_whatsapp,
)

SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  communication { id status channel error timeline { step channel } } errors { field code message } } }"""
MESSAGES = (
    """query($id: ID!) { guest(id: $id) { communications { status error sentAt timeline { step } } } }"""
)
CONSENT = """mutation($id: ID!, $sms: Boolean!, $marketing: Boolean!) {
  setGuestConsent(input: {guestId: $id, smsOptIn: $sms, marketingEmailConsent: $marketing}) { errors { code } } }"""
UPDATE_GUEST = (
    """mutation($input: UpdateGuestInput!) { updateGuest(input: $input) { errors { field code } } }"""
)


def _send(api: GraphQLClient, **values: object) -> dict:
    return api.data(SEND, {"input": values})["sendMessage"]


@pytest.fixture
def rig(settings: Settings, provider_server: ProviderServer) -> Iterator[Rig]:
    with running_rig(settings, provider_server) as made:
        yield made


@pytest.fixture
def company(rig: Rig, make_tenant: Callable[..., TenantFixture]) -> Company:
    return new_company(rig, make_tenant, "msg")


# --- channels, consent, classes ------------------------------------------------------------------


def test_booking_confirmation_goes_by_whatsapp_to_a_mobile_guest_with_its_portal_link(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    rig.start_worker()
    place = create_property(api)
    guest = create_guest(api, email="anna@example.com", phone="+34600111222", language="es")
    create_booking(api, property_id=place["id"], guest_id=guest["id"])
    schema = tenant.schema_name
    rows = sent_messages(rig, schema)
    confirmation = next(row for row in rows if row["template_key"] == "booking_confirmed")
    assert confirmation["status"] == "sent" and confirmation["channel"] == "whatsapp"
    calls = calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))
    assert len(calls) == 1
    form = calls[0].body
    assert form["To"] == "whatsapp:+34600111222" and form["From"] == "whatsapp:+12015550101"
    assert "portal.hospes.example/p/" in form["Body"]  # the link issued with the booking
    assert "Casa del Sol" in form["Body"]
    assert [step for step, _ in timeline(rig_engine(rig), schema, confirmation["id"])] == [
        "queued",
        "sending",
        "sent",
    ]


def test_a_registration_link_reaches_an_address_no_guest_record_holds(rig: Rig, company: Company) -> None:
    tenant, _ = company
    rig.start_worker()
    public = GraphQLClient(rig.client, {"X-Tenant": tenant.slug})
    details = {"email": "new@example.com", "password": "sunny-beach-house-42", "name": "Nina New"}
    assert public.data(REGISTER, {"input": details})["accountRegister"] == {"token": None, "errors": []}
    [row] = sent_messages(rig, tenant.schema_name)
    assert (row["status"], row["channel"], row["guest_id"]) == ("sent", "email", None)
    [mail] = [call.body for call in calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))]
    assert [to["email"] for to in mail["personalizations"][0]["to"]] == ["new@example.com"]
    sent_text = mail["content"][0]["value"]
    assert "portal.hospes.example/p/verify-email/ha_" in sent_text and "[link]" not in sent_text
    assert "[link]" in row["body"]  # the stored body never holds the link


def test_email_only_guest_gets_email_and_sms_needs_opt_in(rig: Rig, company: Company) -> None:
    tenant, api = company
    rig.start_worker()
    email_only = create_guest(api, name="Eve Mail", email="eve@example.com", phone=None)
    texter = create_guest(api, name="Sam Text", email=None, phone="+34600111333")
    api.data(UPDATE_GUEST, {"input": {"guestId": texter["id"], "preferredChannel": "SMS"}})
    # Preferred SMS without opt-in: WhatsApp (mobile) is used instead.
    first = _send(api, guestId=texter["id"], body="Hello")
    assert first["communication"]["channel"] == "WHATSAPP"
    api.data(CONSENT, {"id": texter["id"], "sms": True, "marketing": False})
    second = _send(api, guestId=texter["id"], body="Hello again")
    assert second["communication"]["channel"] == "SMS"
    third = _send(api, guestId=email_only["id"], subject="Hi", body="Hello by mail")
    assert third["communication"]["channel"] == "EMAIL"
    sent_messages(rig, tenant.schema_name, 3)
    calls = calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))
    assert sorted(call.provider for call in calls) == ["sendgrid", "twilio", "twilio"]
    sms = [
        call.body
        for call in calls
        if call.provider == "twilio" and not call.body["To"].startswith("whatsapp:")
    ]
    assert sms[0]["From"] == "+12015550100"


def test_marketing_without_consent_is_suppressed_with_its_reason_and_nothing_issent_messages(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    rig.start_worker()
    guest = create_guest(api, name="Mo Arketing", email="mo@example.com", phone=None)
    outcome = _send(api, guestId=guest["id"], subject="Offer", body="20% off", messageClass="MARKETING")
    assert outcome["communication"]["status"] == "SUPPRESSED"
    assert outcome["communication"]["error"] == "no marketing consent"
    api.data(CONSENT, {"id": guest["id"], "sms": False, "marketing": True})
    allowed = _send(api, guestId=guest["id"], subject="Offer", body="20% off", messageClass="MARKETING")
    assert allowed["communication"]["status"] == "QUEUED"
    sent_messages(rig, tenant.schema_name, 2)
    calls = calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))
    assert len(calls) == 1


def test_explicit_sms_without_opt_in_is_suppressed_not_rerouted(rig: Rig, company: Company) -> None:
    _tenant, api = company
    guest = create_guest(api, name="No Optin", email="no@example.com", phone="+34600111444")
    outcome = _send(api, guestId=guest["id"], body="Hi", channel="SMS")
    assert outcome["communication"]["status"] == "SUPPRESSED"
    assert "opt-in" in outcome["communication"]["error"]


def test_consent_withdrawn_after_queueing_is_checked_again_at_send_time(rig: Rig, company: Company) -> None:
    tenant, api = company
    guest = create_guest(api, name="Wanda Withdraw", email="wanda@example.com", phone=None)
    api.data(CONSENT, {"id": guest["id"], "sms": False, "marketing": True})
    queued = _send(api, guestId=guest["id"], subject="Offer", body="Sale", messageClass="MARKETING")
    assert queued["communication"]["status"] == "QUEUED"
    api.data(CONSENT, {"id": guest["id"], "sms": False, "marketing": False})
    rig.start_worker()
    rig.tick()  # in case the relay's enqueue raced the worker's start
    rows = sent_messages(rig, tenant.schema_name)
    assert rows[0]["status"] == "suppressed" and rows[0]["error"] == "no marketing consent"
    assert calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug)) == []


# --- delivery guarantees ---------------------------------------------------------------------------


def test_rolled_back_transaction_sends_nothing(rig: Rig, company: Company) -> None:
    tenant, api = company
    rig.start_worker()
    guest = create_guest(api, name="Rollo Back", email="rollo@example.com", phone=None)
    other = create_guest(api, name="Other Guest", email="other@example.com", phone=None)
    place = create_property(api)
    booking = create_booking(api, property_id=place["id"], guest_id=other["id"])
    sent_messages(rig, tenant.schema_name)  # the other guest's confirmation
    before = len(communications(rig_engine(rig), tenant.schema_name))
    # A booking of another guest: the mutation is refused and its transaction rolled back.
    refused = _send(api, guestId=guest["id"], bookingId=booking["id"], body="Hi")
    assert refused["errors"][0]["field"] == "bookingId" and refused["communication"] is None
    rig.tick()
    assert len(communications(rig_engine(rig), tenant.schema_name)) == before
    pending = outbox_rows(rig_engine(rig), tenant_id(rig_engine(rig), tenant.slug))
    assert [row for row in pending if row["kind"] == "deliver"] == []  # lifecycle rows wait for their day
    assert len(calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))) == 1


def test_redis_down_at_commit_then_back_sends_once(rig: Rig, company: Company) -> None:
    tenant, api = company
    resources = rig.client.app.state.resources  # type: ignore[attr-defined]
    live_broker = resources.broker
    resources.broker = make_broker("redis://127.0.0.1:1/0", namespace="down", socket_timeout=0.2)
    try:
        guest = create_guest(api, name="Reddy Down", email="reddy@example.com", phone=None)
        outcome = _send(api, guestId=guest["id"], subject="Hi", body="Sent while Redis was down")
        assert outcome["communication"]["status"] == "QUEUED"  # committed all the same
    finally:
        resources.broker = live_broker
    tid = tenant_id(rig_engine(rig), tenant.slug)
    assert len(outbox_rows(rig_engine(rig), tid)) == 1  # the work waits in PostgreSQL
    rig.start_worker()
    rows = sent_messages(rig, tenant.schema_name)
    assert rows[0]["status"] == "sent"
    rig.tick()
    assert len(calls_for(rig.provider, tid)) == 1
    assert outbox_rows(rig_engine(rig), tid) == []


def test_hospes_scheduler_enqueues_what_the_relay_could_not(rig: Rig, company: Company) -> None:
    tenant, api = company
    resources = rig.client.app.state.resources  # type: ignore[attr-defined]
    live_broker = resources.broker
    resources.broker = make_broker("redis://127.0.0.1:1/0", namespace="down", socket_timeout=0.2)
    try:
        guest = create_guest(api, name="Sched Uler", email="sched@example.com", phone=None)
        _send(api, guestId=guest["id"], subject="Hi", body="Left to the scheduler")
    finally:
        resources.broker = live_broker
    rig.start_worker()
    scheduler = rig.command("scheduler", HOSPES_SCHEDULER_INTERVAL_SECONDS="0.2")
    try:
        row = wait_until(
            lambda: [r for r in communications(rig_engine(rig), tenant.schema_name) if r["status"] == "sent"],
            what="`hospes scheduler` to enqueue the message and the worker to send it",
        )[0]
    finally:
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=15) == 0  # a clean stop on SIGTERM
    assert row["body"] == "Left to the scheduler"
    assert len(calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))) == 1


def test_the_same_dramatiq_message_delivered_twice_calls_the_provider_once(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    guest = create_guest(api, name="Dupe Licate", email="dupe@example.com", phone=None)
    outcome = _send(api, guestId=guest["id"], subject="Hi", body="Once")
    communication_id = uuid.UUID(
        next(row["id"] for row in communications(rig_engine(rig), tenant.schema_name)).hex
    )
    tid = tenant_id(rig_engine(rig), tenant.slug)
    broker = make_broker(rig.settings.redis_url or "", namespace=rig.settings.redis_namespace)
    message = message_for(OutboxItem(tid, OutboxKind.DELIVER, communication_id))
    broker.enqueue(message)
    broker.enqueue(message)
    broker.close()
    assert outcome["communication"]["status"] == "QUEUED"
    rig.start_worker()
    sent_messages(rig, tenant.schema_name)
    rig.tick()
    wait_until(lambda: rig.worker is not None, what="worker")
    import time

    time.sleep(1.0)  # let every copy of the message reach the worker
    assert len(calls_for(rig.provider, tid)) == 1


def _killed_mid_send(rig: Rig, company: Company, provider: ProviderName, **guest: Any) -> dict:
    """Send one message through a real `hospes worker` that is SIGKILLed while the provider holds
    its request; then let the lease run out and a fresh worker find the claim. The row, once out."""
    tenant, api = company
    release = threading.Event()
    rig.provider.script(provider, held(release, timeout=30))
    made = create_guest(api, **guest)
    worker = rig.command("worker", HOSPES_WORKER_THREADS="1")
    try:
        _send(api, guestId=made["id"], subject="Hi", body="Exactly once")
        tid = tenant_id(rig_engine(rig), tenant.slug)
        wait_until(lambda: calls_for(rig.provider, tid), what="the provider call to begin")
        worker.send_signal(signal.SIGKILL)  # dies while the provider holds the request
        worker.wait(timeout=10)
    finally:
        release.set()
        if worker.poll() is None:
            worker.kill()
    rig.start_worker()
    [row] = sent_messages(rig, tenant.schema_name)
    return row


def test_a_send_interrupted_by_a_killed_worker_is_unknown_never_retried_and_settled_by_the_report(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    row = _killed_mid_send(
        rig, company, "sendgrid", name="Kill Dworker", email="kill@example.com", phone=None
    )
    assert row["status"] == "unknown" and "not retried" in row["error"]
    assert row["provider_message_id"] is None  # the provider's answer never came back
    tid = tenant_id(rig_engine(rig), tenant.slug)
    rig.tick()
    assert len(calls_for(rig.provider, tid)) == 1
    [shown] = api.data(MESSAGES, {"id": encode_id("Guest", row["guest_id"])})["guest"]["communications"]
    assert shown["status"] == "UNKNOWN" and shown["timeline"][-1]["step"] == "UNKNOWN"
    # SendGrid's report names the message by the custom arg we sent, not by an id we never stored.
    event = {**sendgrid_event(row, tid, "delivered", 1_800_000_000), "sg_message_id": "sg-unseen.filter0001"}
    payload = json.dumps([event]).encode()
    response = rig.client.post("/webhooks/sendgrid", content=payload, headers=rig.sendgrid_signature(payload))
    assert response.status_code == 200
    [shown] = api.data(MESSAGES, {"id": encode_id("Guest", row["guest_id"])})["guest"]["communications"]
    assert shown["status"] == "DELIVERED" and shown["error"] is None and shown["sentAt"] is not None
    assert len(calls_for(rig.provider, tid)) == 1


def test_an_interrupted_whatsapp_message_is_settled_by_twilio_s_status_callback(
    rig: Rig, company: Company
) -> None:
    tenant, _ = company
    row = _killed_mid_send(rig, company, "twilio", name="Kill Whats", email=None, phone="+34600111777")
    assert row["status"] == "unknown" and row["channel"] == "whatsapp"
    tid = tenant_id(rig_engine(rig), tenant.slug)
    form = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    response = twilio_post(rig, "/webhooks/twilio/status", form, query=f"?t={tid}&c={row['id']}")
    assert response.status_code == 204
    [settled] = communications(rig_engine(rig), tenant.schema_name)
    assert settled["status"] == "failed" and settled["error"].startswith("30003")
    assert len(calls_for(rig.provider, tid)) == 1


@pytest.mark.parametrize(
    "refusal", [rate_limited(retry_after=0.3), server_error(503)], ids=["rate-limited", "unavailable"]
)
def test_transient_failures_retry_with_backoff_then_send_once(
    rig: Rig, company: Company, refusal: ScriptedResponse
) -> None:
    tenant, api = company
    rig.provider.script("sendgrid", refusal)
    rig.start_worker()
    guest = create_guest(api, name="Retry Later", email="retry@example.com", phone=None)
    _send(api, guestId=guest["id"], subject="Hi", body="Eventually")
    tid = tenant_id(rig_engine(rig), tenant.slug)
    rows = sent_messages(rig, tenant.schema_name)
    assert rows[0]["status"] == "sent" and rows[0]["attempts"] == 2
    steps = [step for step, _ in timeline(rig_engine(rig), tenant.schema_name, rows[0]["id"])]
    assert steps == ["queued", "sending", "retrying", "sending", "sent"]
    assert len(calls_for(rig.provider, tid)) == 2  # one refused, one accepted


def test_whatsapp_permanent_failure_falls_back_to_sms_then_records_each_attempt(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    rig.provider.script("twilio", twilio_unreachable_whatsapp())
    rig.start_worker()
    guest = create_guest(api, name="Fall Back", email="fall@example.com", phone="+34600111555")
    api.data(CONSENT, {"id": guest["id"], "sms": True, "marketing": False})
    _send(api, guestId=guest["id"], body="Where are you?")
    rows = sent_messages(rig, tenant.schema_name)
    assert rows[0]["status"] == "sent" and rows[0]["channel"] == "sms"
    steps = timeline(rig_engine(rig), tenant.schema_name, rows[0]["id"])
    assert [step for step, _ in steps] == ["queued", "sending", "failed", "rerouted", "sending", "sent"]
    assert steps[2][1] == "whatsapp"
    tos = [call.body["To"] for call in calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))]
    assert tos == ["whatsapp:+34600111555", "+34600111555"]


# --- webhooks --------------------------------------------------------------------------------------


def _sent_email(rig: Rig, company: Company) -> tuple[TenantFixture, dict, uuid.UUID]:
    tenant, api = company
    rig.start_worker()
    guest = create_guest(api, name="Hook Guest", email="hook@example.com", phone=None)
    _send(api, guestId=guest["id"], subject="Hi", body="Track me")
    row = sent_messages(rig, tenant.schema_name)[0]
    return tenant, row, tenant_id(rig_engine(rig), tenant.slug)


def test_sendgrid_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    rig: Rig, company: Company
) -> None:
    tenant, row, tid = _sent_email(rig, company)
    payload = json.dumps([sendgrid_event(row, tid, "delivered", 1_800_000_000)]).encode()
    headers = rig.sendgrid_signature(payload)
    tampered = payload.replace(b"delivered", b"bounce\x20\x20\x20")
    response = rig.client.post("/webhooks/sendgrid", content=tampered, headers=headers)
    assert response.status_code == 403
    assert communications(rig_engine(rig), tenant.schema_name)[0]["status"] == "sent"


def test_out_of_order_status_callbacks_only_move_forward(rig: Rig, company: Company) -> None:
    tenant, row, tid = _sent_email(rig, company)
    payload = json.dumps(
        [
            sendgrid_event(row, tid, "delivered", 1_800_000_100),
            sendgrid_event(row, tid, "processed", 1_800_000_000),
        ]
    ).encode()
    assert (
        rig.client.post(
            "/webhooks/sendgrid", content=payload, headers=rig.sendgrid_signature(payload)
        ).status_code
        == 200
    )
    late = json.dumps([sendgrid_event(row, tid, "processed", 1_800_000_050)]).encode()
    assert (
        rig.client.post("/webhooks/sendgrid", content=late, headers=rig.sendgrid_signature(late)).status_code
        == 200
    )
    final = communications(rig_engine(rig), tenant.schema_name)[0]
    assert final["status"] == "delivered"
    opened = json.dumps([sendgrid_event(row, tid, "open", 1_800_000_200)]).encode()
    rig.client.post("/webhooks/sendgrid", content=opened, headers=rig.sendgrid_signature(opened))
    assert communications(rig_engine(rig), tenant.schema_name)[0]["status"] == "read"
    steps = [step for step, _ in timeline(rig_engine(rig), tenant.schema_name, row["id"])]
    assert steps[-2:] == ["delivered", "read"]


def test_twilio_status_callbacks_are_verified_and_only_move_forward(rig: Rig, company: Company) -> None:
    tenant, api = company
    rig.start_worker()
    guest = create_guest(api, name="Status Guest", email=None, phone="+34600111666")
    _send(api, guestId=guest["id"], body="Hola")
    row = sent_messages(rig, tenant.schema_name)[0]
    tid = tenant_id(rig_engine(rig), tenant.slug)
    query = f"?t={tid}&c={row['id']}"
    sid = row["provider_message_id"]
    forged = twilio_post(
        rig,
        "/webhooks/twilio/status",
        {"MessageSid": sid, "MessageStatus": "delivered"},
        token="wrong",
        query=query,
    )
    assert forged.status_code == 403
    assert communications(rig_engine(rig), tenant.schema_name)[0]["status"] == "sent"
    for status in ("delivered", "sent"):  # the late "sent" must not win
        response = twilio_post(
            rig, "/webhooks/twilio/status", {"MessageSid": sid, "MessageStatus": status}, query=query
        )
        assert response.status_code == 204
    assert communications(rig_engine(rig), tenant.schema_name)[0]["status"] == "delivered"


SET_SENDERS = """mutation($input: UpdateMessagingSettingsInput!) { updateMessagingSettings(input: $input) {
  settings { smsProvider smsFrom ownTwilioAccount } errors { field code } } }"""
GUEST_COMMS = (
    """query($id: ID!) { guest(id: $id) { name communications { direction channel status body } } }"""
)
GUESTS = """{ guests(first: 50) { edges { node { id name phone communications { direction body } } } } }"""


def test_inbound_sms_from_an_unknown_number_becomes_a_new_guest(rig: Rig, company: Company) -> None:
    tenant, api = company
    number = f"+1201555{uuid.uuid4().int % 10_000:04d}"
    settings = api.data(
        SET_SENDERS,
        {"input": {"smsFrom": number, "twilioAccountSid": "AC" + "1" * 32, "twilioAuthToken": "own-token"}},
    )["updateMessagingSettings"]
    assert settings["errors"] == [] and settings["settings"]["ownTwilioAccount"] is True
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": "+34600999888",
        "To": number,
        "Body": "Is the pool heated?",
    }
    assert twilio_post(rig, "/webhooks/twilio/inbound", form).status_code == 403  # global token: not theirs
    response = twilio_post(rig, "/webhooks/twilio/inbound", form, token="own-token")
    assert response.status_code == 200 and "<Response" in response.text
    twilio_post(rig, "/webhooks/twilio/inbound", form, token="own-token")  # Twilio retries: stored once
    guests = [edge["node"] for edge in api.data(GUESTS)["guests"]["edges"]]
    newcomer = [guest for guest in guests if guest["phone"] == "+34600999888"]
    assert len(newcomer) == 1
    assert newcomer[0]["communications"] == [{"direction": "IN", "body": "Is the pool heated?"}]
    assert plaintext_found(rig_engine(rig), tenant.schema_name, ["Is the pool heated?"]) == []  # encrypted
    # A known sender is matched by blind index, not duplicated.
    again = {**form, "MessageSid": "SM" + uuid.uuid4().hex, "Body": "Thanks!"}
    twilio_post(rig, "/webhooks/twilio/inbound", again, token="own-token")
    guests = [edge["node"] for edge in api.data(GUESTS)["guests"]["edges"]]
    assert len([guest for guest in guests if guest["phone"] == "+34600999888"]) == 1


def test_inbound_to_a_number_no_company_owns_is_refused(rig: Rig, company: Company) -> None:
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "From": "+34600999777", "To": "+12015559999", "Body": "Hi"}
    assert twilio_post(rig, "/webhooks/twilio/inbound", form).status_code == 404


# --- lifecycle -------------------------------------------------------------------------------------


def _fall_due(rig: Rig, schema: str, tid: uuid.UUID, key: str) -> uuid.UUID:
    """Move one scheduled message's time to now, as if its day had come."""
    with rig_engine(rig).begin() as connection:
        scheduled = connection.execute(
            sa.text(
                f'UPDATE "{schema}".scheduled_message SET due_at = now() WHERE template_key = :key RETURNING id'
            ),
            {"key": key},
        ).scalar_one()
        connection.execute(
            sa.text("UPDATE public.outbox SET due_at = now() WHERE tenant_id = :t AND ref_id = :r"),
            {"t": tid, "r": scheduled},
        )
    return uuid.UUID(str(scheduled))


def test_a_due_lifecycle_message_is_rendered_then_with_a_fresh_portal_link(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    place = create_property(api, name="Villa Luna")
    guest = create_guest(api, name="Pia Plan", email="pia@example.com", phone=None, language="es")
    booking = create_booking(
        api, property_id=place["id"], guest_id=guest["id"], checkIn=iso(AHEAD + 30), checkOut=iso(AHEAD + 32)
    )
    tid = tenant_id(rig_engine(rig), tenant.slug)
    rig.start_worker()
    sent_messages(rig, tenant.schema_name)  # the confirmation
    _fall_due(rig, tenant.schema_name, tid, "pre_arrival")
    rows = sent_messages(rig, tenant.schema_name, 2)
    pre_arrival = next(row for row in rows if row["template_key"] == "pre_arrival")
    assert pre_arrival["status"] == "sent" and pre_arrival["channel"] == "email"
    assert "Villa Luna" in pre_arrival["body"] and "[portal link]" in pre_arrival["body"]
    mail = [call.body for call in calls_for(rig.provider, tid)][-1]
    sent_text = mail["content"][0]["value"]
    assert "portal.hospes.example/p/" in sent_text and "[portal link]" not in sent_text
    schedule = api.data(
        "query($id: ID!) { booking(id: $id) { scheduledMessages { templateKey status communicationId } } }",
        {"id": booking["id"]},
    )["booking"]["scheduledMessages"]
    done = next(item for item in schedule if item["templateKey"] == "pre_arrival")
    assert done["status"] == "DONE" and done["communicationId"]


CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { errors { code } } }"""


def test_a_lifecycle_message_whose_booking_was_cancelled_after_it_was_queued_is_suppressed_at_send_time(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    place = create_property(api, name="Villa Nube")
    guest = create_guest(api, name="Cal Cancel", email="cal@example.com", phone=None)
    booking = create_booking(
        api, property_id=place["id"], guest_id=guest["id"], checkIn=iso(AHEAD + 30), checkOut=iso(AHEAD + 32)
    )
    tid = tenant_id(rig_engine(rig), tenant.slug)
    with rig_engine(rig).connect() as connection:
        booking_id, guest_id = connection.execute(
            sa.text(f'SELECT id, guest_id FROM "{tenant.schema_name}".booking')
        ).one()

    async def queue_pre_arrival() -> uuid.UUID:
        # Queued while the booking stood (as the lifecycle actor does), not yet delivered.
        runtime = Runtime.build(rig.settings, database_url=rig.settings.database_url or "", broker=None)
        try:
            ref = await runtime.registry.by_id(tid)
            assert ref is not None
            async with runtime.transaction(ref) as session:
                guest_row = await session.get(Guest, guest_id)
                booking_row = await session.get(Booking, booking_id)
                assert guest_row is not None and booking_row is not None
                keys = await runtime.keys(session, ref, guest_row.email_enc, guest_row.phone_enc)
                queued = await lifecycle.queue_for_booking(
                    session,
                    tenant=ref,
                    keys=keys,
                    booking=booking_row,
                    guest=guest_row,
                    key="pre_arrival",
                    portal_link=None,
                    lease_seconds=rig.settings.outbox_lease_seconds,
                )
                return queued.id
        finally:
            await runtime.close()

    pre_arrival = asyncio.run(queue_pre_arrival())
    assert api.data(CANCEL, {"input": {"bookingId": booking["id"]}})["cancelBooking"]["errors"] == []
    rig.start_worker()
    rows = sent_messages(rig, tenant.schema_name, 2)  # the confirmation and the pre-arrival message
    row = next(row for row in rows if row["id"] == pre_arrival)
    assert row["status"] == "suppressed" and row["error"] == "booking cancelled"
    assert timeline(rig_engine(rig), tenant.schema_name, pre_arrival) == [
        ("queued", "email"),
        ("suppressed", "email"),
    ]
    [confirmation] = calls_for(rig.provider, tid)  # nothing before arrival went out
    assert confirmation.body["custom_args"]["hospes_communication"] != str(pre_arrival)
    assert not [item for item in outbox_rows(rig_engine(rig), tid) if item["ref_id"] == pre_arrival]


def test_check_in_instructions_go_out_in_clear_and_stay_encrypted_at_rest(rig: Rig, company: Company) -> None:
    tenant, api = company
    door = "Lockbox 4417 under the blue shutter"
    place = create_property(api, name="Villa Sol", checkInInstructions=door)
    guest = create_guest(api, name="Ida Inn", email="ida@example.com", phone=None, language="en")
    arrival = days_from_today(AHEAD)
    create_booking(
        api,
        property_id=place["id"],
        guest_id=guest["id"],
        checkIn=arrival.isoformat(),
        checkOut=(arrival + timedelta(days=3)).isoformat(),
    )
    tid = tenant_id(rig_engine(rig), tenant.slug)
    rig.start_worker()
    sent_messages(rig, tenant.schema_name)  # the confirmation
    _fall_due(rig, tenant.schema_name, tid, "check_in_instructions")
    rows = sent_messages(rig, tenant.schema_name, 2)
    instructions = next(row for row in rows if row["template_key"] == "check_in_instructions")
    assert instructions["status"] == "sent" and door in instructions["body"]
    mail = [call.body for call in calls_for(rig.provider, tid)][-1]
    assert door in mail["content"][0]["value"]  # the worker decrypted it at send time
    assert plaintext_found(rig_engine(rig), tenant.schema_name, [door, "Lockbox 4417"]) == []
    stored = api.data(GUEST_COMMS, {"id": guest["id"]})["guest"]["communications"]
    assert any(door in message["body"] for message in stored)  # staff read it as sent


def test_a_lifecycle_message_switched_off_before_its_day_is_cancelled_notsent_messages(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    place = create_property(api)
    guest = create_guest(api, name="Off Switch", email="off@example.com", phone=None)
    create_booking(
        api, property_id=place["id"], guest_id=guest["id"], checkIn=iso(AHEAD + 30), checkOut=iso(AHEAD + 32)
    )
    api.data("mutation { updateSettings(input: {sendPreArrival: false}) { errors { code } } }")
    tid = tenant_id(rig_engine(rig), tenant.slug)
    rig.start_worker()
    sent_messages(rig, tenant.schema_name)
    _fall_due(rig, tenant.schema_name, tid, "pre_arrival")

    def pre_arrival_status() -> str | None:
        rig.tick()
        with rig_engine(rig).connect() as connection:
            value = connection.execute(
                sa.text(
                    f'SELECT status FROM "{tenant.schema_name}".scheduled_message WHERE template_key = :k'
                ),
                {"k": "pre_arrival"},
            ).scalar_one()
        return str(value) if value != "scheduled" else None

    status = wait_until(pre_arrival_status, what="the due lifecycle message to be handled")
    assert status == "cancelled"
    assert [row["template_key"] for row in communications(rig_engine(rig), tenant.schema_name)] == [
        "booking_confirmed"
    ]


def test_stored_confirmation_shows_a_marker_where_the_sent_one_carries_the_link(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    place = create_property(api)
    guest = create_guest(api, name="Mark Er", email="mark@example.com", phone=None)
    create_booking(api, property_id=place["id"], guest_id=guest["id"])
    stored = communications(rig_engine(rig), tenant.schema_name)[0]
    assert "[portal link]" in stored["body"] and "/p/" not in stored["body"]


# --- hospes worker --processes N ---------------------------------------------------------------

PROCESS_MESSAGES = 12


def _worker_children(parent: int) -> list[int]:
    """The multiprocessing children of `parent` that run a worker (not its resource tracker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == parent and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def test_hospes_worker_with_two_processes_sends_each_message_exactly_once(rig: Rig, company: Company) -> None:
    tenant, api = company
    worker = rig.command("worker", "--processes", "2", "--threads", "2")
    try:
        children = wait_until(lambda: len(_worker_children(worker.pid)) == 2, what="two worker processes")
        assert children
        for number in range(PROCESS_MESSAGES):
            guest = create_guest(
                api, name=f"Proc Guest{number}", email=f"proc{number}@example.com", phone=None
            )
            sent = api.data(
                SEND, {"input": {"guestId": guest["id"], "subject": "Hi", "body": f"Number {number}"}}
            )
            assert sent["sendMessage"]["errors"] == []
        engine = rig_engine(rig)
        rows = wait_until(
            lambda: (
                found
                if len(found := communications(engine, tenant.schema_name)) == PROCESS_MESSAGES
                and all(row["status"] == "sent" for row in found)
                else None
            ),
            what=f"{PROCESS_MESSAGES} messages sent by the two processes",
        )
        assert len(_worker_children(worker.pid)) == 2  # both still running
    finally:
        worker.send_signal(signal.SIGTERM)
        status = worker.wait(timeout=60)
    assert status == 0  # the parent stopped its children and exited cleanly
    calls = calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))
    sent_ids = Counter(call.body["custom_args"]["hospes_communication"] for call in calls)
    assert sent_ids == Counter({str(row["id"]): 1 for row in rows})
    for row in rows:
        assert timeline(rig_engine(rig), tenant.schema_name, row["id"]) == [
            ("queued", "email"),
            ("sending", "email"),
            ("sent", "email"),
        ]
    assert _worker_children(worker.pid) == []


def test_hospes_worker_processes_stop_together_when_one_dies(rig: Rig) -> None:
    worker = rig.command("worker", "--processes", "2", "--threads", "1")
    try:
        children = wait_until(
            lambda: found if len(found := _worker_children(worker.pid)) == 2 else None,
            what="two worker processes",
        )
        os.kill(children[0], signal.SIGKILL)
        status = worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert status == 1  # for the supervisor to restart the group
    assert not Path(f"/proc/{children[1]}").exists()  # the other one was stopped (and reaped)
