"""What we send about an inquiry reaches its guest: replies (with the inquiry's Reply-To and our
Message-ID on email), quotes, and follow-up reminders that stop when the guest answers. End to end
through GraphQL, the outbox, a real Dramatiq worker, the scheduler, and the real sendgrid/twilio
libraries talking to the local provider stand-in."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from hospes.models.public import OutboxKind
from hospes.models.tenant import InquirySource
from hospes.schema.ids import encode_id
from hospes.settings import Settings
from hospes.tasks.broker import make_broker, message_for
from hospes.tasks.outbox import OutboxItem
from tests.conftest import GraphQLClient, TenantFixture
from tests.factories import create_guest
from tests.inquiry_support import (
    counts,
    fall_due,
    guest_writes,
    history,
    inquiry_row,
    open_inquiry,
    reminders,
    set_stage,
)
from tests.messaging_support import (
    Rig,
    calls_for,
    communications,
    rig_engine,
    running_rig,
    sent_messages,
    tenant_id,
    wait_until,
)
from tests.provider_server import (
    ProviderServer,
    provider_server_fixture,  # noqa: F401  (registers the provider_server fixture)
)

DOMAIN = "in.hospes.test"

INQUIRY_FIELDS = """inquiry { id stage needsAction
  quote { amount currency primary expired sent }
  quotes { id amount currency validUntil primary expired sent lines { description amount } }
  reminders { sequence dueAt status sentAt } }"""
REPLY = f"""mutation($input: ReplyToInquiryInput!) {{ replyToInquiry(input: $input) {{
  {INQUIRY_FIELDS} errors {{ field code message }} }} }}"""
QUOTE = f"""mutation($input: QuoteInquiryInput!) {{ quoteInquiry(input: $input) {{
  {INQUIRY_FIELDS} quote {{ id amount primary sent expired }} errors {{ field code message }} }} }}"""
SCHEDULE = f"""mutation($input: ScheduleInquiryRemindersInput!) {{ scheduleInquiryReminders(input: $input) {{
  {INQUIRY_FIELDS} errors {{ field code message }} }} }}"""
CANCEL = f"""mutation($input: CancelInquiryRemindersInput!) {{ cancelInquiryReminders(input: $input) {{
  {INQUIRY_FIELDS} errors {{ field code message }} }} }}"""


def _today() -> date:
    """UTC's today: the company's today for an inquiry that names no property."""
    return datetime.now(UTC).date()


@pytest.fixture
def rig(settings: Settings, provider_server: ProviderServer) -> Iterator[Rig]:
    with running_rig(settings, provider_server, inbound_email_domain=DOMAIN) as made:
        yield made


Company = tuple[TenantFixture, GraphQLClient]


@pytest.fixture
def company(rig: Rig, make_tenant: Callable[..., TenantFixture]) -> Company:
    tenant = make_tenant("inq")
    return tenant, rig.api(tenant)


def _inquiry(
    rig: Rig, company: Company, *, source: InquirySource = InquirySource.EMAIL, **guest: Any
) -> tuple[str, dict[str, Any]]:
    """A new inquiry of a new guest (Anna, with email and mobile unless told otherwise)."""
    tenant, api = company
    made = create_guest(api, **guest)
    inquiry_id = open_inquiry(
        rig.settings, rig_engine(rig), tenant.schema_name, guest_id=made["id"], source=source
    )
    return inquiry_id, made


def _reply(api: GraphQLClient, **values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = api.data(REPLY, {"input": values})["replyToInquiry"]
    return payload


def _quote(api: GraphQLClient, inquiry_id: str, **values: Any) -> dict[str, Any]:
    given = {
        "inquiryId": inquiry_id,
        "amount": "950.00",
        "currency": "USD",
        "lines": [
            {"description": "4 nights", "amount": "800.00"},
            {"description": "Cleaning", "amount": "150.00"},
        ],
        **values,
    }
    payload: dict[str, Any] = api.data(QUOTE, {"input": given})["quoteInquiry"]
    return payload


def _schedule(api: GraphQLClient, inquiry_id: str, hours: list[float]) -> dict[str, Any]:
    payload: dict[str, Any] = api.data(SCHEDULE, {"input": {"inquiryId": inquiry_id, "afterHours": hours}})[
        "scheduleInquiryReminders"
    ]
    return payload


def _mails(rig: Rig, tenant: TenantFixture) -> list[dict[str, Any]]:
    return [
        call.body
        for call in calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))
        if call.provider == "sendgrid"
    ]


def _refused(
    rig: Rig, tenant: TenantFixture, attempt: Callable[[], dict[str, Any]], expected: list[tuple[str, str]]
) -> dict[str, Any]:
    """The payload of `attempt`, which must answer exactly `expected` (field, code) errors, leave
    the payload's objects empty, and write nothing (no message, quote, reminder, history line or
    outbox row)."""
    before = counts(rig_engine(rig), tenant.schema_name)
    payload = attempt()
    assert [(e["field"], e["code"]) for e in payload["errors"]] == expected
    assert [key for key, value in payload.items() if key != "errors" and value is not None] == []
    assert counts(rig_engine(rig), tenant.schema_name) == before
    return payload


# --- replies --------------------------------------------------------------------------------------


def test_an_emailed_reply_carries_the_inquiry_reply_to_and_our_message_id(rig: Rig, company: Company) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    rig.start_worker()
    payload = _reply(api, inquiryId=inquiry_id, body="Casa del Sol is free on those dates.")
    assert payload["errors"] == []
    assert payload["inquiry"]["stage"] == "RESPONDED" and payload["inquiry"]["needsAction"] is False
    [row] = sent_messages(rig, tenant.schema_name)
    assert (row["status"], row["channel"], row["template_key"]) == ("sent", "email", "inquiry_reply")
    [mail] = _mails(rig, tenant)
    token = inquiry_row(rig_engine(rig), tenant.schema_name, inquiry_id)["reply_token"]
    assert mail["reply_to"] == {"email": f"{tenant.slug}+{token}@{DOMAIN}"}
    assert mail["headers"] == {"Message-ID": f"<c.{row['id'].hex}@{DOMAIN}>"}
    text = mail["content"][0]["value"]
    # The written answer goes inside the inquiry_reply template: greeting, answer, sign-off.
    assert text.startswith("Dear Anna,") and "Casa del Sol is free on those dates." in text
    assert mail["subject"].startswith("Your inquiry with")
    kinds = [kind for kind, _, _ in history(rig_engine(rig), tenant.schema_name, inquiry_id)]
    assert sorted(kinds) == ["message_out", "received", "stage_changed"]


def test_a_reply_subject_replaces_the_template_subject_and_spanish_guests_read_spanish(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company, language="es", phone=None)
    rig.start_worker()
    assert (
        _reply(api, inquiryId=inquiry_id, subject="Marzo en Casa del Sol", body="Está libre.")["errors"] == []
    )
    sent_messages(rig, tenant.schema_name)
    [mail] = _mails(rig, tenant)
    assert mail["subject"] == "Marzo en Casa del Sol"
    assert mail["content"][0]["value"].startswith("Hola, Anna:")


def test_without_an_inbound_domain_mail_has_no_reply_to_and_the_providers_message_id(
    settings: Settings, provider_server: ProviderServer, make_tenant: Callable[..., TenantFixture]
) -> None:
    with running_rig(settings, provider_server) as plain:
        tenant = make_tenant("inq")
        api = plain.api(tenant)
        made = create_guest(api)
        inquiry_id = open_inquiry(plain.settings, rig_engine(plain), tenant.schema_name, guest_id=made["id"])
        plain.start_worker()
        assert _reply(api, inquiryId=inquiry_id, body="Yes")["errors"] == []
        sent_messages(plain, tenant.schema_name)
        [mail] = [call.body for call in calls_for(plain.provider, tenant_id(rig_engine(plain), tenant.slug))]
    assert "reply_to" not in mail and "headers" not in mail


def test_a_whatsapp_inquiry_of_a_phone_only_guest_is_answered_on_whatsapp(rig: Rig, company: Company) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company, source=InquirySource.WHATSAPP, email=None, phone="+34600111222")
    rig.start_worker()
    assert _reply(api, inquiryId=inquiry_id, body="We have it free.")["errors"] == []
    [row] = sent_messages(rig, tenant.schema_name)
    assert (row["status"], row["channel"]) == ("sent", "whatsapp")
    [call] = calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))
    assert call.provider == "twilio" and call.body["To"] == "whatsapp:+34600111222"
    assert "We have it free." in call.body["Body"]


def test_a_phone_inquiry_of_a_guest_with_an_email_is_answered_by_email(rig: Rig, company: Company) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company, source=InquirySource.PHONE)
    rig.start_worker()
    assert _reply(api, inquiryId=inquiry_id, templateKey="inquiry_reply")["errors"] == []
    [row] = sent_messages(rig, tenant.schema_name)
    assert row["channel"] == "email"  # not WhatsApp, although Anna has a mobile number


def test_a_reply_no_channel_can_carry_is_a_field_error_and_queues_nothing(rig: Rig, company: Company) -> None:
    tenant, api = company
    # A landline and no email: neither WhatsApp, SMS nor email reaches her.
    inquiry_id, _ = _inquiry(rig, company, source=InquirySource.PHONE, email=None, phone="+34910000000")
    engine = rig_engine(rig)
    payload = _refused(
        rig, tenant, lambda: _reply(api, inquiryId=inquiry_id, body="Hello"), [("inquiryId", "INVALID_STATE")]
    )
    assert "cannot be reached" in payload["errors"][0]["message"]
    assert inquiry_row(engine, tenant.schema_name, inquiry_id)["stage"] == "new"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"body": "Hi", "templateKey": "inquiry_reply"}, [("body", "INVALID")]),
        ({}, [("body", "REQUIRED")]),
        ({"body": "   "}, [("body", "REQUIRED")]),
        ({"templateKey": "no_such_template"}, [("templateKey", "NOT_FOUND")]),
        ({"templateKey": "Not A Key"}, [("templateKey", "INVALID")]),
        ({"body": "x" * 10_001}, [("body", "TOO_LONG")]),
        ({"body": "Hi", "subject": "two\nlines"}, [("subject", "INVALID")]),
    ],
)
def test_a_bad_reply_is_refused_and_writes_nothing(
    rig: Rig, company: Company, values: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    _refused(rig, tenant, lambda: _reply(api, inquiryId=inquiry_id, **values), expected)


def test_an_unknown_or_other_companys_inquiry_is_not_found(
    rig: Rig, company: Company, make_tenant: Callable[..., TenantFixture]
) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    other = rig.api(make_tenant("other"))
    before = counts(rig_engine(rig), tenant.schema_name)
    for caller, target in ((other, inquiry_id), (api, "not-an-id"), (api, _unknown_inquiry())):
        for payload in (
            _reply(caller, inquiryId=target, body="Hi"),
            _quote(caller, target),
            _schedule(caller, target, [1]),
            caller.data(CANCEL, {"input": {"inquiryId": target}})["cancelInquiryReminders"],
        ):
            assert [(e["field"], e["code"]) for e in payload["errors"]] == [("inquiryId", "NOT_FOUND")]
    assert counts(rig_engine(rig), tenant.schema_name) == before


def _unknown_inquiry() -> str:
    return encode_id("Inquiry", uuid.uuid4())


def test_a_lost_inquiry_may_still_be_answered_and_stays_lost(rig: Rig, company: Company) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    set_stage(rig_engine(rig), tenant.schema_name, inquiry_id, "lost")
    payload = _reply(api, inquiryId=inquiry_id, body="If your plans change, we are here.")
    assert payload["errors"] == [] and payload["inquiry"]["stage"] == "LOST"


# --- quotes ---------------------------------------------------------------------------------------


LINES = [{"description": "4 nights", "amount": "800.00"}]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"amount": "900.00"}, [("lines", "INVALID")]),  # the lines add up to 950.00
        ({"amount": "-950.00"}, [("amount", "OUT_OF_RANGE")]),
        (
            {"amount": "-50.00", "lines": [{"description": "Discount", "amount": "-50.00"}]},
            [("amount", "OUT_OF_RANGE"), ("lines.0.amount", "OUT_OF_RANGE")],
        ),
        ({"currency": "XYZ"}, [("currency", "INVALID")]),
        ({"currency": "dollars"}, [("currency", "INVALID")]),
        ({"lines": []}, [("lines", "REQUIRED")]),
        (
            {"amount": "800.00", "lines": [{"description": "x" * 201, "amount": "800.00"}]},
            [("lines.0.description", "TOO_LONG")],
        ),
        (
            {"amount": "800.00", "lines": [{"description": " ", "amount": "800.00"}]},
            [("lines.0.description", "REQUIRED")],
        ),
        ({"amount": "950.001"}, [("amount", "INVALID")]),
        ({"validUntil": (_today() - timedelta(days=2)).isoformat()}, [("validUntil", "OUT_OF_RANGE")]),
    ],
)
def test_a_bad_quote_is_refused_and_writes_nothing(
    rig: Rig, company: Company, values: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    _refused(rig, tenant, lambda: _quote(api, inquiry_id, **values), expected)
    assert inquiry_row(rig_engine(rig), tenant.schema_name, inquiry_id)["stage"] == "new"


@pytest.mark.parametrize("stage", ["confirmed", "lost"])
@pytest.mark.parametrize("operation", ["quote", "reminders"])
def test_a_settled_inquiry_takes_no_quote_and_no_reminders(
    rig: Rig, company: Company, stage: str, operation: str
) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    set_stage(rig_engine(rig), tenant.schema_name, inquiry_id, stage)
    attempt = {
        "quote": lambda: _quote(api, inquiry_id),
        "reminders": lambda: _schedule(api, inquiry_id, [24]),
    }
    _refused(rig, tenant, attempt[operation], [("inquiryId", "INVALID_STATE")])


def test_sending_a_quote_to_a_guest_without_email_is_refused_and_writes_nothing(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company, source=InquirySource.WHATSAPP, email=None)
    _refused(rig, tenant, lambda: _quote(api, inquiry_id, send=True), [("send", "INVALID_STATE")])
    assert inquiry_row(rig_engine(rig), tenant.schema_name, inquiry_id)["stage"] == "new"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ("$1,234.50", "- 5 nights: $1,200.00", "This offer is valid until")),
        ("es", ("1.234,50\xa0US$", "- 5 nights: 1.200,00\xa0US$", "Esta oferta es válida hasta el")),
    ],
)
def test_a_sent_quote_reaches_the_guest_with_amounts_in_their_language(
    rig: Rig, company: Company, language: str, expected: tuple[str, str, str]
) -> None:
    total, line, valid = expected
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company, language=language)
    rig.start_worker()
    payload = _quote(
        api,
        inquiry_id,
        amount="1234.50",
        lines=[
            {"description": "5 nights", "amount": "1200.00"},
            {"description": "Cleaning", "amount": "34.50"},
        ],
        validUntil=(_today() + timedelta(days=14)).isoformat(),
        send=True,
    )
    assert payload["errors"] == [], payload["errors"]
    inquiry = payload["inquiry"]
    assert inquiry["stage"] == "QUOTED" and inquiry["needsAction"] is False
    assert payload["quote"]["sent"] is True and payload["quote"]["primary"] is True
    [row] = sent_messages(rig, tenant.schema_name)
    assert (row["status"], row["template_key"]) == ("sent", "inquiry_quote")
    [mail] = _mails(rig, tenant)
    text = mail["content"][0]["value"]
    assert total.replace("\xa0", " ") in text.replace("\xa0", " ")
    assert line.replace("\xa0", " ") in text.replace("\xa0", " ")
    assert valid in text
    assert mail["reply_to"]["email"].startswith(f"{tenant.slug}+i")  # a quote is inquiry mail too
    kinds = [kind for kind, _, _ in history(rig_engine(rig), tenant.schema_name, inquiry_id)]
    assert sorted(kinds) == ["message_out", "quoted", "received", "stage_changed"]


def test_the_newest_quote_is_primary_unless_told_otherwise_and_an_old_one_shows_expired(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    first = _quote(api, inquiry_id, validUntil=_today().isoformat())
    assert first["quote"]["primary"] is True and first["quote"]["expired"] is False
    second = _quote(api, inquiry_id, amount="800.00", lines=LINES, primary=False)
    assert second["quote"]["primary"] is False
    assert second["inquiry"]["quote"]["amount"] == "950.00"  # the first stays primary
    third = _quote(api, inquiry_id, amount="800.00", lines=LINES)
    quotes = third["inquiry"]["quotes"]
    assert [q["primary"] for q in quotes] == [True, False, False]  # newest first
    assert quotes[0]["id"] == third["quote"]["id"] and third["inquiry"]["quote"]["amount"] == "800.00"
    assert quotes[2]["lines"] == [
        {"description": "4 nights", "amount": "800.00"},
        {"description": "Cleaning", "amount": "150.00"},
    ]
    # Its last valid day passes.
    with rig_engine(rig).begin() as connection:
        connection.execute(
            sa.text(f'UPDATE "{tenant.schema_name}".inquiry_quote SET valid_until = valid_until - 1')
        )
    later = _quote(api, inquiry_id, amount="800.00", lines=LINES, primary=False)["inquiry"]["quotes"]
    assert [q["expired"] for q in later] == [False, False, False, True]
    assert (
        sum(1 for kind, _, _ in history(rig_engine(rig), tenant.schema_name, inquiry_id) if kind == "quoted")
        == 4
    )


# --- reminders ------------------------------------------------------------------------------------


def _reminder_mails(rig: Rig, tenant: TenantFixture) -> list[dict[str, Any]]:
    return [mail for mail in _mails(rig, tenant) if mail["subject"].startswith("Following up")]


def _handled(rig: Rig, tenant: TenantFixture, inquiry_id: str, *sequences: int) -> list[dict[str, Any]]:
    """The reminders once those of `sequences` are no longer scheduled (the scheduler ticking)."""

    def done() -> list[dict[str, Any]] | None:
        rig.tick()
        rows = reminders(rig_engine(rig), tenant.schema_name, inquiry_id)
        wanted = [row for row in rows if row["sequence"] in sequences]
        return rows if wanted and all(row["status"] != "scheduled" for row in wanted) else None

    result: list[dict[str, Any]] = wait_until(done, what=f"reminders {sequences} to be handled")
    return result


def _answered(rig: Rig, company: Company) -> str:
    """An email inquiry we have answered (the reply at the provider), with the worker running."""
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    rig.start_worker()
    assert _reply(api, inquiryId=inquiry_id, body="It is free.")["errors"] == []
    sent_messages(rig, tenant.schema_name)
    return inquiry_id


def test_reminder_one_goes_once_then_the_guest_answers_and_two_and_three_never_go(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    engine, schema = rig_engine(rig), tenant.schema_name
    inquiry_id = _answered(rig, company)
    scheduled = _schedule(api, inquiry_id, [72, 24, 0.5])
    assert scheduled["errors"] == []
    shown = scheduled["inquiry"]["reminders"]
    assert [(r["sequence"], r["status"], r["sentAt"]) for r in shown] == [
        (1, "SCHEDULED", None),
        (2, "SCHEDULED", None),
        (3, "SCHEDULED", None),
    ]
    assert shown[0]["dueAt"] < shown[1]["dueAt"] < shown[2]["dueAt"]  # numbered in the order they fall due
    fall_due(engine, schema, inquiry_id, 1)
    rows = _handled(rig, tenant, inquiry_id, 1)
    assert [row["status"] for row in rows] == ["sent", "scheduled", "scheduled"]
    sent_messages(rig, schema, count=2)
    [reminder_mail] = _reminder_mails(rig, tenant)
    assert reminder_mail["reply_to"]["email"].startswith(
        f"{tenant.slug}+i"
    )  # the channel of our reply: email
    # The guest answers; the pending reminders are cancelled.
    guest_writes(rig.settings, engine, schema, inquiry_id=inquiry_id, body="Can we bring a dog?")
    assert [row["status"] for row in reminders(engine, schema, inquiry_id)] == [
        "sent",
        "cancelled",
        "cancelled",
    ]
    # Their outbox rows still fall due; the actor finds them cancelled and sends nothing.
    fall_due(engine, schema, inquiry_id, 2, 3)
    wait_until(
        lambda: rig.tick() == 0 and not _reminder_outbox(engine, tenant), what="the reminder work to finish"
    )
    assert len(_reminder_mails(rig, tenant)) == 1
    lines = [(kind, actor, data.get("reason")) for kind, actor, data in history(engine, schema, inquiry_id)]
    assert ("reminder_sent", "system", None) in lines
    assert lines.count(("reminder_cancelled", "guest", "guest_wrote")) == 2
    assert inquiry_row(engine, schema, inquiry_id)["needs_action"] is True


def _reminder_outbox(engine: sa.Engine, tenant: TenantFixture) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.text("SELECT ref_id FROM public.outbox WHERE tenant_id = :t AND kind = :k"),
                {"t": tenant_id(engine, tenant.slug), "k": OutboxKind.INQUIRY_REMINDER.value},
            )
        )


def test_a_reminder_falling_due_before_we_ever_answered_is_cancelled_not_sent(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    engine, schema = rig_engine(rig), tenant.schema_name
    inquiry_id, _ = _inquiry(rig, company)  # the guest wrote; nobody has answered
    assert _schedule(api, inquiry_id, [2])["errors"] == []
    rig.start_worker()
    fall_due(engine, schema, inquiry_id)
    assert _handled(rig, tenant, inquiry_id, 1)[0]["status"] == "cancelled"
    assert communications(engine, schema) == []
    [line] = [
        (actor, data)
        for kind, actor, data in history(engine, schema, inquiry_id)
        if kind == "reminder_cancelled"
    ]
    assert line == ("system", {"sequence": 1, "reason": "guest_wrote"})


def test_a_reminder_follows_up_on_the_channel_of_our_last_reply(rig: Rig, company: Company) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company, source=InquirySource.WHATSAPP, email=None)
    rig.start_worker()
    assert _reply(api, inquiryId=inquiry_id, body="It is free.")["errors"] == []
    assert _schedule(api, inquiry_id, [24])["errors"] == []
    fall_due(rig_engine(rig), tenant.schema_name, inquiry_id)
    _handled(rig, tenant, inquiry_id, 1)
    rows = sent_messages(rig, tenant.schema_name, count=2)
    assert [(row["channel"], row["template_key"]) for row in rows] == [
        ("whatsapp", "inquiry_reply"),
        ("whatsapp", "inquiry_reminder"),
    ]


@pytest.mark.parametrize(
    ("hours", "field", "code"),
    [
        ([1, 2, 3, 4], "afterHours", "OUT_OF_RANGE"),
        ([0], "afterHours.0", "OUT_OF_RANGE"),
        ([1, -2], "afterHours.1", "OUT_OF_RANGE"),
        ([9000], "afterHours.0", "OUT_OF_RANGE"),
        ([], "afterHours", "REQUIRED"),
    ],
)
def test_a_fourth_reminder_or_a_delay_not_ahead_is_refused_and_nothing_scheduled(
    rig: Rig, company: Company, hours: list[float], field: str, code: str
) -> None:
    tenant, api = company
    inquiry_id, _ = _inquiry(rig, company)
    assert _schedule(api, inquiry_id, [24])["errors"] == []
    _refused(rig, tenant, lambda: _schedule(api, inquiry_id, hours), [(field, code)])
    assert [row["status"] for row in reminders(rig_engine(rig), tenant.schema_name, inquiry_id)] == [
        "scheduled"
    ]


def test_a_new_schedule_replaces_the_pending_reminders_and_cancelling_leaves_none(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    engine, schema = rig_engine(rig), tenant.schema_name
    inquiry_id, _ = _inquiry(rig, company)
    assert _schedule(api, inquiry_id, [24, 48, 72])["errors"] == []
    replaced = _schedule(api, inquiry_id, [12, 36])["inquiry"]["reminders"]
    assert [(r["sequence"], r["status"]) for r in replaced] == [
        (1, "SCHEDULED"),
        (2, "SCHEDULED"),
        (1, "CANCELLED"),
        (2, "CANCELLED"),
        (3, "CANCELLED"),
    ]
    cancelled = api.data(CANCEL, {"input": {"inquiryId": inquiry_id}})["cancelInquiryReminders"]
    assert cancelled["errors"] == []
    assert {r["status"] for r in cancelled["inquiry"]["reminders"]} == {"CANCELLED"}
    reasons = [
        data["reason"]
        for kind, _, data in history(engine, schema, inquiry_id)
        if kind == "reminder_cancelled"
    ]
    assert reasons == ["rescheduled"] * 3 + ["cancelled"] * 2
    # A reminder on a settled inquiry is cancelled when it falls due, never sent.
    assert _schedule(api, inquiry_id, [1])["errors"] == []
    set_stage(engine, schema, inquiry_id, "lost")
    rig.start_worker()
    fall_due(engine, schema, inquiry_id)
    assert _handled(rig, tenant, inquiry_id, 1)[-1]["status"] == "cancelled"
    assert communications(engine, schema) == []


def test_reminders_due_while_the_scheduler_was_down_are_each_sent_once_after_its_restart(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    engine, schema = rig_engine(rig), tenant.schema_name
    inquiry_id = _answered(rig, company)
    assert _schedule(api, inquiry_id, [1, 2, 3])["errors"] == []
    scheduler = rig.command("scheduler", HOSPES_SCHEDULER_INTERVAL_SECONDS="0.2")
    time.sleep(0.5)  # let it start and tick over nothing due
    scheduler.send_signal(signal.SIGKILL)
    scheduler.wait(timeout=10)
    fall_due(engine, schema, inquiry_id)  # all three fall due while no scheduler runs
    # A duplicate actor message for reminder 1 (a redelivery) must not send it twice either.
    first = reminders(engine, schema, inquiry_id)[0]["id"]
    broker = make_broker(rig.settings.redis_url or "", namespace=rig.settings.redis_namespace)
    duplicate = message_for(OutboxItem(tenant_id(engine, tenant.slug), OutboxKind.INQUIRY_REMINDER, first))
    broker.enqueue(duplicate)
    broker.enqueue(duplicate)
    broker.close()
    scheduler = rig.command("scheduler", HOSPES_SCHEDULER_INTERVAL_SECONDS="0.2")
    try:
        wait_until(
            lambda: all(row["status"] == "sent" for row in reminders(engine, schema, inquiry_id)),
            what="the restarted scheduler to hand every due reminder to the worker",
        )
        wait_until(lambda: len(_reminder_mails(rig, tenant)) >= 3, what="the reminders at the provider")
    finally:
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=15) == 0
    rig.tick()
    assert len(_reminder_mails(rig, tenant)) == 3
    rows = reminders(engine, schema, inquiry_id)
    assert len({row["communication_id"] for row in rows}) == 3
    outs = [row for row in communications(engine, schema) if row["template_key"] == "inquiry_reminder"]
    assert len(outs) == 3 and {row["status"] for row in outs} == {"sent"}
