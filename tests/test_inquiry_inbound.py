"""Inquiry intake from every channel: mail to a company's addresses (SendGrid Inbound Parse, signed,
matched by Reply-To token, In-Reply-To/References, then sender), WhatsApp/SMS, and the contact
form, each matched to the guest record like bookings are."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from urllib3 import encode_multipart_formdata

from hospes.models.columns import TEXT_MAX
from hospes.notifications.html_text import html_to_text
from hospes.notifications.inbound_email import parse_inbound_email
from hospes.notifications.inquiry_addresses import message_id, reply_address
from hospes.schema.ids import decode_id, encode_id
from hospes.settings import Settings
from hospes.tenancy.encrypted_columns import INQUIRY_MESSAGE, INQUIRY_SUBJECT
from tests.conftest import GraphQLClient, TenantFixture
from tests.dates import AHEAD, iso
from tests.factories import create_booking, create_guest, create_property
from tests.helpers_db import plaintext_found, tenant_keys
from tests.inquiry_support import INBOUND_PATH, mail_body, post_mail
from tests.messaging_support import (
    Company,
    Rig,
    communications,
    new_company,
    rig_engine,
    running_rig,
    twilio_post,
)
from tests.provider_server import (
    ProviderServer,
    provider_server_fixture,  # noqa: F401  (registers the provider_server fixture)
)

DOMAIN = "in.hospes.test"


@pytest.fixture
def rig(settings: Settings, provider_server: ProviderServer) -> Iterator[Rig]:
    with running_rig(settings, provider_server, inbound_email_domain=DOMAIN) as made:
        yield made


@pytest.fixture
def company(rig: Rig, make_tenant: Callable[..., TenantFixture]) -> Company:
    return new_company(rig, make_tenant, "inb")


# --- helpers ----------------------------------------------------------------------------------------


def send_mail(rig: Rig, **fields: Any) -> Any:
    response = post_mail(rig, *mail_body(**fields))
    assert response.status_code == 200, response.text
    return response


def counts(rig: Rig, schema: str) -> dict[str, int]:
    with rig_engine(rig).connect() as connection:
        return {
            table: int(connection.execute(sa.text(f'SELECT count(*) FROM "{schema}".{table}')).scalar_one())
            for table in ("inquiry", "communication", "guest", "inquiry_event")
        }


def inquiries(rig: Rig, schema: str) -> list[dict[str, Any]]:
    """The tenant's inquiries, oldest first, their subject and message decrypted."""
    with rig_engine(rig).connect() as connection:
        rows = [
            dict(row)
            for row in connection.execute(
                sa.text(f'SELECT * FROM "{schema}".inquiry ORDER BY received_at')
            ).mappings()
        ]
    keys = tenant_keys(rig_engine(rig), schema)
    for row in rows:
        row["subject"] = INQUIRY_SUBJECT.unseal(keys, row.pop("subject_enc"))
        row["message"] = INQUIRY_MESSAGE.unseal(keys, row.pop("message_enc"))
    return rows


def inbound_messages(rig: Rig, schema: str) -> list[dict[str, Any]]:
    """The tenant's inbound messages, oldest first, with their inquiry."""
    rows = [row for row in communications(rig_engine(rig), schema) if row["direction"] == "in"]
    with rig_engine(rig).connect() as connection:
        inquiry_of: dict[uuid.UUID, uuid.UUID | None] = dict(
            connection.execute(sa.text(f'SELECT id, inquiry_id FROM "{schema}".communication')).all()
        )
    for row in rows:
        row["inquiry_id"] = inquiry_of[row["id"]]
    return rows


def guest_rows(rig: Rig, schema: str) -> list[dict[str, Any]]:
    with rig_engine(rig).connect() as connection:
        return [
            dict(row)
            for row in connection.execute(sa.text(f'SELECT id, name FROM "{schema}".guest')).mappings()
        ]


def pk(opaque: str, type_name: str = "Guest") -> uuid.UUID:
    found = decode_id(type_name, opaque)
    assert found is not None
    return found


def our_reply(
    rig: Rig, api: GraphQLClient, schema: str, *, guest_id: str, inquiry_id: uuid.UUID
) -> uuid.UUID:
    """One of our mails about the inquiry (a staff message, filed on it as a reply is): the
    communication whose Message-ID the guest's answer quotes."""
    sent = api.data(
        """mutation($input: SendMessageInput!) { sendMessage(input: $input) { communication { id } errors { code } } }""",
        {
            "input": {
                "guestId": guest_id,
                "channel": "EMAIL",
                "subject": "Re: March",
                "body": "Yes, it is free.",
            }
        },
    )["sendMessage"]
    assert sent["errors"] == []
    communication_id = pk(sent["communication"]["id"], "Communication")
    with rig_engine(rig).begin() as connection:
        connection.execute(
            sa.text(f'UPDATE "{schema}".communication SET inquiry_id = :i WHERE id = :c'),
            {"i": inquiry_id, "c": communication_id},
        )
        connection.execute(
            sa.text(f'UPDATE "{schema}".inquiry SET needs_action = false WHERE id = :i'), {"i": inquiry_id}
        )
    return communication_id


# --- email: opening and matching ---------------------------------------------------------------------


def test_mail_from_a_new_sender_opens_an_email_inquiry_for_a_new_guest(rig: Rig, company: Company) -> None:
    tenant, api = company
    schema = tenant.schema_name
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", sender="Pablo López <Pablo@Example.com>")
    [inquiry] = inquiries(rig, schema)
    assert (inquiry["source"], inquiry["stage"], inquiry["needs_action"]) == ("email", "new", True)
    assert (inquiry["subject"], inquiry["message"]) == (
        "Casa del Sol in March?",
        "Is it free for four of us?",
    )
    [guest] = guest_rows(rig, schema)
    assert guest["name"] == "Pablo López" and inquiry["guest_id"] == guest["id"]
    found = api.data('{ guests(first: 5, search: "pablo@example.com") { edges { node { id email } } } }')
    assert [edge["node"]["email"] for edge in found["guests"]["edges"]] == ["pablo@example.com"]
    [message] = inbound_messages(rig, schema)
    assert (message["channel"], message["provider"], message["inquiry_id"]) == (
        "email",
        "sendgrid",
        inquiry["id"],
    )
    assert message["body"] == "Is it free for four of us?" and message["subject"] == "Casa del Sol in March?"
    assert message["provider_message_id"].startswith("<") and message["provider_message_id"].endswith(">")
    assert (
        plaintext_found(rig_engine(rig), schema, ["Is it free for four of us?", "Casa del Sol in March?"])
        == []
    )


def test_sender_without_display_name_is_named_after_the_address(rig: Rig, company: Company) -> None:
    tenant, _ = company
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", sender="maria.rossi@example.com")
    assert [guest["name"] for guest in guest_rows(rig, tenant.schema_name)] == ["maria.rossi"]


def test_mail_from_a_known_guest_is_matched_by_email_and_joins_their_open_inquiry(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    schema = tenant.schema_name
    known = create_guest(api, name="Anna Hemm", email="anna@example.com")
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}")
    [inquiry] = inquiries(rig, schema)
    assert inquiry["guest_id"] == pk(known["id"])
    assert len(guest_rows(rig, schema)) == 1
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", subject="And a cot?", text="We also need a cot.")
    assert len(inquiries(rig, schema)) == 1  # matched by sender: joined, not a second inquiry
    assert [row["inquiry_id"] for row in inbound_messages(rig, schema)] == [inquiry["id"], inquiry["id"]]


def test_reply_to_the_inquiry_address_from_another_sender_joins_that_inquiry(
    rig: Rig, company: Company
) -> None:
    tenant, _ = company
    schema = tenant.schema_name
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}")
    [inquiry] = inquiries(rig, schema)
    to = reply_address(tenant.slug, inquiry["reply_token"], DOMAIN)
    # From the guest's work address, not even authenticated: the token is the proof.
    send_mail(
        rig, to=to, sender="A. Hemm <a.hemm@work.example.org>", spf="fail", dkim="", text="Sorry, five of us."
    )
    assert len(inquiries(rig, schema)) == 1
    answer = inbound_messages(rig, schema)[-1]
    assert (answer["inquiry_id"], answer["guest_id"], answer["body"]) == (
        inquiry["id"],
        inquiry["guest_id"],
        "Sorry, five of us.",
    )
    assert len(guest_rows(rig, schema)) == 1  # no guest for the other address


@pytest.mark.parametrize("header", ["In-Reply-To", "References"])
def test_answer_quoting_our_mail_joins_its_inquiry(rig: Rig, company: Company, header: str) -> None:
    tenant, api = company
    schema = tenant.schema_name
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}")
    [inquiry] = inquiries(rig, schema)
    guest = api.data("{ guests(first: 1) { edges { node { id } } } }")["guests"]["edges"][0]["node"]
    ours = our_reply(rig, api, schema, guest_id=guest["id"], inquiry_id=inquiry["id"])
    quoted = (
        message_id(ours, DOMAIN)
        if header == "In-Reply-To"
        else f"<first@mail.example.com> {message_id(ours, DOMAIN)} <other@elsewhere.example>"
    )
    headers = f"Message-ID: <{uuid.uuid4().hex}@work.example.org>\n{header}: {quoted}\n"
    send_mail(
        rig, to=f"{tenant.slug}@{DOMAIN}", sender="Anna <anna@work.example.org>", headers=headers, dkim=""
    )
    [again] = inquiries(rig, schema)
    assert again["needs_action"] is True  # the guest wrote last
    answer = inbound_messages(rig, schema)[-1]
    assert (answer["inquiry_id"], answer["guest_id"]) == (inquiry["id"], inquiry["guest_id"])


def test_answer_cancels_the_inquirys_pending_reminders(rig: Rig, company: Company) -> None:
    tenant, _ = company
    schema = tenant.schema_name
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}")
    [inquiry] = inquiries(rig, schema)
    with rig_engine(rig).begin() as connection:
        for sequence in (1, 2):
            connection.execute(
                sa.text(
                    f'INSERT INTO "{schema}".inquiry_reminder (id, inquiry_id, sequence, due_at, status, '
                    "created_at, updated_at) VALUES (:id, :i, :s, now() + interval '1 day', 'scheduled', now(), now())"
                ),
                {"id": uuid.uuid4(), "i": inquiry["id"], "s": sequence},
            )
    send_mail(rig, to=reply_address(tenant.slug, inquiry["reply_token"], DOMAIN), text="Still deciding.")
    with rig_engine(rig).connect() as connection:
        statuses = (
            connection.execute(sa.text(f'SELECT status FROM "{schema}".inquiry_reminder')).scalars().all()
        )
    assert statuses == ["cancelled", "cancelled"]


def test_reply_token_of_another_company_proves_nothing_here(
    rig: Rig, company: Company, make_tenant: Callable[..., TenantFixture]
) -> None:
    tenant, _ = company
    other = make_tenant("inb")
    send_mail(rig, to=f"{other.slug}@{DOMAIN}")
    [theirs] = inquiries(rig, other.schema_name)
    # Their inquiry's token, at our company's address, from a sender nobody here knows.
    to = reply_address(tenant.slug, theirs["reply_token"], DOMAIN)
    send_mail(rig, to=to, sender="Mallory <mallory@elsewhere.example.org>", spf="fail", dkim="")
    [ours] = inquiries(rig, tenant.schema_name)
    assert ours["guest_id"] != theirs["guest_id"] and ours["source"] == "email"
    assert len(inbound_messages(rig, other.schema_name)) == 1


def test_reply_token_of_an_erased_guests_inquiry_proves_nobody(rig: Rig, company: Company) -> None:
    tenant, api = company
    schema = tenant.schema_name
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}")
    [inquiry] = inquiries(rig, schema)
    erased = api.data(
        "mutation($input: EraseGuestInput!) { eraseGuest(input: $input) { errors { code } } }",
        {"input": {"guestId": encode_id("Guest", inquiry["guest_id"]), "reason": "guest request"}},
    )["eraseGuest"]
    assert erased["errors"] == []
    to = reply_address(tenant.slug, inquiry["reply_token"], DOMAIN)
    send_mail(rig, to=to, sender="Someone <someone@other.example.org>", spf="fail", dkim="")
    newest = inbound_messages(rig, schema)[-1]
    assert newest["guest_id"] != inquiry["guest_id"] and newest["inquiry_id"] != inquiry["id"]


def test_answer_to_a_closed_inquiry_opens_a_new_one_for_its_guest(rig: Rig, company: Company) -> None:
    tenant, _ = company
    schema = tenant.schema_name
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}")
    [first] = inquiries(rig, schema)
    with rig_engine(rig).begin() as connection:
        connection.execute(sa.text(f"UPDATE \"{schema}\".inquiry SET stage = 'lost', lost_reason = 'price'"))
    send_mail(
        rig,
        to=reply_address(tenant.slug, first["reply_token"], DOMAIN),
        sender="x@other.example.org",
        dkim="",
    )
    rows = inquiries(rig, schema)
    assert len(rows) == 2 and rows[1]["guest_id"] == first["guest_id"] and rows[1]["stage"] == "new"


# --- email: refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["unsigned", "wrong key", "stale", "future", "tampered"])
def test_unsigned_or_badly_signed_mail_is_refused_and_changes_nothing(
    rig: Rig, company: Company, case: str
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    tenant, _ = company
    body, content_type = mail_body(to=f"{tenant.slug}@{DOMAIN}")
    before = counts(rig, tenant.schema_name)
    if case == "unsigned":
        response = post_mail(rig, body, content_type, sign=False)
    elif case == "wrong key":
        own = rig.sendgrid_key
        rig.sendgrid_key = ec.generate_private_key(ec.SECP256R1())
        try:
            response = post_mail(rig, body, content_type)
        finally:
            rig.sendgrid_key = own
    elif case == "stale":
        response = post_mail(rig, body, content_type, timestamp=str(int(time.time()) - 3600))
    elif case == "future":
        response = post_mail(rig, body, content_type, timestamp=str(int(time.time()) + 3600))
    else:
        headers = rig.sendgrid_signature(body)
        headers["Content-Type"] = content_type
        response = rig.client.post(INBOUND_PATH, content=body.replace(b"four", b"five"), headers=headers)
    assert response.status_code == 403
    assert counts(rig, tenant.schema_name) == before


def test_inbound_email_without_a_configured_key_is_refused(
    settings: Settings, provider_server: ProviderServer, make_tenant: Callable[..., TenantFixture]
) -> None:
    with running_rig(settings, provider_server) as plain:  # no inbound key, no domain
        tenant = make_tenant("inb")
        before = counts(plain, tenant.schema_name)
        assert post_mail(plain, *mail_body(to=f"{tenant.slug}@{DOMAIN}")).status_code == 403
        assert counts(plain, tenant.schema_name) == before


@pytest.mark.parametrize("to", ["nobody-here@{domain}", "{slug}@elsewhere.example", "{slug}+ixyz@{domain}"])
def test_mail_for_an_address_no_company_owns_is_not_found(rig: Rig, company: Company, to: str) -> None:
    tenant, _ = company
    before = counts(rig, tenant.schema_name)
    response = post_mail(rig, *mail_body(to=to.format(slug=tenant.slug, domain=DOMAIN)))
    assert response.status_code == 404
    assert counts(rig, tenant.schema_name) == before


def test_mail_for_a_suspended_company_is_answered_like_an_unknown_one(rig: Rig, company: Company) -> None:
    tenant, _ = company
    before = counts(rig, tenant.schema_name)
    with rig_engine(rig).begin() as connection:
        connection.execute(
            sa.text("UPDATE public.tenant SET status = 'suspended' WHERE slug = :s"), {"s": tenant.slug}
        )
    try:
        response = post_mail(rig, *mail_body(to=f"{tenant.slug}@{DOMAIN}"))
    finally:
        with rig_engine(rig).begin() as connection:
            connection.execute(
                sa.text("UPDATE public.tenant SET status = 'active' WHERE slug = :s"), {"s": tenant.slug}
            )
    assert response.status_code == 404 and response.json() == {"error": "unknown address"}
    assert counts(rig, tenant.schema_name) == before


def _truncated(mail: tuple[bytes, str]) -> tuple[bytes, str]:
    return mail[0][: len(mail[0]) // 2], mail[1]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda slug: (b"--x\r\nnot really multipart", "multipart/form-data; boundary=x"), id="garbage"
        ),
        pytest.param(lambda slug: _truncated(mail_body(to=f"{slug}@{DOMAIN}")), id="truncated"),
        pytest.param(lambda slug: (b"to=x&from=y", "application/x-www-form-urlencoded"), id="not multipart"),
        pytest.param(
            lambda slug: mail_body(to=f"{slug}@{DOMAIN}", envelope="{not json"), id="bad envelope JSON"
        ),
        pytest.param(
            lambda slug: mail_body(to=f"{slug}@{DOMAIN}", envelope='{"to": 7}'), id="bad envelope to"
        ),
    ],
)
def test_malformed_post_is_a_bad_request_and_changes_nothing(
    rig: Rig, company: Company, make: Callable[[str], tuple[bytes, str]]
) -> None:
    tenant, _ = company
    body, content_type = make(tenant.slug)
    before = counts(rig, tenant.schema_name)
    response = post_mail(rig, body, content_type)
    assert response.status_code == 400, response.text
    assert counts(rig, tenant.schema_name) == before


def test_mail_without_a_from_field_is_a_bad_request(rig: Rig, company: Company) -> None:
    tenant, _ = company
    fields = [
        ("envelope", json.dumps({"to": [f"{tenant.slug}@{DOMAIN}"], "from": "a@example.com"})),
        ("text", "hi"),
    ]
    body, content_type = encode_multipart_formdata(fields)
    before = counts(rig, tenant.schema_name)
    response = post_mail(rig, body, content_type)
    assert response.status_code == 400 and "from" in response.json()["error"]
    assert counts(rig, tenant.schema_name) == before


def test_mail_over_the_size_limit_is_refused_and_changes_nothing(rig: Rig, company: Company) -> None:
    tenant, _ = company
    limit = rig.settings.inbound_email_max_bytes
    body, content_type = mail_body(
        to=f"{tenant.slug}@{DOMAIN}", attachments=[("scan.pdf", b"%PDF" + b"\0" * limit, "application/pdf")]
    )
    before = counts(rig, tenant.schema_name)
    assert post_mail(rig, body, content_type).status_code == 413
    assert counts(rig, tenant.schema_name) == before


# --- email: bodies --------------------------------------------------------------------------------------


def test_mail_without_text_keeps_its_subject_and_an_empty_message(rig: Rig, company: Company) -> None:
    tenant, _ = company
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", subject="Availability for Easter", text=None)
    [inquiry] = inquiries(rig, tenant.schema_name)
    assert (inquiry["subject"], inquiry["message"]) == ("Availability for Easter", None)
    assert inbound_messages(rig, tenant.schema_name)[0]["body"] == ""


def test_huge_text_is_capped_with_its_head_kept_and_the_cut_marked(rig: Rig, company: Company) -> None:
    tenant, _ = company
    text = "Dear team, we are four. " + "x" * (TEXT_MAX * 3)
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", text=text)
    [message] = inbound_messages(rig, tenant.schema_name)
    assert len(message["body"]) <= TEXT_MAX
    assert message["body"].startswith("Dear team, we are four. xxx")
    assert "[message cut here:" in message["body"]
    assert inquiries(rig, tenant.schema_name)[0]["message"] == message["body"]


def test_html_only_mail_is_kept_as_its_readable_text(rig: Rig, company: Company) -> None:
    tenant, _ = company
    html = (
        "<html><head><style>p {color: red}</style></head><body><p>Hola,<br>somos cuatro &amp; un perro.</p>"
        "<script>alert('x')</script><div>¿Está libre?</div></body></html>"
    )
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", text=None, html=html)
    [message] = inbound_messages(rig, tenant.schema_name)
    assert message["body"] == "Hola,\nsomos cuatro & un perro.\n\n¿Está libre?"


def test_attachments_are_not_kept_only_noted(rig: Rig, company: Company) -> None:
    tenant, _ = company
    pdf = b"%PDF-1.4 \xff\xfe binary \x00 bytes"
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", attachments=[("passport.pdf", pdf, "application/pdf")])
    [message] = inbound_messages(rig, tenant.schema_name)
    assert message["body"] == "Is it free for four of us?\n\n[1 attachment(s) not kept]"
    assert plaintext_found(rig_engine(rig), tenant.schema_name, ["passport.pdf"]) == []


def test_the_same_mail_posted_twice_is_stored_once(rig: Rig, company: Company) -> None:
    tenant, _ = company
    body, content_type = mail_body(to=f"{tenant.slug}@{DOMAIN}")
    assert post_mail(rig, body, content_type).status_code == 200
    after_first = counts(rig, tenant.schema_name)
    assert post_mail(rig, body, content_type).status_code == 200  # SendGrid retries
    assert counts(rig, tenant.schema_name) == after_first
    assert after_first["inquiry"] == 1 and after_first["communication"] == 1


# --- email: forged From ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spf", "dkim"),
    [("fail", ""), ("softfail", "{@example.com : fail}"), ("pass", "{@attacker.example : pass}")],
)
def test_unauthenticated_mail_from_a_known_guests_address_is_not_attached(
    rig: Rig, company: Company, spf: str, dkim: str
) -> None:
    tenant, api = company
    create_guest(api, name="Anna Hemm", email="anna@example.com")
    before = counts(rig, tenant.schema_name)
    # SPF "pass" here is for the envelope sender's domain, not the From's: no proof either.
    envelope = json.dumps({"to": [f"{tenant.slug}@{DOMAIN}"], "from": "bounce@attacker.example"})
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", spf=spf, dkim=dkim, envelope=envelope)
    assert counts(rig, tenant.schema_name) == before


def test_unauthenticated_mail_from_an_unknown_address_opens_an_inquiry_for_a_new_guest(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    anna = create_guest(api, name="Anna Hemm", email="anna@example.com")
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", sender="Zoe <zoe@new.example.net>", spf="none", dkim="")
    [inquiry] = inquiries(rig, tenant.schema_name)
    assert {guest["name"] for guest in guest_rows(rig, tenant.schema_name)} == {"Anna Hemm", "Zoe"}
    assert inquiry["guest_id"] != pk(anna["id"])


def test_spf_pass_for_an_aligned_envelope_sender_authenticates(rig: Rig, company: Company) -> None:
    tenant, api = company
    known = create_guest(api, name="Anna Hemm", email="anna@example.com")
    envelope = json.dumps({"to": [f"{tenant.slug}@{DOMAIN}"], "from": "bounces@mail.example.com"})
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}", spf="pass", dkim="", envelope=envelope)
    assert inquiries(rig, tenant.schema_name)[0]["guest_id"] == pk(known["id"])


# --- WhatsApp and SMS ------------------------------------------------------------------------------------

SET_SENDERS = """mutation($input: UpdateMessagingSettingsInput!) { updateMessagingSettings(input: $input) {
  errors { field code } } }"""


def _own_numbers(api: GraphQLClient) -> tuple[str, str]:
    sms = f"+1201555{uuid.uuid4().int % 10_000:04d}"
    whatsapp = f"+1201556{uuid.uuid4().int % 10_000:04d}"
    result = api.data(
        SET_SENDERS,
        {
            "input": {
                "smsFrom": sms,
                "whatsappFrom": whatsapp,
                "twilioAccountSid": "AC" + "1" * 32,
                "twilioAuthToken": "own-token",
            }
        },
    )["updateMessagingSettings"]
    assert result["errors"] == []
    return sms, whatsapp


def _text(rig: Rig, *, to: str, sender: str, body: str, whatsapp: bool = False) -> None:
    prefix = "whatsapp:" if whatsapp else ""
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "From": prefix + sender, "To": prefix + to, "Body": body}
    response = twilio_post(rig, "/webhooks/twilio/inbound", form, token="own-token")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("whatsapp", [False, True], ids=["sms", "whatsapp"])
def test_message_from_someone_without_inquiry_or_stay_opens_an_inquiry(
    rig: Rig, company: Company, whatsapp: bool
) -> None:
    tenant, api = company
    sms, wa = _own_numbers(api)
    _text(rig, to=wa if whatsapp else sms, sender="+34600999888", body="Free in May?", whatsapp=whatsapp)
    [inquiry] = inquiries(rig, tenant.schema_name)
    assert inquiry["source"] == ("whatsapp" if whatsapp else "sms") and inquiry["message"] == "Free in May?"
    [newcomer] = guest_rows(rig, tenant.schema_name)  # a new person: a new guest
    assert inquiry["guest_id"] == newcomer["id"]
    assert inbound_messages(rig, tenant.schema_name)[0]["inquiry_id"] == inquiry["id"]


def test_message_from_a_known_guest_is_matched_by_phone_and_joins_their_open_inquiry(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    sms, _ = _own_numbers(api)
    known = create_guest(api, name="Anna Hemm", email="anna@example.com", phone="+34600111222")
    send_mail(rig, to=f"{tenant.slug}@{DOMAIN}")  # an email inquiry first
    [inquiry] = inquiries(rig, tenant.schema_name)
    with rig_engine(rig).begin() as connection:
        connection.execute(sa.text(f'UPDATE "{tenant.schema_name}".inquiry SET needs_action = false'))
    _text(rig, to=sms, sender="+34600111222", body="Any news?")
    [again] = inquiries(rig, tenant.schema_name)
    assert again["id"] == inquiry["id"] and again["guest_id"] == pk(known["id"]) and again["needs_action"]
    assert inbound_messages(rig, tenant.schema_name)[-1]["inquiry_id"] == inquiry["id"]


def test_message_from_a_guest_with_an_upcoming_stay_stays_on_their_history(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    sms, _ = _own_numbers(api)
    guest = create_guest(api, name="Anna Hemm", phone="+34600111222")
    create_booking(api, property_id=create_property(api)["id"], guest_id=guest["id"])
    _text(rig, to=sms, sender="+34600111222", body="What time is check-in?")
    assert inquiries(rig, tenant.schema_name) == []
    [message] = inbound_messages(rig, tenant.schema_name)
    assert message["inquiry_id"] is None and message["body"] == "What time is check-in?"


def test_message_from_a_guest_whose_stays_are_over_opens_an_inquiry(rig: Rig, company: Company) -> None:
    tenant, api = company
    sms, _ = _own_numbers(api)
    guest = create_guest(api, name="Anna Hemm", phone="+34600111222")
    create_booking(
        api, property_id=create_property(api)["id"], guest_id=guest["id"], checkIn=iso(-20), checkOut=iso(-15)
    )
    _text(rig, to=sms, sender="+34600111222", body="Can we come back in summer?")
    [inquiry] = inquiries(rig, tenant.schema_name)
    assert inquiry["guest_id"] == pk(guest["id"]) and inquiry["source"] == "sms"


# --- contact form ------------------------------------------------------------------------------------------

CONTACT_FORM = """mutation($input: SubmitContactFormInput!) {
  submitContactForm(input: $input) { reference errors { field code } } }"""


def _contact(rig: Rig, tenant: TenantFixture, **values: Any) -> dict[str, Any]:
    form = GraphQLClient(rig.client, {"X-Tenant": tenant.slug})
    payload: dict[str, Any] = form.data(
        CONTACT_FORM,
        {"input": {"name": "Anna Hemm", "email": "anna@example.com", "message": "Hello!", **values}},
    )["submitContactForm"]
    return payload


def _stay(place: dict[str, Any], *, nights: int) -> dict[str, Any]:
    return {"propertyId": place["id"], "checkIn": iso(AHEAD), "checkOut": iso(AHEAD + nights)}


def test_contact_form_opens_a_contact_form_inquiry_with_its_dates_and_party(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    place = create_property(api)
    known = create_guest(api, name="Anna Hemm", email="anna@example.com")
    result = _contact(rig, tenant, message="Free for us?", **_stay(place, nights=5), adults=2, children=1)
    assert result["errors"] == [] and decode_id("Communication", result["reference"]) is not None
    [inquiry] = inquiries(rig, tenant.schema_name)
    assert inquiry["source"] == "contact_form" and inquiry["guest_id"] == pk(known["id"])
    assert (inquiry["property_id"], inquiry["check_in"].isoformat(), inquiry["check_out"].isoformat()) == (
        pk(place["id"], "Property"),
        iso(AHEAD),
        iso(AHEAD + 5),
    )
    assert (inquiry["adults"], inquiry["children"], inquiry["message"]) == (2, 1, "Free for us?")
    assert inbound_messages(rig, tenant.schema_name)[0]["inquiry_id"] == inquiry["id"]


def test_contact_form_from_a_new_person_creates_a_guest_and_an_inquiry_without_dates(
    rig: Rig, company: Company
) -> None:
    tenant, _ = company
    assert _contact(rig, tenant, name="Zoe Park", email="zoe@example.net")["errors"] == []
    [inquiry] = inquiries(rig, tenant.schema_name)
    assert [guest["name"] for guest in guest_rows(rig, tenant.schema_name)] == ["Zoe Park"]
    assert (inquiry["check_in"], inquiry["check_out"], inquiry["adults"]) == (None, None, None)


def test_contact_form_of_a_guest_with_an_open_inquiry_joins_it_and_fills_only_blanks(
    rig: Rig, company: Company
) -> None:
    tenant, api = company
    place = create_property(api)
    assert _contact(rig, tenant, message="First question", adults=2)["errors"] == []
    result = _contact(rig, tenant, message="Second question", **_stay(place, nights=3), adults=6)
    assert result["errors"] == []
    [inquiry] = inquiries(rig, tenant.schema_name)
    assert inquiry["adults"] == 2  # known already: kept
    assert (inquiry["property_id"], inquiry["check_in"].isoformat()) == (
        pk(place["id"], "Property"),
        iso(AHEAD),
    )
    assert inquiry["message"] == "First question"
    assert [row["inquiry_id"] for row in inbound_messages(rig, tenant.schema_name)] == [inquiry["id"]] * 2


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"checkIn": iso(-3), "checkOut": iso(2)}, "checkIn", "OUT_OF_RANGE"),
        ({"checkIn": iso(AHEAD), "checkOut": iso(AHEAD)}, "checkOut", "OUT_OF_RANGE"),
        ({"checkIn": iso(AHEAD + 5), "checkOut": iso(AHEAD)}, "checkOut", "OUT_OF_RANGE"),
        ({"checkOut": iso(-1)}, "checkOut", "OUT_OF_RANGE"),
        ({"adults": 0}, "adults", "OUT_OF_RANGE"),
        ({"children": -1}, "children", "OUT_OF_RANGE"),
        ({"propertyId": "not-an-id"}, "propertyId", "NOT_FOUND"),
        ({"propertyId": encode_id("Property", uuid.UUID(int=7))}, "propertyId", "NOT_FOUND"),
    ],
)
def test_contact_form_with_bad_stay_details_is_refused_and_writes_nothing(
    rig: Rig, company: Company, values: dict[str, Any], field: str, code: str
) -> None:
    tenant, _ = company
    before = counts(rig, tenant.schema_name)
    result = _contact(rig, tenant, **values)
    assert result["reference"] is None
    assert {"field": field, "code": code} in result["errors"]
    assert counts(rig, tenant.schema_name) == before


# --- pure parts -------------------------------------------------------------------------------------------


def test_a_long_message_id_is_kept_as_its_hash_and_a_missing_one_as_the_mails() -> None:
    body, content_type = mail_body(
        to=f"acme@{DOMAIN}", headers=f"Message-ID: <{'a' * 300}@mail.example.com>\n"
    )
    parsed = parse_inbound_email(content_type, body)
    assert parsed.message_id.startswith("sha256:") and len(parsed.message_id) <= 200
    # Without a Message-ID: two posts of one mail (each with its own multipart boundary) agree.
    posts = [mail_body(to=f"acme@{DOMAIN}", headers="") for _ in range(2)]
    first, second = (parse_inbound_email(content_type, body) for body, content_type in posts)
    assert first.message_id == second.message_id and first.message_id.startswith("sha256:")


def test_a_body_in_the_charset_sendgrid_names_is_decoded() -> None:
    fields: list[tuple[str, Any]] = [
        ("envelope", json.dumps({"to": [f"acme@{DOMAIN}"], "from": "a@example.com"})),
        ("from", "a@example.com"),
        ("charsets", json.dumps({"text": "iso-8859-1", "subject": "UTF-8"})),
        ("text", ("", "¿Está libre en año nuevo?".encode("iso-8859-1"), "text/plain")),
    ]
    body, content_type = encode_multipart_formdata(fields)
    body = body.replace(b'; filename=""', b"")  # a plain field holding ISO-8859-1 bytes
    assert parse_inbound_email(content_type, body).text == "¿Está libre en año nuevo?"


def test_html_to_text_drops_scripts_and_keeps_line_breaks() -> None:
    html = "<p>One<br/>Two</p><script>var a = '<p>';</script><style>b{}</style><ul><li>Three</li></ul>"
    assert html_to_text(html) == "One\nTwo\n\nThree"
