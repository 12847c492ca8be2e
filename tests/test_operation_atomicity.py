"""An operation's answer and the database agree: an unexpected error anywhere rolls the whole
operation back and says nothing was written; expected errors keep the other mutations' work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.conftest import TenantFixture, error_codes
from tests.factories import create_guest
from tests.helpers_db import add_trigger, table_contents
from tests.messaging_support import outbox_rows, tenant_id
from tests.test_access import as_key, issue

TWO_GUESTS = """mutation($second: String!) {
  g: createGuest(input: {name: "Kept"}) { guest { id name } errors { code } }
  h: createGuest(input: {name: $second}) { guest { id name } errors { code } }
}"""

GUEST_NAMES = "query { guests(first: 100) { edges { node { name } } } }"


@pytest.fixture
def boom(tenant: TenantFixture, sync_engine: sa.Engine) -> Iterator[TenantFixture]:
    """The test tenant's database refuses a guest named 'Boom' with an error validation does not
    foresee: a real unexpected failure of the second mutation's INSERT."""
    add_trigger(
        sync_engine,
        tenant.schema_name,
        name="refuse_boom",
        body="BEGIN IF NEW.name = 'Boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END",
        when="BEFORE INSERT ON guest FOR EACH ROW",
    )
    yield tenant


def _names(tenant: TenantFixture) -> list[str]:
    edges = tenant.api.data(GUEST_NAMES)["guests"]["edges"]
    return sorted(edge["node"]["name"] for edge in edges)


def test_unexpected_error_in_a_later_mutation_writes_nothing_and_says_so(
    boom: TenantFixture, sync_engine: sa.Engine
) -> None:
    before = table_contents(sync_engine, boom.schema_name)
    outbox_before = outbox_rows(sync_engine, tenant_id(sync_engine, boom.slug))

    body = boom.api(TWO_GUESTS, {"second": "Boom"})

    assert body["data"] is None
    assert error_codes(body) == ["INTERNAL"]
    [error] = body["errors"]
    assert error["extensions"]["written"] is False
    # Neither guest, nor the first one's audit event, nor any outbox work was kept.
    assert table_contents(sync_engine, boom.schema_name) == before
    assert outbox_rows(sync_engine, tenant_id(sync_engine, boom.slug)) == outbox_before
    assert "Kept" not in _names(boom)


def test_retrying_after_an_unexpected_error_does_not_duplicate(boom: TenantFixture) -> None:
    boom.api(TWO_GUESTS, {"second": "Boom"})
    body = boom.api(TWO_GUESTS, {"second": "Second"})
    assert not body.get("errors")
    assert _names(boom) == ["Kept", "Second"]


def test_unexpected_error_in_a_batch_rolls_back_every_operation_of_it(boom: TenantFixture) -> None:
    kept = {"query": TWO_GUESTS, "variables": {"second": "Fine"}}
    failing = {"query": TWO_GUESTS, "variables": {"second": "Boom"}}
    response = boom.api._client.post("/graphql", json=[kept, failing], headers=boom.api.headers)
    assert response.status_code == 200, response.text
    first, second = response.json()
    assert first["data"] is None and second["data"] is None
    for body in (first, second):
        assert error_codes(body) == ["INTERNAL"]
        assert body["errors"][0]["extensions"]["written"] is False
    assert _names(boom) == []


def test_payload_errors_keep_the_other_mutations_work(tenant: TenantFixture) -> None:
    body = tenant.api(TWO_GUESTS, {"second": ""})
    assert not body.get("errors")
    assert body["data"]["g"]["guest"]["name"] == "Kept"
    assert body["data"]["h"] == {"guest": None, "errors": [{"code": "REQUIRED"}]}
    assert _names(tenant) == ["Kept"]


GUEST_THEN_PROPERTY = """mutation {
  g: createGuest(input: {name: "Kept"}) { guest { id name } errors { code } }
  p: createProperty(input: {name: "Casa", timezone: "UTC"}) { property { id } errors { code } }
}"""


def test_a_top_level_error_that_nulls_the_answer_writes_nothing(tenant: TenantFixture) -> None:
    # A key that may write guests but not properties: FORBIDDEN on the second, non-null payload
    # nulls all of `data`, so the first mutation's guest must not be kept behind that answer.
    partner = as_key(tenant.api, issue(tenant.api, ["guests:write"])["key"])
    body = partner(GUEST_THEN_PROPERTY)
    assert body["data"] is None and error_codes(body) == ["FORBIDDEN"]
    assert body["errors"][0]["extensions"]["written"] is False
    assert _names(tenant) == []


SEND_THEN_GUEST = """mutation($guestId: ID!, $name: String!) {
  m: sendMessage(input: {guestId: $guestId, subject: "Hi", body: "Hello"}) { errors { code } }
  h: createGuest(input: {name: $name}) { guest { id } errors { code } }
}"""


def test_unexpected_error_queues_no_message(boom: TenantFixture, sync_engine: sa.Engine) -> None:
    guest = create_guest(boom.api, name="Mailed", email="mailed@example.com")
    tenant = tenant_id(sync_engine, boom.slug)
    # The same operation with nothing failing queues the message through the outbox...
    body = boom.api(SEND_THEN_GUEST, {"guestId": guest["id"], "name": "Fine"})
    assert not body.get("errors") and body["data"]["m"]["errors"] == []
    queued = outbox_rows(sync_engine, tenant)
    assert len(queued) == 1
    before = table_contents(sync_engine, boom.schema_name)

    # ...and with the guest refused by the database, nothing of it is kept.
    body = boom.api(SEND_THEN_GUEST, {"guestId": guest["id"], "name": "Boom"})
    assert body["data"] is None
    assert [error["extensions"]["written"] for error in body["errors"]] == [False]
    assert outbox_rows(sync_engine, tenant) == queued
    assert table_contents(sync_engine, boom.schema_name) == before
