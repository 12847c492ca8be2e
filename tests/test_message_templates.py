"""Templates, previews, lifecycle schedules and `sendMessage` input: what staff see and set, before
any worker is involved."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import GraphQLClient, TenantFixture, error_codes
from tests.dates import AHEAD, days_from_today, next_occurrence
from tests.factories import create_booking, create_guest, create_property
from tests.helpers_db import row_counts
from tests.messaging_support import outbox_rows, tenant_id
from tests.test_access import as_key, issue

TEMPLATES = """query($key: String, $language: String) { messageTemplates(key: $key, language: $language, first: 100) {
  totalCount edges { node { key language channel messageClass subject body placeholders } } } }"""
UPSERT = """mutation($input: UpsertMessageTemplateInput!) { upsertMessageTemplate(input: $input) {
  template { id key language channel body } errors { field code message } } }"""
PREVIEW = """query($key: String!, $guest: ID!, $booking: ID, $channel: Channel) {
  previewMessage(templateKey: $key, guestId: $guest, bookingId: $booking, channel: $channel) {
    channel language subject body suppressedReason } }"""
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  communication { id status channel templateKey subject body } errors { field code message } } }"""
SCHEDULE = """query($id: ID!) { booking(id: $id) { scheduledMessages { templateKey dueAt status } } }"""
SETTINGS = (
    """mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { errors { field code } } }"""
)
CANCEL = """mutation($id: ID!) { cancelBooking(input: {bookingId: $id}) { errors { code } } }"""
IMPORT = """mutation($input: ImportOtaBookingInput!) { importOtaBooking(input: $input) {
  booking { id } created errors { field code } } }"""

BUILT_IN = (
    "booking_confirmed",
    "payment_receipt",
    "pre_arrival",
    "check_in_instructions",
    "post_stay",
    "inquiry_reply",
    "inquiry_reminder",
    "account_created",
)


def _upsert(api: GraphQLClient, **values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = api.data(UPSERT, {"input": values})["upsertMessageTemplate"]
    return payload


def _preview(
    api: GraphQLClient, key: str, guest: str, booking: str | None = None, **more: Any
) -> dict[str, Any]:
    preview: dict[str, Any] = api.data(PREVIEW, {"key": key, "guest": guest, "booking": booking, **more})[
        "previewMessage"
    ]
    return preview


# --- defaults and upserts --------------------------------------------------------------------------


def test_a_new_company_has_default_templates_for_every_key_in_english_and_spanish(
    tenant: TenantFixture,
) -> None:
    nodes = [edge["node"] for edge in tenant.api.data(TEMPLATES)["messageTemplates"]["edges"]]
    for key in BUILT_IN:
        for language in ("en", "es"):
            neutral = [
                n for n in nodes if n["key"] == key and n["language"] == language and n["channel"] is None
            ]
            assert len(neutral) == 1, (key, language)
            assert neutral[0]["subject"] and neutral[0]["messageClass"] == "TRANSACTIONAL"
    confirmation = next(n for n in nodes if n["key"] == "booking_confirmed" and n["language"] == "es")
    assert "{portal_link}" in confirmation["body"] and "portal_link" in confirmation["placeholders"]


def test_an_unknown_placeholder_is_refused_at_save_time_and_nothing_is_written(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    payload = _upsert(tenant.api, key="pre_arrival", language="de", body="Hallo {guest_shoe_size}!")
    assert payload["template"] is None
    [error] = payload["errors"]
    assert error["field"] == "body" and error["code"] == "INVALID"
    assert "guest_shoe_size" in error["message"] and "guest_first_name" in error["message"]
    assert row_counts(sync_engine, tenant.schema_name) == before


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"key": "Pre Arrival", "language": "en", "body": "Hi"}, "key"),
        ({"key": "pre_arrival", "language": "xx-nope-!", "body": "Hi"}, "language"),
        ({"key": "pre_arrival", "language": "en", "body": "   "}, "body"),
        ({"key": "pre_arrival", "language": "en", "body": "Hi {guest.__class__}"}, "body"),
        ({"key": "pre_arrival", "language": "en", "body": "Hi {0}"}, "body"),
        ({"key": "pre_arrival", "language": "en", "body": "Hi {guest_name!r}"}, "body"),
        ({"key": "pre_arrival", "language": "en", "body": "Hi {guest_name"}, "body"),
        ({"key": "pre_arrival", "language": "en", "subject": "{nope}", "body": "Hi"}, "subject"),
        ({"key": "pre_arrival", "language": "en", "body": "Hi", "messageClass": "MARKETING"}, "messageClass"),
        ({"key": "pre_arrival", "language": "en", "body": "x" * 10_001}, "body"),
    ],
)
def test_bad_templates_are_refused_with_the_field_and_nothing_is_written(
    tenant: TenantFixture, sync_engine: sa.Engine, values: dict[str, Any], field: str
) -> None:
    before = row_counts(sync_engine, tenant.schema_name)
    payload = _upsert(tenant.api, **values)
    assert payload["template"] is None
    assert field in {error["field"] for error in payload["errors"]}, payload["errors"]
    assert row_counts(sync_engine, tenant.schema_name) == before


def test_upsert_replaces_the_template_of_its_key_language_and_channel(tenant: TenantFixture) -> None:
    first = _upsert(
        tenant.api, key="pre_arrival", language="de", channel="WHATSAPP", body="Hallo {guest_first_name}"
    )
    second = _upsert(
        tenant.api, key="pre_arrival", language="de", channel="WHATSAPP", body="Servus {guest_first_name}"
    )
    assert first["errors"] == [] and second["errors"] == []
    assert first["template"]["id"] == second["template"]["id"]
    german = tenant.api.data(TEMPLATES, {"key": "pre_arrival", "language": "de"})["messageTemplates"]
    assert german["totalCount"] == 1 and german["edges"][0]["node"]["body"] == "Servus {guest_first_name}"


def test_a_custom_key_offers_the_common_placeholders(tenant: TenantFixture) -> None:
    ok = _upsert(tenant.api, key="custom_note", language="en", body="Hi {guest_first_name}, {company_name}")
    assert ok["errors"] == []
    refused = _upsert(tenant.api, key="custom_note", language="en", body="Your stay {check_in}")
    assert refused["errors"][0]["field"] == "body"


SPANISH_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]


# --- preview and the fallback chain ----------------------------------------------------------------


def test_preview_renders_in_the_guests_language_and_sends_nothing(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    place = create_property(tenant.api, name="Casa Azul")
    guest = create_guest(
        tenant.api, name="Lucía Pérez", email="lucia@example.com", phone=None, language="es-CR"
    )
    booking = create_booking(tenant.api, property_id=place["id"], guest_id=guest["id"])
    before = row_counts(sync_engine, tenant.schema_name)
    preview = _preview(tenant.api, "pre_arrival", guest["id"], booking["id"])
    assert preview["channel"] == "EMAIL" and preview["language"] == "es"
    assert "Lucía" in preview["body"] and "Casa Azul" in preview["body"]
    assert SPANISH_MONTHS[days_from_today(AHEAD).month - 1] in preview["body"]  # the check-in date
    assert preview["suppressedReason"] is None
    assert row_counts(sync_engine, tenant.schema_name) == before


def test_the_template_fallback_chain(tenant: TenantFixture) -> None:
    guest = create_guest(
        tenant.api, name="Hans Gast", email="hans@example.com", phone="+34600222333", language="de-AT"
    )
    # No German: the company's default language (English).
    assert _preview(tenant.api, "account_created", guest["id"])["language"] == "en"
    tenant.api.data(SETTINGS, {"input": {"defaultLanguage": "es"}})
    assert _preview(tenant.api, "account_created", guest["id"])["language"] == "es"
    # A German channel-neutral template: the base language of de-AT.
    _upsert(
        tenant.api,
        key="account_created",
        language="de",
        subject="Konto",
        body="Hallo {guest_first_name}: {set_password_link}",
    )
    assert _preview(tenant.api, "account_created", guest["id"])["body"].startswith("Hallo Hans")
    # A WhatsApp variant in the guest's exact language wins on WhatsApp only.
    _upsert(
        tenant.api,
        key="account_created",
        language="de-AT",
        channel="WHATSAPP",
        body="Servus {guest_first_name}",
    )
    assert _preview(tenant.api, "account_created", guest["id"], channel="WHATSAPP")["body"] == "Servus Hans"
    assert _preview(tenant.api, "account_created", guest["id"], channel="EMAIL")["body"].startswith(
        "Hallo Hans"
    )


def test_preview_shows_why_a_message_would_not_go(tenant: TenantFixture) -> None:
    guest = create_guest(tenant.api, name="Silent Sam", email=None, phone="+34600222444")
    preview = _preview(tenant.api, "account_created", guest["id"], channel="SMS")
    assert preview["suppressedReason"] == "no SMS opt-in"


def test_preview_of_an_unknown_template_or_guest_is_an_error(tenant: TenantFixture) -> None:
    guest = create_guest(tenant.api)
    assert error_codes(tenant.api(PREVIEW, {"key": "no_such_key", "guest": guest["id"]})) == ["NOT_FOUND"]
    assert error_codes(tenant.api(PREVIEW, {"key": "Bad Key!", "guest": guest["id"]})) == ["BAD_USER_INPUT"]
    assert error_codes(tenant.api(PREVIEW, {"key": "pre_arrival", "guest": "R3Vlc3Q6bm9wZQ"})) == [
        "NOT_FOUND"
    ]


# --- sendMessage input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"templateKey": "pre_arrival", "body": "Hi"}, "body", "INVALID"),
        ({}, "body", "REQUIRED"),
        ({"body": "x" * 10_001}, "body", "TOO_LONG"),
        ({"templateKey": "Not A Key"}, "templateKey", "INVALID"),
        ({"templateKey": "never_written"}, "templateKey", "NOT_FOUND"),
        ({"body": "Hi", "bookingId": "Qm9va2luZzpub3BlCg"}, "bookingId", "NOT_FOUND"),
    ],
)
def test_bad_send_message_input_is_refused_and_nothing_is_written(
    tenant: TenantFixture, sync_engine: sa.Engine, values: dict[str, Any], field: str, code: str
) -> None:
    guest = create_guest(tenant.api)
    before = row_counts(sync_engine, tenant.schema_name), _outbox_size(sync_engine, tenant.slug)
    payload = tenant.api.data(SEND, {"input": {"guestId": guest["id"], **values}})["sendMessage"]
    assert payload["communication"] is None
    assert {(error["field"], error["code"]) for error in payload["errors"]} >= {(field, code)}
    assert (row_counts(sync_engine, tenant.schema_name), _outbox_size(sync_engine, tenant.slug)) == before


def _outbox_size(engine: sa.Engine, slug: str) -> int:
    return len(outbox_rows(engine, tenant_id(engine, slug)))


def test_a_message_to_another_companys_guest_is_not_found(make_tenant: Any) -> None:
    alpha, beta = make_tenant("ma"), make_tenant("mb")
    foreign = create_guest(beta.api)
    payload = alpha.api.data(SEND, {"input": {"guestId": foreign["id"], "body": "Hi"}})["sendMessage"]
    assert payload["errors"] == [{"field": "guestId", "code": "NOT_FOUND", "message": "Guest not found."}]
    assert error_codes(alpha.api(PREVIEW, {"key": "pre_arrival", "guest": foreign["id"]})) == ["NOT_FOUND"]


def test_a_partner_with_messages_send_can_send_and_the_message_is_templated(tenant: TenantFixture) -> None:
    guest = create_guest(tenant.api, name="Ana Partner", email="ana@example.com", phone=None, language="es")
    values = {"input": {"guestId": guest["id"], "templateKey": "account_created"}}
    sender = as_key(tenant.api, issue(tenant.api, ["messages:send"])["key"])
    sent = sender(SEND, values)
    # What the rendered message says is guest data: a key that may only send does not read it back.
    assert set(error_codes(sent)) == {"FORBIDDEN"} and "Ana" not in str(sent)
    reader = as_key(tenant.api, issue(tenant.api, ["messages:send", "messages:read"])["key"])
    communication = reader.data(SEND, values)["sendMessage"]["communication"]
    assert communication["status"] == "QUEUED" and communication["channel"] == "EMAIL"
    assert communication["templateKey"] == "account_created" and "Ana" in communication["body"]


# --- lifecycle schedule ----------------------------------------------------------------------------


def _schedule(api: GraphQLClient, booking_id: str) -> dict[str, tuple[str, str]]:
    rows = api.data(SCHEDULE, {"id": booking_id})["booking"]["scheduledMessages"]
    return {row["templateKey"]: (row["dueAt"], row["status"]) for row in rows}


def test_lifecycle_messages_are_scheduled_in_the_propertys_timezone(tenant: TenantFixture) -> None:
    place = create_property(tenant.api, timezone="America/Costa_Rica")  # UTC-6, no DST
    guest = create_guest(tenant.api)
    check_in = days_from_today(AHEAD)
    check_out = check_in + timedelta(days=4)
    booking = create_booking(
        tenant.api,
        property_id=place["id"],
        guest_id=guest["id"],
        checkIn=check_in.isoformat(),
        checkOut=check_out.isoformat(),
    )
    # The defaults: seven days before, the day before and the day after, at 10:00 local time.
    assert _schedule(tenant.api, booking["id"]) == {
        "pre_arrival": (f"{check_in - timedelta(days=7)}T16:00:00+00:00", "SCHEDULED"),
        "check_in_instructions": (f"{check_in - timedelta(days=1)}T16:00:00+00:00", "SCHEDULED"),
        "post_stay": (f"{check_out + timedelta(days=1)}T16:00:00+00:00", "SCHEDULED"),
    }


def test_a_cancelled_booking_cancels_its_pending_lifecycle_messages(tenant: TenantFixture) -> None:
    place = create_property(tenant.api)
    booking = create_booking(tenant.api, property_id=place["id"], guest_id=create_guest(tenant.api)["id"])
    tenant.api.data(CANCEL, {"id": booking["id"]})
    assert {status for _, status in _schedule(tenant.api, booking["id"]).values()} == {"CANCELLED"}


def test_changed_dates_move_the_schedule_and_switches_and_offsets_apply(tenant: TenantFixture) -> None:
    place = create_property(tenant.api, timezone="Europe/Madrid")
    tenant.api.data(
        SETTINGS, {"input": {"sendPostStay": False, "preArrivalDaysBefore": 3, "lifecycleSendHour": 9}}
    )
    # Early March is always winter time in Madrid, early April always summer time.
    winter, summer = next_occurrence(3, 10), next_occurrence(4, 10)
    values = {
        "channel": "airbnb",
        "externalId": "HM-LIFE-1",
        "propertyId": place["id"],
        "guest": {"name": "Ota Guest", "email": "ota@example.com"},
        "checkIn": winter.isoformat(),
        "checkOut": (winter + timedelta(days=2)).isoformat(),
        "adults": 2,
        "amount": "300.00",
        "currency": "USD",
        "status": "CONFIRMED",
    }
    created = tenant.api.data(IMPORT, {"input": values})["importOtaBooking"]
    booking_id = created["booking"]["id"]
    assert _schedule(tenant.api, booking_id) == {
        "pre_arrival": (f"{winter - timedelta(days=3)}T08:00:00+00:00", "SCHEDULED"),  # 09:00, UTC+1
        "check_in_instructions": (f"{winter - timedelta(days=1)}T08:00:00+00:00", "SCHEDULED"),
    }
    moved = {"checkIn": summer.isoformat(), "checkOut": (summer + timedelta(days=2)).isoformat()}
    tenant.api.data(IMPORT, {"input": {**values, **moved}})
    assert _schedule(tenant.api, booking_id) == {
        "pre_arrival": (f"{summer - timedelta(days=3)}T07:00:00+00:00", "SCHEDULED"),  # UTC+2
        "check_in_instructions": (f"{summer - timedelta(days=1)}T07:00:00+00:00", "SCHEDULED"),
    }
    tenant.api.data(IMPORT, {"input": {**values, "status": "CANCELLED"}})
    assert {status for _, status in _schedule(tenant.api, booking_id).values()} == {"CANCELLED"}


def test_bad_lifecycle_settings_are_refused(tenant: TenantFixture) -> None:
    payload = tenant.api.data(SETTINGS, {"input": {"lifecycleSendHour": 24, "preArrivalDaysBefore": -1}})
    assert {(e["field"], e["code"]) for e in payload["updateSettings"]["errors"]} == {
        ("lifecycleSendHour", "OUT_OF_RANGE"),
        ("preArrivalDaysBefore", "OUT_OF_RANGE"),
    }


def test_erasing_a_guest_stops_their_queued_and_scheduled_messages(tenant: TenantFixture) -> None:
    place = create_property(tenant.api)
    guest = create_guest(tenant.api, name="Gone Soon", email="gone@example.com", phone=None)
    booking = create_booking(tenant.api, property_id=place["id"], guest_id=guest["id"])
    erase = """mutation($id: ID!) { eraseGuest(input: {guestId: $id, reason: "asked by email"}) { errors { code } } }"""
    assert tenant.api.data(erase, {"id": guest["id"]})["eraseGuest"]["errors"] == []
    messages = tenant.api.data(
        "query($id: ID!) { booking(id: $id) { communications { status error body } } }", {"id": booking["id"]}
    )["booking"]["communications"]
    assert messages == [{"status": "SUPPRESSED", "error": "the guest's personal data was erased", "body": ""}]
    assert {status for _, status in _schedule(tenant.api, booking["id"]).values()} == {"CANCELLED"}
