"""One inquiry's whole journey, across the three halves of the pipeline at once: a guest's mail
opens it, our reply carries its Reply-To and Message-ID, a reminder goes once, the guest's answer
(matched by what our own mail gave them) stops the others, and a sent quote is confirmed into a
booking whose confirmation goes out. Real PostgreSQL, Redis, Dramatiq worker and scheduler ticks;
the real sendgrid/twilio libraries talk to the local provider stand-in."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hospes.settings import Settings
from tests.conftest import GraphQLClient, TenantFixture
from tests.dates import AHEAD, iso
from tests.factories import create_property
from tests.inquiry_support import fall_due, mail_body, post_mail, reminders
from tests.messaging_support import (
    Company,
    Rig,
    calls_for,
    new_company,
    rig_engine,
    running_rig,
    tenant_id,
    wait_until,
)
from tests.provider_server import (
    ProviderServer,
    provider_server_fixture,  # noqa: F401  (registers the provider_server fixture)
)

DOMAIN = "in.hospes.test"
ANNA = "Anna Hemm <anna@example.com>"

INQUIRY = """query($id: ID!) { inquiry(id: $id) {
  id source stage needsAction guest { name email }
  communications { direction channel }
  reminders { sequence status }
  quote { amount currency sent }
  booking { id status source amount }
  history { __typename kind actor }
} }"""
PIPELINE = """{ inquiryStageCounts { stage count needsAction }
  inquiries(first: 20) { totalCount edges { node { id stage needsAction } } } }"""


def _mutation(name: str, payload: str = "inquiry { id stage needsAction }") -> str:
    kind = name[0].upper() + name[1:]
    return (
        f"mutation($input: {kind}Input!) {{ {name}(input: $input) {{ {payload} "
        "errors { field code message } } }"
    )


@pytest.fixture
def rig(settings: Settings, provider_server: ProviderServer) -> Iterator[Rig]:
    with running_rig(settings, provider_server, inbound_email_domain=DOMAIN) as made:
        yield made


@pytest.fixture
def company(rig: Rig, make_tenant: Callable[..., TenantFixture]) -> Company:
    return new_company(rig, make_tenant, "jrn")


def _do(api: GraphQLClient, name: str, **values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = api.data(_mutation(name), {"input": values})[name]
    assert payload["errors"] == [], payload["errors"]
    return payload


def _mails(rig: Rig, tenant: TenantFixture) -> list[dict[str, Any]]:
    calls = calls_for(rig.provider, tenant_id(rig_engine(rig), tenant.slug))
    return [call.body for call in calls if call.provider == "sendgrid"]


def _mail_with(rig: Rig, tenant: TenantFixture, subject_start: str, count: int = 1) -> list[dict[str, Any]]:
    """The mails at the provider whose subject starts so, once there are `count` of them."""

    def found() -> list[dict[str, Any]] | None:
        mails = [mail for mail in _mails(rig, tenant) if mail["subject"].startswith(subject_start)]
        return mails if len(mails) >= count else None

    result: list[dict[str, Any]] = wait_until(found, what=f"{count} mail(s) '{subject_start}…'")
    return result


def _guest_mails(rig: Rig, **fields: Any) -> None:
    response = post_mail(rig, *mail_body(**fields))
    assert response.status_code == 200, response.text


def _inquiry(api: GraphQLClient, inquiry_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.data(INQUIRY, {"id": inquiry_id})["inquiry"]
    return found


def _handled(rig: Rig, tenant: TenantFixture, inquiry_id: str, sequence: int) -> None:
    def done() -> bool:
        rig.tick()
        rows = reminders(rig_engine(rig), tenant.schema_name, inquiry_id)
        return any(row["sequence"] == sequence and row["status"] != "scheduled" for row in rows)

    wait_until(done, what=f"reminder {sequence} to be handled")


def _opened_and_answered(rig: Rig, company: Company) -> tuple[str, dict[str, Any]]:
    """Anna's mail to the reservations address, and our emailed reply to it: the inquiry's id and
    the reply as the provider received it."""
    tenant, api = company
    _guest_mails(rig, to=f"{tenant.slug}@{DOMAIN}", sender=ANNA, text="Is Casa del Sol free for four?")
    [edge] = api.data(PIPELINE)["inquiries"]["edges"]
    inquiry_id = edge["node"]["id"]
    _do(api, "replyToInquiry", inquiryId=inquiry_id, body="It is free those nights.")
    [reply] = _mail_with(rig, tenant, "Your inquiry")
    return inquiry_id, reply


def test_mail_in_reply_reminder_answer_quote_and_confirmation(rig: Rig, company: Company) -> None:
    tenant, api = company
    engine, schema = rig_engine(rig), tenant.schema_name
    rig.start_worker()
    inquiry_id, reply = _opened_and_answered(rig, company)
    # The guest's reply reaches us: to the inquiry's own address, quoting our Message-ID.
    assert reply["reply_to"]["email"].startswith(f"{tenant.slug}+i")
    assert reply["reply_to"]["email"].endswith(f"@{DOMAIN}")
    assert reply["headers"]["Message-ID"].endswith(f"@{DOMAIN}>")
    shown = _inquiry(api, inquiry_id)
    assert (shown["source"], shown["stage"], shown["needsAction"]) == ("EMAIL", "RESPONDED", False)
    assert shown["guest"] == {"name": "Anna Hemm", "email": "anna@example.com"}

    # Three follow-ups; the first falls due and goes, once, by email.
    _do(api, "scheduleInquiryReminders", inquiryId=inquiry_id, afterHours=[24, 48.5, 72])
    fall_due(engine, schema, inquiry_id, 1)
    _handled(rig, tenant, inquiry_id, 1)
    _mail_with(rig, tenant, "Following up")

    # Anna answers from her work address, quoting our reply: it joins the inquiry, which needs us
    # again, and the two reminders left are cancelled.
    _guest_mails(
        rig,
        to=f"{tenant.slug}@{DOMAIN}",
        sender="Anna Hemm <anna.hemm@work.example>",
        text="Great, could you send a price for 10 to 15 March?",
        headers=f"Message-ID: <{uuid.uuid4().hex}@work.example>\nIn-Reply-To: {reply['headers']['Message-ID']}\n",
        dkim="{@work.example : pass}",
    )
    shown = _inquiry(api, inquiry_id)
    assert shown["needsAction"] is True
    assert [(r["sequence"], r["status"]) for r in shown["reminders"]] == [
        (1, "SENT"),
        (2, "CANCELLED"),
        (3, "CANCELLED"),
    ]
    assert [c["direction"] for c in shown["communications"]].count("IN") == 2
    fall_due(engine, schema, inquiry_id, 2, 3)
    wait_until(lambda: rig.tick() == 0, what="the cancelled reminders' work to finish")
    assert len(_mail_with(rig, tenant, "Following up")) == 1

    # A quote, sent; then the guest says yes and staff confirm: a booking with its confirmation.
    villa = create_property(api, name="Casa del Sol")
    check_in, check_out = iso(AHEAD), iso(AHEAD + 5)
    _do(
        api,
        "updateInquiry",
        inquiryId=inquiry_id,
        propertyId=villa["id"],
        checkIn=check_in,
        checkOut=check_out,
        adults=4,
    )
    quoted = api.data(
        _mutation("quoteInquiry"),
        {
            "input": {
                "inquiryId": inquiry_id,
                "amount": "950.00",
                "currency": "USD",
                "lines": [
                    {"description": "5 nights", "amount": "800.00"},
                    {"description": "Cleaning", "amount": "150.00"},
                ],
                "send": True,
            }
        },
    )["quoteInquiry"]
    assert quoted["errors"] == [] and quoted["inquiry"]["stage"] == "QUOTED"
    [quote_mail] = _mail_with(rig, tenant, "Your quote")
    assert "950.00" in quote_mail["content"][0]["value"]
    confirmed = _do(api, "confirmInquiry", inquiryId=inquiry_id)
    assert confirmed["inquiry"]["stage"] == "CONFIRMED"
    shown = _inquiry(api, inquiry_id)
    assert shown["booking"]["status"] == "CONFIRMED" and shown["booking"]["source"] == "INQUIRY"
    assert shown["booking"]["amount"] == "950.00"
    assert shown["quote"]["sent"] is True
    [confirmation] = _mail_with(rig, tenant, "Your booking at Casa del Sol is confirmed")
    assert confirmation["personalizations"][0]["to"][0]["email"] == "anna@example.com"

    # The history tells it all, in order.
    kinds = iter(line["kind"] for line in shown["history"])
    story = ["RECEIVED", "MESSAGE_IN", "MESSAGE_OUT", "REMINDER_SCHEDULED", "REMINDER_SENT", "MESSAGE_IN"]
    story += ["REMINDER_CANCELLED", "QUOTED", "MESSAGE_OUT", "STAGE_CHANGED"]
    assert all(kind in kinds for kind in story), [line["kind"] for line in shown["history"]]

    counts = {
        row["stage"]: (row["count"], row["needsAction"]) for row in api.data(PIPELINE)["inquiryStageCounts"]
    }
    assert counts["CONFIRMED"] == (1, 0) and counts["NEW"] == (0, 0) and counts["RESPONDED"] == (0, 0)


@pytest.mark.parametrize("how", ["reply-to address", "in-reply-to", "references", "sender"])
def test_an_answer_to_our_reply_finds_its_inquiry(rig: Rig, company: Company, how: str) -> None:
    tenant, api = company
    rig.start_worker()
    inquiry_id, reply = _opened_and_answered(rig, company)
    our_id = reply["headers"]["Message-ID"]
    fresh = f"Message-ID: <{uuid.uuid4().hex}@elsewhere.example>\n"
    answer: dict[str, Any] = {
        "reply-to address": {
            "to": reply["reply_to"]["email"],
            "sender": "Ben Hemm <ben@elsewhere.example>",
            "dkim": "{@elsewhere.example : pass}",
            "headers": fresh,
        },
        "in-reply-to": {
            "to": f"{tenant.slug}@{DOMAIN}",
            "sender": "Anna at work <anna@elsewhere.example>",
            "dkim": "{@elsewhere.example : pass}",
            "headers": fresh + f"In-Reply-To: {our_id}\n",
        },
        "references": {
            "to": f"{tenant.slug}@{DOMAIN}",
            "sender": "Anna at work <anna@elsewhere.example>",
            "dkim": "{@elsewhere.example : pass}",
            "headers": fresh + f"References: <first@elsewhere.example> {our_id}\n",
        },
        "sender": {"to": f"{tenant.slug}@{DOMAIN}", "sender": ANNA, "headers": fresh},
    }[how]
    _guest_mails(rig, text="Yes please, we would like to book.", **answer)
    pipeline = api.data(PIPELINE)
    assert pipeline["inquiries"]["totalCount"] == 1  # joined, not a new inquiry
    shown = _inquiry(api, inquiry_id)
    assert shown["needsAction"] is True
    assert [c["direction"] for c in shown["communications"]].count("IN") == 2
