"""The inquiry pipeline as staff work it: logging an inquiry, the pipeline's order and stage counts,
filling in, assigning, losing and reopening, and confirming into a booking with its confirmation
message; partners with the inquiries scopes; the guest's record (its inquiries, its history) and
erasure. Every bad input answers with a clear error and writes nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.schema.ids import decode_id, encode_id
from hospes.settings import Settings
from tests.conftest import OWNER_PASSWORD, GraphQLClient, Servers, TenantFixture, error_codes, login
from tests.dates import AHEAD, iso
from tests.factories import create_guest, create_property, inquiry_mutation
from tests.helpers_db import all_versions, mails, plaintext_found, row_counts, statements_of
from tests.test_encryption import forget_api_keys, rotate_cli

HISTORY = """history {
  __typename at kind actor staffUser { email }
  ... on InquiryChangeItem { source fromStage toStage lostReason fields assignee { email } }
  ... on InquiryMessageItem { communication { id direction } }
  ... on InquiryQuoteItem { quote { id amount } }
  ... on InquiryReminderItem { reason reminder { sequence status } }
}"""
FIELDS = f"""id source stage needsAction checkIn checkOut adults children message notes lostReason lostNote
  receivedAt lastActivityAt
  guest {{ id name email phone }} property {{ id name }} assignee {{ id email }}
  booking {{ id status amount currency adults children source checkIn checkOut }}
  communications {{ id direction }}
  {HISTORY}"""
INQUIRY = f"query($id: ID!) {{ inquiry(id: $id) {{ {FIELDS} }} }}"
INQUIRIES = """query($stage: InquiryStage, $first: Int, $after: String, $search: String) {
  inquiries(stage: $stage, first: $first, after: $after, search: $search) {
    totalCount edges { cursor node { id needsAction stage } } pageInfo { hasNextPage endCursor }
  }
}"""
STAGE_COUNTS = "{ inquiryStageCounts { stage count needsAction } }"


CREATE = inquiry_mutation("createInquiry", FIELDS)
UPDATE = inquiry_mutation("updateInquiry", FIELDS)
ASSIGN = inquiry_mutation("assignInquiry", FIELDS)
LOST = inquiry_mutation("markInquiryLost", FIELDS)
REOPEN = inquiry_mutation("reopenInquiry", FIELDS)
CONFIRM = inquiry_mutation("confirmInquiry", FIELDS)
CREATE_STAFF = (
    "mutation($i: CreateStaffUserInput!) { createStaffUser(input: $i) { staffUser { id } errors { code } } }"
)
DEACTIVATE_STAFF = """mutation($i: DeactivateStaffUserInput!) {
  deactivateStaffUser(input: $i) { errors { code } }
}"""
CREATE_KEY = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key errors { code } } }"
ERASE = "mutation($i: EraseGuestInput!) { eraseGuest(input: $i) { guest { id } errors { code } } }"
MERGE = "mutation($i: MergeGuestsInput!) { mergeGuests(input: $i) { guest { id } errors { code } } }"
GUEST = """query($id: ID!) {
  guest(id: $id) {
    inquiries { id }
    history(first: 50) { edges { node { __typename at
      ... on InquiryEvent { inquiry { id stage } }
      ... on MessageEvent { communication { id } } } } }
  }
}"""


def run(api: GraphQLClient, mutation: str, name: str, **values: Any) -> dict[str, Any]:
    """The payload of one inquiry mutation (which must not fail at the top level)."""
    payload: dict[str, Any] = api.data(mutation, {"input": values})[name]
    return payload


def made(api: GraphQLClient, mutation: str, name: str, **values: Any) -> dict[str, Any]:
    """The inquiry a mutation that must succeed returns."""
    payload = run(api, mutation, name, **values)
    assert payload["errors"] == [], payload["errors"]
    inquiry: dict[str, Any] = payload["inquiry"]
    return inquiry


def phone_inquiry(api: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    values = {
        "source": "PHONE",
        "guest": {"name": "Anna Hemm", "email": "anna@example.com", "phone": "+34600111222"},
        "message": "Is Casa del Sol free for four in March?",
        **overrides,
    }
    return made(api, CREATE, "createInquiry", **values)


def errors_of(payload: dict[str, Any]) -> set[tuple[str | None, str]]:
    return {(error["field"], error["code"]) for error in payload["errors"]}


def pk(inquiry: dict[str, Any]) -> uuid.UUID:
    found = decode_id("Inquiry", inquiry["id"])
    assert found is not None
    return found


def sql(engine: sa.Engine, schema: str, statement: str, **params: Any) -> Any:
    with engine.begin() as connection:
        return connection.execute(sa.text(statement.replace("{s}", f'"{schema}"')), params)


def add_quote(
    engine: sa.Engine, schema: str, inquiry_pk: uuid.UUID, amount: str, *, primary: bool = True, age: int = 0
) -> str:
    """A quote row (quoting is another mutation's job; here only its row matters), `age` minutes old."""
    quote = sql(
        engine,
        schema,
        "INSERT INTO {s}.inquiry_quote (inquiry_id, amount, currency, is_primary, created_at) "
        "VALUES (:inquiry, :amount, 'EUR', :primary, now() - make_interval(mins => :age)) RETURNING id",
        inquiry=inquiry_pk,
        amount=amount,
        primary=primary,
        age=age,
    ).scalar_one()
    return encode_id("InquiryQuote", quote)


def add_reminders(engine: sa.Engine, schema: str, inquiry_pk: uuid.UUID, count: int) -> None:
    for sequence in range(1, count + 1):
        sql(
            engine,
            schema,
            "INSERT INTO {s}.inquiry_reminder (inquiry_id, sequence, due_at, status) "
            "VALUES (:inquiry, :sequence, now() + make_interval(hours => :sequence * 24), 'scheduled')",
            inquiry=inquiry_pk,
            sequence=sequence,
        )


def reminder_statuses(engine: sa.Engine, schema: str, inquiry_pk: uuid.UUID) -> list[str]:
    return list(
        sql(
            engine,
            schema,
            "SELECT status FROM {s}.inquiry_reminder WHERE inquiry_id = :inquiry ORDER BY sequence",
            inquiry=inquiry_pk,
        ).scalars()
    )


def staff_user(api: GraphQLClient, client: TestClient, tenant: TenantFixture, role: str) -> GraphQLClient:
    """A new staff user of `role`, logged in."""
    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant.slug}.test"
    created = api.data(
        CREATE_STAFF,
        {"i": {"email": email, "password": OWNER_PASSWORD, "name": role.title(), "role": role.upper()}},
    )["createStaffUser"]
    assert created["errors"] == []
    token = login(client, tenant=tenant.slug, email=email, password=OWNER_PASSWORD)
    return GraphQLClient(client, {"Authorization": f"Bearer {token}"})


def partner(api: GraphQLClient, client: TestClient, *scopes: str) -> GraphQLClient:
    key = api.data(CREATE_KEY, {"i": {"name": "crm", "scopes": list(scopes)}})["createApiKey"]["key"]
    return GraphQLClient(client, {"X-Api-Key": key})


# --- intake by staff ------------------------------------------------------------------------


def test_a_phone_inquiry_from_a_new_person_makes_the_guest_and_waits_on_us(tenant: TenantFixture) -> None:
    inquiry = phone_inquiry(tenant.api, checkIn=iso(AHEAD), checkOut=iso(AHEAD + 5), adults=4, children=1)
    assert inquiry["stage"] == "NEW" and inquiry["needsAction"] is True and inquiry["source"] == "PHONE"
    assert inquiry["guest"]["name"] == "Anna Hemm"
    assert inquiry["guest"]["email"] == "anna@example.com"
    assert inquiry["guest"]["phone"] == "+34600111222"
    assert (inquiry["checkIn"], inquiry["checkOut"], inquiry["adults"], inquiry["children"]) == (
        iso(AHEAD),
        iso(AHEAD + 5),
        4,
        1,
    )
    assert inquiry["message"] == "Is Casa del Sol free for four in March?"
    [received] = inquiry["history"]
    assert received["__typename"] == "InquiryChangeItem"
    assert (received["kind"], received["actor"], received["source"]) == ("RECEIVED", "STAFF", "PHONE")
    assert received["staffUser"] == {"email": tenant.owner_email}


def test_a_phone_inquiry_finds_the_guest_exactly_as_bookings_do(tenant: TenantFixture) -> None:
    anna = create_guest(tenant.api)
    same = phone_inquiry(tenant.api, guest={"name": "A. Hemm", "email": "ANNA@example.com"})
    by_phone = phone_inquiry(tenant.api, guest={"name": "Hemm, Anna", "phone": "+34 600 111 222"})
    assert same["guest"]["id"] == by_phone["guest"]["id"] == anna["id"]
    # Another person under the same address (an assistant, an agency) is a new guest.
    ben = phone_inquiry(tenant.api, guest={"name": "Ben Hemm", "email": "anna@example.com"})
    assert ben["guest"]["id"] != anna["id"]


@pytest.mark.parametrize("source", ["PHONE", "EMAIL", "WHATSAPP", "SMS", "CONTACT_FORM"])
def test_staff_log_an_inquiry_from_any_channel_for_a_known_guest(tenant: TenantFixture, source: str) -> None:
    anna = create_guest(tenant.api)
    place = create_property(tenant.api)
    inquiry = made(
        tenant.api, CREATE, "createInquiry", source=source, guestId=anna["id"], propertyId=place["id"]
    )
    assert inquiry["source"] == source
    assert inquiry["guest"]["id"] == anna["id"]
    assert inquiry["property"]["id"] == place["id"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"guestId": "GUEST", "guest": {"name": "Anna"}}, {("guestId", "REQUIRED")}),
        ({}, {("guestId", "REQUIRED")}),
        ({"guestId": encode_id("Guest", uuid.uuid4())}, {("guestId", "NOT_FOUND")}),
        ({"guestId": "not-an-id"}, {("guestId", "NOT_FOUND")}),
        (
            {"guestId": "GUEST", "propertyId": encode_id("Property", uuid.uuid4())},
            {("propertyId", "NOT_FOUND")},
        ),
        (
            {"guestId": "GUEST", "checkIn": iso(AHEAD + 3), "checkOut": iso(AHEAD)},
            {("checkOut", "OUT_OF_RANGE")},
        ),
        ({"guestId": "GUEST", "checkIn": iso(-3), "checkOut": iso(2)}, {("checkIn", "OUT_OF_RANGE")}),
        ({"guestId": "GUEST", "checkOut": iso(-2)}, {("checkOut", "OUT_OF_RANGE")}),
        ({"guestId": "GUEST", "adults": 0}, {("adults", "OUT_OF_RANGE")}),
        ({"guestId": "GUEST", "children": -1}, {("children", "OUT_OF_RANGE")}),
        ({"guestId": "GUEST", "message": "x" * 20_001}, {("message", "TOO_LONG")}),
        ({"guest": {"name": "  "}}, {("guest.name", "REQUIRED")}),
        ({"guest": {"name": "Anna", "email": "not-an-email"}}, {("guest.email", "INVALID")}),
    ],
    ids=[
        "both guest and guestId",
        "neither",
        "unknown guest",
        "malformed guest id",
        "unknown property",
        "check-out before check-in",
        "check-in in the past",
        "check-out in the past",
        "no adults",
        "negative children",
        "message too long",
        "blank name",
        "bad email",
    ],
)
def test_create_inquiry_refuses_bad_input_and_writes_nothing(
    tenant: TenantFixture, sync_engine: sa.Engine, values: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    anna = create_guest(tenant.api)
    values = {key: anna["id"] if value == "GUEST" else value for key, value in values.items()}
    before = row_counts(sync_engine, tenant.schema_name)
    payload = run(tenant.api, CREATE, "createInquiry", source="PHONE", **values)
    assert payload["inquiry"] is None
    assert errors_of(payload) == expected
    assert row_counts(sync_engine, tenant.schema_name) == before


def test_an_erased_guest_gets_no_new_inquiry(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    anna = create_guest(tenant.api)
    assert (
        tenant.api.data(ERASE, {"i": {"guestId": anna["id"], "reason": "asked"}})["eraseGuest"]["errors"]
        == []
    )
    before = row_counts(sync_engine, tenant.schema_name)
    payload = run(tenant.api, CREATE, "createInquiry", source="PHONE", guestId=anna["id"])
    assert errors_of(payload) == {("guestId", "INVALID_STATE")}
    assert row_counts(sync_engine, tenant.schema_name) == before


# --- reading: one inquiry, the pipeline, the stage counts ----------------------------------


def test_an_unknown_inquiry_is_null_with_not_found(tenant: TenantFixture) -> None:
    for unknown in (encode_id("Inquiry", uuid.uuid4()), "not-an-id", encode_id("Guest", uuid.uuid4())):
        body = tenant.api(INQUIRY, {"id": unknown})
        assert body["data"] == {"inquiry": None}
        assert error_codes(body) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("mutation", "name", "values"),
    [
        (UPDATE, "updateInquiry", {"notes": "x"}),
        (ASSIGN, "assignInquiry", {}),
        (LOST, "markInquiryLost", {"reason": "PRICE"}),
        (REOPEN, "reopenInquiry", {}),
        (CONFIRM, "confirmInquiry", {}),
    ],
    ids=["update", "assign", "lost", "reopen", "confirm"],
)
def test_every_mutation_on_an_unknown_inquiry_is_not_found_and_writes_nothing(
    tenant: TenantFixture, sync_engine: sa.Engine, mutation: str, name: str, values: dict[str, Any]
) -> None:
    phone_inquiry(tenant.api)
    before = row_counts(sync_engine, tenant.schema_name)
    for unknown in (encode_id("Inquiry", uuid.uuid4()), "not-an-id"):
        payload = run(tenant.api, mutation, name, inquiryId=unknown, **values)
        assert payload["inquiry"] is None
        assert errors_of(payload) == {("inquiryId", "NOT_FOUND")}
    assert row_counts(sync_engine, tenant.schema_name) == before


def _pipeline(api: GraphQLClient, *, first: int, **arguments: Any) -> tuple[list[str], int]:
    """Every inquiry of the list, page by page; and its total count."""
    seen: list[str] = []
    after = None
    total = -1
    while True:
        connection = api.data(INQUIRIES, {"first": first, "after": after, **arguments})["inquiries"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        total = connection["totalCount"]
        if not connection["pageInfo"]["hasNextPage"]:
            return seen, total
        after = connection["pageInfo"]["endCursor"]


def test_the_pipeline_lists_what_needs_action_first_then_the_newest_activity_without_gaps(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    made_ = [
        phone_inquiry(tenant.api, guest={"name": f"Guest {n}", "email": f"g{n}@example.com"})
        for n in range(7)
    ]
    # (needs action, minutes since the last activity); two share a time, so the id decides.
    shape = [(False, 5), (True, 50), (True, 10), (False, 1), (True, 10), (False, 30), (True, 70)]
    for inquiry, (needs_action, minutes) in zip(made_, shape, strict=True):
        sql(
            sync_engine,
            tenant.schema_name,
            "UPDATE {s}.inquiry SET needs_action = :needs, "
            "last_activity_at = date_trunc('second', now()) - make_interval(mins => :minutes) WHERE id = :id",
            needs=needs_action,
            minutes=minutes,
            id=pk(inquiry),
        )
    ranked = sorted(
        zip(made_, shape, strict=True), key=lambda item: (item[1][0], -item[1][1], pk(item[0])), reverse=True
    )
    expected = [inquiry["id"] for inquiry, _ in ranked]
    for first in (1, 2, 3, 7, 20):
        seen, total = _pipeline(tenant.api, first=first)
        assert seen == expected, first
        assert total == 7


def test_the_pipeline_filters_by_stage_and_searches_the_guest(tenant: TenantFixture) -> None:
    anna = phone_inquiry(tenant.api)
    ben = phone_inquiry(
        tenant.api, guest={"name": "Ben Lund", "email": "ben@example.com", "phone": "+34600999888"}
    )
    lost = made(tenant.api, LOST, "markInquiryLost", inquiryId=ben["id"], reason="PRICE")
    assert _pipeline(tenant.api, first=10, stage="NEW") == ([anna["id"]], 1)
    assert _pipeline(tenant.api, first=10, stage="LOST") == ([lost["id"]], 1)
    assert _pipeline(tenant.api, first=10, stage="CONFIRMED") == ([], 0)
    for term in ("anna", "Hemm", "anna@example.com", "+34600111222"):
        assert _pipeline(tenant.api, first=10, search=term) == ([anna["id"]], 1), term
    assert _pipeline(tenant.api, first=10, search="ben@example.com", stage="LOST") == ([ben["id"]], 1)
    assert _pipeline(tenant.api, first=10, search="nobody@example.com") == ([], 0)


@pytest.mark.parametrize(
    "arguments",
    [{"first": 0}, {"first": 101}, {"after": "garbage"}, {"search": "x" * 201}],
    ids=["first 0", "first 101", "forged cursor", "search too long"],
)
def test_bad_pipeline_arguments_are_bad_user_input(tenant: TenantFixture, arguments: dict[str, Any]) -> None:
    body = tenant.api(INQUIRIES, arguments)
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_stage_counts_list_every_stage_with_zeros_in_one_statement(
    tenant: TenantFixture, client: TestClient
) -> None:
    waiting = phone_inquiry(tenant.api)
    phone_inquiry(tenant.api, guest={"name": "Ben Lund", "email": "ben@example.com"})
    lost = phone_inquiry(tenant.api, guest={"name": "Cleo Park", "email": "cleo@example.com"})
    made(tenant.api, LOST, "markInquiryLost", inquiryId=lost["id"], reason="BOOKED_ELSEWHERE")
    with statements_of(client) as statements:
        counts = tenant.api.data(STAGE_COUNTS)["inquiryStageCounts"]
    assert counts == [
        {"stage": "NEW", "count": 2, "needsAction": 2},
        {"stage": "RESPONDED", "count": 0, "needsAction": 0},
        {"stage": "QUOTED", "count": 0, "needsAction": 0},
        {"stage": "CONFIRMED", "count": 0, "needsAction": 0},
        {"stage": "LOST", "count": 1, "needsAction": 0},
    ]
    assert len([s for s in statements if "inquiry" in s]) == 1
    assert waiting["needsAction"] is True


def test_a_page_of_inquiries_with_their_history_loads_in_batches(
    tenant: TenantFixture, client: TestClient
) -> None:
    for n in range(5):
        inquiry = phone_inquiry(tenant.api, guest={"name": f"Guest {n}", "email": f"g{n}@example.com"})
        made(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], notes=f"note {n}")
    query = f"{{ inquiries(first: 10) {{ edges {{ node {{ {FIELDS} }} }} }} }}"
    with statements_of(client) as statements:
        nodes = tenant.api.data(query)["inquiries"]["edges"]
    assert len(nodes) == 5
    inquiry_statements = [s for s in statements if "inquiry" in s]
    # The page, then one statement per kind: history, messages (guests and staff users aside).
    assert len(inquiry_statements) <= 4, inquiry_statements


# --- working an inquiry ---------------------------------------------------------------------


def test_update_changes_only_the_given_fields_and_names_them_in_history(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    place = create_property(tenant.api)
    inquiry = phone_inquiry(tenant.api, adults=2)
    updated = made(
        tenant.api,
        UPDATE,
        "updateInquiry",
        inquiryId=inquiry["id"],
        propertyId=place["id"],
        checkIn=iso(AHEAD),
        checkOut=iso(AHEAD + 4),
        notes="Prefers the sea-view room",
    )
    assert updated["property"]["id"] == place["id"]
    assert (updated["checkIn"], updated["checkOut"], updated["adults"]) == (iso(AHEAD), iso(AHEAD + 4), 2)
    assert updated["notes"] == "Prefers the sea-view room"
    line = updated["history"][-1]
    assert (line["kind"], line["actor"], line["staffUser"]) == (
        "UPDATED",
        "STAFF",
        {"email": tenant.owner_email},
    )
    assert line["fields"] == ["propertyId", "checkIn", "checkOut", "notes"]
    assert updated["lastActivityAt"] > inquiry["lastActivityAt"]
    # Names only: the values never reach the history, and the notes are stored encrypted.
    assert plaintext_found(sync_engine, tenant.schema_name, ["sea-view"]) == []
    # Only the checkOut changes; null clears the notes.
    again = made(
        tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], checkOut=iso(AHEAD + 6), notes=None
    )
    assert (again["checkIn"], again["checkOut"], again["notes"]) == (iso(AHEAD), iso(AHEAD + 6), None)
    assert again["history"][-1]["fields"] == ["checkOut", "notes"]
    # The same values again change nothing and add no line.
    same = made(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], checkOut=iso(AHEAD + 6))
    assert len(same["history"]) == len(again["history"])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"checkOut": iso(AHEAD - 1)}, {("checkOut", "OUT_OF_RANGE")}),
        ({"checkIn": iso(AHEAD + 10)}, {("checkOut", "OUT_OF_RANGE")}),
        ({"checkIn": iso(-2)}, {("checkIn", "OUT_OF_RANGE")}),
        ({"checkOut": iso(-1)}, {("checkOut", "OUT_OF_RANGE")}),
        ({"propertyId": encode_id("Property", uuid.uuid4())}, {("propertyId", "NOT_FOUND")}),
        ({"adults": 0}, {("adults", "OUT_OF_RANGE")}),
        ({"children": 51}, {("children", "OUT_OF_RANGE")}),
        ({"notes": "x" * 20_001}, {("notes", "TOO_LONG")}),
    ],
    ids=[
        "check-out before the stored check-in",
        "check-in after the stored check-out",
        "check-in in the past",
        "check-out in the past",
        "unknown property",
        "no adults",
        "too many children",
        "notes too long",
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(
    tenant: TenantFixture, sync_engine: sa.Engine, values: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    inquiry = phone_inquiry(tenant.api, checkIn=iso(AHEAD), checkOut=iso(AHEAD + 4))
    before = row_counts(sync_engine, tenant.schema_name)
    contents = tenant.api.data(INQUIRY, {"id": inquiry["id"]})["inquiry"]
    payload = run(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], **values)
    assert payload["inquiry"] is None
    assert errors_of(payload) == expected
    assert row_counts(sync_engine, tenant.schema_name) == before
    assert tenant.api.data(INQUIRY, {"id": inquiry["id"]})["inquiry"] == contents


def test_past_dates_are_judged_in_the_propertys_timezone(tenant: TenantFixture) -> None:
    # Kiritimati is 14 hours ahead of UTC, and Pago Pago 11 hours behind: yesterday in UTC terms
    # has passed on Kiritimati but can still be today (or tomorrow's yesterday) in Pago Pago.
    ahead = create_property(tenant.api, name="Kiritimati", timezone="Pacific/Kiritimati")
    inquiry = phone_inquiry(tenant.api, propertyId=ahead["id"])
    payload = run(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], checkIn=iso(-1))
    assert errors_of(payload) == {("checkIn", "OUT_OF_RANGE")}
    assert made(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], checkIn=iso(1))[
        "checkIn"
    ] == iso(1)


def test_assigning_to_staff_of_each_role_and_unassigning(
    tenant: TenantFixture, client: TestClient, sync_engine: sa.Engine
) -> None:
    agent = staff_user(tenant.api, client, tenant, "agent")
    agent_me = agent.data("{ me { id email } }")["me"]
    inquiry = phone_inquiry(tenant.api)
    assigned = made(tenant.api, ASSIGN, "assignInquiry", inquiryId=inquiry["id"], staffUserId=agent_me["id"])
    assert assigned["assignee"] == {"id": agent_me["id"], "email": agent_me["email"]}
    line = assigned["history"][-1]
    assert (line["kind"], line["assignee"], line["staffUser"]) == (
        "ASSIGNED",
        {"email": agent_me["email"]},
        {"email": tenant.owner_email},
    )
    # The agent works it: unassigns it (absent staffUserId: nobody).
    unassigned = made(agent, ASSIGN, "assignInquiry", inquiryId=inquiry["id"])
    assert unassigned["assignee"] is None
    assert unassigned["history"][-1]["staffUser"] == {"email": agent_me["email"]}
    assert unassigned["history"][-1]["assignee"] is None
    # Unknown and deactivated staff users are refused, nothing written.
    manager = staff_user(tenant.api, client, tenant, "manager")
    manager_id = manager.data("{ me { id } }")["me"]["id"]
    deactivated = tenant.api.data(DEACTIVATE_STAFF, {"i": {"staffUserId": manager_id}})["deactivateStaffUser"]
    assert deactivated["errors"] == []
    before = row_counts(sync_engine, tenant.schema_name)
    for staff_id, code in (
        (encode_id("StaffUser", uuid.uuid4()), "NOT_FOUND"),
        (manager_id, "INVALID_STATE"),
    ):
        payload = run(tenant.api, ASSIGN, "assignInquiry", inquiryId=inquiry["id"], staffUserId=staff_id)
        assert errors_of(payload) == {("staffUserId", code)}
    assert row_counts(sync_engine, tenant.schema_name) == before


def test_lost_cancels_the_pending_reminders_and_reopen_brings_it_back(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    inquiry = phone_inquiry(tenant.api)
    add_reminders(sync_engine, tenant.schema_name, pk(inquiry), 2)
    lost = made(
        tenant.api, LOST, "markInquiryLost", inquiryId=inquiry["id"], reason="PRICE", note="Found it too dear"
    )
    assert (lost["stage"], lost["needsAction"], lost["lostReason"]) == ("LOST", False, "PRICE")
    assert lost["lostNote"] == "Found it too dear"
    assert reminder_statuses(sync_engine, tenant.schema_name, pk(inquiry)) == ["cancelled", "cancelled"]
    kinds = [(line["kind"], line.get("toStage"), line.get("reason")) for line in lost["history"][1:]]
    assert kinds == [
        ("STAGE_CHANGED", "LOST", None),
        ("REMINDER_CANCELLED", None, "lost"),
        ("REMINDER_CANCELLED", None, "lost"),
    ]
    assert lost["history"][1]["lostReason"] == "PRICE"
    # Never replied to: back to NEW, waiting on us.
    reopened = made(tenant.api, REOPEN, "reopenInquiry", inquiryId=inquiry["id"])
    assert (reopened["stage"], reopened["needsAction"], reopened["lostReason"], reopened["lostNote"]) == (
        "NEW",
        True,
        None,
        None,
    )
    assert reopened["history"][-1]["fromStage"] == "LOST"


def test_reopening_an_inquiry_we_replied_to_makes_it_responded(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    inquiry = phone_inquiry(tenant.api)
    sql(
        sync_engine,
        tenant.schema_name,
        "UPDATE {s}.inquiry SET replied_at = now(), stage = 'responded', needs_action = false WHERE id = :id",
        id=pk(inquiry),
    )
    made(tenant.api, LOST, "markInquiryLost", inquiryId=inquiry["id"], reason="NO_ANSWER")
    reopened = made(tenant.api, REOPEN, "reopenInquiry", inquiryId=inquiry["id"])
    assert (reopened["stage"], reopened["needsAction"]) == ("RESPONDED", False)
    # The guest wrote after our reply: it waits on us again.
    made(tenant.api, LOST, "markInquiryLost", inquiryId=inquiry["id"], reason="NO_ANSWER")
    sql(
        sync_engine,
        tenant.schema_name,
        "UPDATE {s}.inquiry SET guest_wrote_at = replied_at + interval '1 minute' WHERE id = :id",
        id=pk(inquiry),
    )
    assert made(tenant.api, REOPEN, "reopenInquiry", inquiryId=inquiry["id"])["needsAction"] is True


def test_lost_twice_or_reopening_an_open_inquiry_is_refused_and_writes_nothing(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    inquiry = phone_inquiry(tenant.api)
    before = row_counts(sync_engine, tenant.schema_name)
    assert errors_of(run(tenant.api, REOPEN, "reopenInquiry", inquiryId=inquiry["id"])) == {
        ("inquiryId", "INVALID_STATE")
    }
    made(tenant.api, LOST, "markInquiryLost", inquiryId=inquiry["id"], reason="OTHER")
    middle = row_counts(sync_engine, tenant.schema_name)
    again = run(tenant.api, LOST, "markInquiryLost", inquiryId=inquiry["id"], reason="PRICE")
    assert errors_of(again) == {("inquiryId", "INVALID_STATE")}
    assert row_counts(sync_engine, tenant.schema_name) == middle
    assert before["audit_event"] == middle["audit_event"]


# --- confirming -----------------------------------------------------------------------------


def _ready(api: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    """An inquiry with its property and dates, ready to be confirmed."""
    place = create_property(api)
    return phone_inquiry(
        api, propertyId=place["id"], checkIn=iso(AHEAD), checkOut=iso(AHEAD + 4), **overrides
    )


def test_confirming_makes_a_confirmed_booking_with_its_confirmation_message(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    inquiry = _ready(tenant.api, adults=3, children=2)
    schema = tenant.schema_name
    add_quote(sync_engine, schema, pk(inquiry), "900.00", age=30)
    primary = add_quote(sync_engine, schema, pk(inquiry), "950.00", age=20)
    add_quote(sync_engine, schema, pk(inquiry), "999.00", primary=False, age=10)
    add_reminders(sync_engine, schema, pk(inquiry), 3)
    confirmed = made(tenant.api, CONFIRM, "confirmInquiry", inquiryId=inquiry["id"])
    booking = confirmed["booking"]
    assert (confirmed["stage"], confirmed["needsAction"]) == ("CONFIRMED", False)
    assert booking["status"] == "CONFIRMED" and booking["source"] == "INQUIRY"
    assert (booking["amount"], booking["currency"]) == ("950.00", "EUR")  # the newest primary quote
    assert (booking["checkIn"], booking["checkOut"], booking["adults"], booking["children"]) == (
        iso(AHEAD),
        iso(AHEAD + 4),
        3,
        2,
    )
    assert reminder_statuses(sync_engine, schema, pk(inquiry)) == ["cancelled"] * 3
    change = next(line for line in confirmed["history"] if line["kind"] == "STAGE_CHANGED")
    assert (change["fromStage"], change["toStage"], change["actor"]) == ("NEW", "CONFIRMED", "STAFF")
    assert {line["reason"] for line in confirmed["history"] if line["kind"] == "REMINDER_CANCELLED"} == {
        "confirmed"
    }
    # The booking's own lifecycle applies: its confirmation, with the portal link, is on its way.
    [confirmation] = mails(sync_engine, schema, "booking_confirmed")
    assert confirmation.guest_id == decode_id("Guest", confirmed["guest"]["id"])
    assert confirmation.direction == "out"
    assert "portal.hospes.example/p/" in confirmation.body
    assert primary


def test_confirming_with_a_chosen_quote_or_none(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    chosen = _ready(tenant.api)
    older = add_quote(sync_engine, tenant.schema_name, pk(chosen), "700.00", age=60)
    add_quote(sync_engine, tenant.schema_name, pk(chosen), "800.00")
    booking = made(tenant.api, CONFIRM, "confirmInquiry", inquiryId=chosen["id"], quoteId=older)["booking"]
    assert (booking["amount"], booking["currency"]) == ("700.00", "EUR")
    # No quote at all: 0.00 in the company's default currency; one adult when no party was given.
    bare = _ready(tenant.api, guest={"name": "Ben Lund", "email": "ben@example.com"})
    booking = made(tenant.api, CONFIRM, "confirmInquiry", inquiryId=bare["id"])["booking"]
    assert (booking["amount"], booking["currency"], booking["adults"], booking["children"]) == (
        "0.00",
        "USD",
        1,
        0,
    )


def test_confirming_twice_is_refused_and_makes_one_booking(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    inquiry = _ready(tenant.api)
    first = made(tenant.api, CONFIRM, "confirmInquiry", inquiryId=inquiry["id"])
    before = row_counts(sync_engine, tenant.schema_name)
    again = run(tenant.api, CONFIRM, "confirmInquiry", inquiryId=inquiry["id"])
    assert again["inquiry"] is None
    assert errors_of(again) == {("inquiryId", "INVALID_STATE")}
    assert "already confirmed" in again["errors"][0]["message"]
    assert row_counts(sync_engine, tenant.schema_name) == before
    assert before["booking"] == 1
    lost = run(tenant.api, LOST, "markInquiryLost", inquiryId=inquiry["id"], reason="PRICE")
    assert errors_of(lost) == {("inquiryId", "INVALID_STATE")}
    # The stay is the booking's now; notes may still be kept on the inquiry.
    moved = run(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], checkOut=iso(AHEAD + 9))
    assert errors_of(moved) == {("inquiryId", "INVALID_STATE")}
    assert row_counts(sync_engine, tenant.schema_name) == before
    noted = made(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], notes="Paid the deposit")
    assert noted["notes"] == "Paid the deposit"
    assert (
        tenant.api.data(INQUIRY, {"id": inquiry["id"]})["inquiry"]["booking"]["id"] == first["booking"]["id"]
    )


def test_confirming_a_lost_inquiry_is_refused_and_writes_nothing(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    inquiry = _ready(tenant.api)
    made(tenant.api, LOST, "markInquiryLost", inquiryId=inquiry["id"], reason="DATES_UNAVAILABLE")
    before = row_counts(sync_engine, tenant.schema_name)
    payload = run(tenant.api, CONFIRM, "confirmInquiry", inquiryId=inquiry["id"])
    assert errors_of(payload) == {("inquiryId", "INVALID_STATE")}
    assert row_counts(sync_engine, tenant.schema_name) == before


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {("propertyId", "REQUIRED"), ("checkIn", "REQUIRED"), ("checkOut", "REQUIRED")}),
        ({"checkIn": iso(AHEAD), "checkOut": iso(AHEAD + 2)}, {("propertyId", "REQUIRED")}),
        ({"property": True, "checkIn": iso(AHEAD)}, {("checkOut", "REQUIRED")}),
    ],
    ids=["nothing", "no property", "no check-out"],
)
def test_confirming_without_property_or_dates_names_each_missing_field(
    tenant: TenantFixture, sync_engine: sa.Engine, values: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    if values.pop("property", False):
        values["propertyId"] = create_property(tenant.api)["id"]
    inquiry = phone_inquiry(tenant.api, **values)
    before = row_counts(sync_engine, tenant.schema_name)
    payload = run(tenant.api, CONFIRM, "confirmInquiry", inquiryId=inquiry["id"])
    assert payload["inquiry"] is None
    assert errors_of(payload) == expected
    assert row_counts(sync_engine, tenant.schema_name) == before


def test_a_quote_of_another_inquiry_is_not_found(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    inquiry = _ready(tenant.api)
    other = phone_inquiry(tenant.api, guest={"name": "Ben Lund", "email": "ben@example.com"})
    foreign_quote = add_quote(sync_engine, tenant.schema_name, pk(other), "500.00")
    before = row_counts(sync_engine, tenant.schema_name)
    for quote_id in (foreign_quote, encode_id("InquiryQuote", uuid.uuid4()), "not-an-id"):
        payload = run(tenant.api, CONFIRM, "confirmInquiry", inquiryId=inquiry["id"], quoteId=quote_id)
        assert errors_of(payload) == {("quoteId", "NOT_FOUND")}
    assert row_counts(sync_engine, tenant.schema_name) == before


# --- who may work inquiries -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_agents_and_managers_work_inquiries(tenant: TenantFixture, client: TestClient, role: str) -> None:
    api = staff_user(tenant.api, client, tenant, role)
    me = api.data("{ me { email } }")["me"]
    place = create_property(tenant.api)  # the catalogue is the managers' (the agent only works inquiries)
    inquiry = phone_inquiry(api, propertyId=place["id"], checkIn=iso(AHEAD), checkOut=iso(AHEAD + 4))
    assert inquiry["history"][0]["staffUser"] == me
    assert _pipeline(api, first=5) == ([inquiry["id"]], 1)
    confirmed = made(api, CONFIRM, "confirmInquiry", inquiryId=inquiry["id"])
    assert confirmed["stage"] == "CONFIRMED"


def test_partner_keys_need_the_inquiries_scopes_and_act_as_the_system(
    tenant: TenantFixture, client: TestClient, sync_engine: sa.Engine
) -> None:
    inquiry = _ready(tenant.api)
    reader = partner(tenant.api, client, "inquiries:read")
    writer = partner(tenant.api, client, "inquiries:write")
    bookings_only = partner(tenant.api, client, "bookings:read", "bookings:write", "guests:read")
    assert reader.data(INQUIRY, {"id": inquiry["id"]})["inquiry"]["id"] == inquiry["id"]
    assert reader.data(STAGE_COUNTS)["inquiryStageCounts"][0] == {
        "stage": "NEW",
        "count": 1,
        "needsAction": 1,
    }
    before = row_counts(sync_engine, tenant.schema_name)
    for api in (reader, bookings_only):
        body = api(CONFIRM, {"input": {"inquiryId": inquiry["id"]}})
        assert error_codes(body) == ["FORBIDDEN"]
    assert error_codes(bookings_only(INQUIRY, {"id": inquiry["id"]})) == ["FORBIDDEN"]
    assert row_counts(sync_engine, tenant.schema_name) == before
    confirmed = made(writer, CONFIRM, "confirmInquiry", inquiryId=inquiry["id"])
    assert confirmed["booking"]["status"] == "CONFIRMED"
    change = next(line for line in confirmed["history"] if line["kind"] == "STAGE_CHANGED")
    assert (change["actor"], change["staffUser"]) == ("SYSTEM", None)
    logged = made(
        writer,
        CREATE,
        "createInquiry",
        source="EMAIL",
        guest={"name": "Dora Vik", "email": "dora@example.com"},
    )
    assert (logged["history"][0]["actor"], logged["history"][0]["staffUser"]) == ("SYSTEM", None)


# --- the guest's record ---------------------------------------------------------------------


def test_the_guest_shows_its_inquiries_and_their_messages_in_its_history(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    older = phone_inquiry(tenant.api)
    newer = phone_inquiry(tenant.api)
    guest_id = older["guest"]["id"]
    # A message the guest sent about the newer inquiry, filed on it as inbound intake files it.
    message = sql(
        sync_engine,
        tenant.schema_name,
        "INSERT INTO {s}.communication (guest_id, inquiry_id, channel, direction, status) "
        "VALUES (:guest, :inquiry, 'email', 'in', 'delivered') RETURNING id",
        guest=decode_id("Guest", guest_id),
        inquiry=pk(newer),
    ).scalar_one()
    sql(
        sync_engine,
        tenant.schema_name,
        "INSERT INTO {s}.inquiry_event (inquiry_id, kind, actor, communication_id) "
        "VALUES (:inquiry, 'message_in', 'guest', :message)",
        inquiry=pk(newer),
        message=message,
    )
    guest = tenant.api.data(GUEST, {"id": guest_id})["guest"]
    assert [item["id"] for item in guest["inquiries"]] == [newer["id"], older["id"]]
    nodes = [edge["node"] for edge in guest["history"]["edges"]]
    assert [n["inquiry"]["id"] for n in nodes if n["__typename"] == "InquiryEvent"] == [
        newer["id"],
        older["id"],
    ]
    message_id = encode_id("Communication", message)
    assert [n["communication"]["id"] for n in nodes if n["__typename"] == "MessageEvent"] == [message_id]
    shown = tenant.api.data(INQUIRY, {"id": newer["id"]})["inquiry"]
    assert [c["id"] for c in shown["communications"]] == [message_id]
    last = shown["history"][-1]
    assert (last["__typename"], last["actor"], last["communication"]["id"]) == (
        "InquiryMessageItem",
        "GUEST",
        message_id,
    )


def test_erasing_the_guest_wipes_the_inquiries_texts_and_keeps_their_facts(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    inquiry = phone_inquiry(tenant.api, message="Secret question about the honeymoon")
    made(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], notes="Secret staff note")
    made(
        tenant.api, LOST, "markInquiryLost", inquiryId=inquiry["id"], reason="OTHER", note="Secret lost note"
    )
    made(tenant.api, REOPEN, "reopenInquiry", inquiryId=inquiry["id"])
    add_reminders(sync_engine, tenant.schema_name, pk(inquiry), 1)
    sql(
        sync_engine,
        tenant.schema_name,
        "UPDATE {s}.inquiry SET subject_enc = message_enc WHERE id = :id",
        id=pk(inquiry),
    )
    erased = tenant.api.data(ERASE, {"i": {"guestId": inquiry["guest"]["id"], "reason": "asked"}})[
        "eraseGuest"
    ]
    assert erased["errors"] == []
    texts = sql(
        sync_engine,
        tenant.schema_name,
        "SELECT subject_enc, message_enc, notes_enc, lost_note_enc FROM {s}.inquiry WHERE id = :id",
        id=pk(inquiry),
    ).one()
    assert tuple(texts) == (None, None, None, None)
    assert reminder_statuses(sync_engine, tenant.schema_name, pk(inquiry)) == ["cancelled"]
    shown = tenant.api.data(INQUIRY, {"id": inquiry["id"]})["inquiry"]
    assert (shown["message"], shown["notes"], shown["stage"]) == (None, None, "NEW")
    # The facts stay: received, updated, lost, reopened.
    assert [line["kind"] for line in shown["history"]] == [
        "RECEIVED",
        "UPDATED",
        "STAGE_CHANGED",
        "STAGE_CHANGED",
    ]


def test_merging_guests_moves_their_inquiries(tenant: TenantFixture) -> None:
    duplicate = phone_inquiry(tenant.api, guest={"name": "Anna Hemm", "email": "anna.h@example.com"})
    keeper = create_guest(tenant.api)
    merged = tenant.api.data(
        MERGE, {"i": {"sourceGuestId": duplicate["guest"]["id"], "targetGuestId": keeper["id"]}}
    )["mergeGuests"]
    assert merged["errors"] == []
    assert tenant.api.data(INQUIRY, {"id": duplicate["id"]})["inquiry"]["guest"]["id"] == keeper["id"]


def test_two_confirmations_at_once_make_one_booking(
    tenant: TenantFixture, settings: Settings, servers: Servers, sync_engine: sa.Engine
) -> None:
    inquiry = _ready(tenant.api)
    app = create_app(settings, database_url=servers.database_url, redis_url=servers.redis_url)
    document = {"query": CONFIRM, "variables": {"input": {"inquiryId": inquiry["id"]}}}

    async def both() -> list[dict[str, Any]]:
        resources = app.state.resources
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://hospes.test", timeout=60
            ) as http:
                responses = await asyncio.gather(
                    *(http.post("/graphql", json=document, headers=tenant.api.headers) for _ in range(2))
                )
            return [response.json()["data"]["confirmInquiry"] for response in responses]
        finally:
            await resources.redis.aclose()
            await resources.engine.dispose()

    payloads = asyncio.run(both())
    assert sorted(len(payload["errors"]) for payload in payloads) == [0, 1]
    refused = next(payload for payload in payloads if payload["errors"])
    assert errors_of(refused) == {("inquiryId", "INVALID_STATE")}
    assert row_counts(sync_engine, tenant.schema_name)["booking"] == 1
    assert len(mails(sync_engine, tenant.schema_name, "booking_confirmed")) == 1


def test_key_rotation_covers_the_inquiries_texts(
    tenant: TenantFixture, client: TestClient, sync_engine: sa.Engine, settings: Settings
) -> None:
    inquiry = phone_inquiry(tenant.api, message="Rotating question")
    made(tenant.api, UPDATE, "updateInquiry", inquiryId=inquiry["id"], notes="Rotating note")
    made(
        tenant.api,
        LOST,
        "markInquiryLost",
        inquiryId=inquiry["id"],
        reason="OTHER",
        note="Rotating lost note",
    )
    before = tenant.api.data(INQUIRY, {"id": inquiry["id"]})["inquiry"]
    assert all_versions(sync_engine, tenant.schema_name) == {1}
    result = rotate_cli(settings, "--tenant", tenant.slug)
    assert result.exit_code == 0, result.output
    assert all_versions(sync_engine, tenant.schema_name) == {2}
    forget_api_keys(client, tenant.schema_name)
    after = tenant.api.data(INQUIRY, {"id": inquiry["id"]})["inquiry"]
    assert after == before
    assert (after["message"], after["notes"], after["lostNote"]) == (
        "Rotating question",
        "Rotating note",
        "Rotating lost note",
    )


@pytest.mark.parametrize(
    "parts",
    [
        ["pipeline", 1, "2026-01-01T00:00:00+00:00", uuid.UUID(int=0).hex],
        ["pipeline", "x", "2026-01-01T00:00:00+00:00", uuid.UUID(int=0).hex],
        ["pipeline", True, "2026-01-01", uuid.UUID(int=0).hex],
        ["pipeline", True, "9999-12-31T23:59:59.999999+00:00", "not-a-uuid"],
        ["pipeline", "2026-01-01T00:00:00+00:00", uuid.UUID(int=0).hex],
        ["name", True, "2026-01-01T00:00:00+00:00", uuid.UUID(int=0).hex],
    ],
    ids=[
        "needs action as a number",
        "needs action as text",
        "a time without its zone",
        "bad id",
        "short",
        "other ordering",
    ],
)
def test_a_forged_pipeline_cursor_is_bad_user_input(tenant: TenantFixture, parts: list[Any]) -> None:
    phone_inquiry(tenant.api)
    raw = json.dumps(parts, separators=(",", ":")).encode()
    body = tenant.api(INQUIRIES, {"after": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()})
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_a_pipeline_cursor_made_at_the_far_end_of_time_pages_to_nothing(tenant: TenantFixture) -> None:
    phone_inquiry(tenant.api)
    parts = ["pipeline", False, "0001-01-01T00:00:00+00:00", uuid.UUID(int=0).hex]
    raw = json.dumps(parts, separators=(",", ":")).encode()
    page = tenant.api.data(INQUIRIES, {"after": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()})
    assert page["inquiries"]["edges"] == []
