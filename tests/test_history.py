"""A guest's history: everything they did, in one list, newest first, page by page."""

from __future__ import annotations

from tests.conftest import TenantFixture, error_codes
from tests.factories import stay

HISTORY = """query($id: ID!, $first: Int, $after: String) {
  guest(id: $id) {
    history(first: $first, after: $after) {
      edges { cursor node {
        __typename at
        ... on BookingEvent { booking { id status property { name } amount checkIn checkOut } }
        ... on MessageEvent { communication { channel direction status } }
        ... on ServiceRequestEvent { serviceRequest { id service { name } } }
        ... on PaymentEvent { payment { id amount } }
        ... on InquiryEvent { inquiry { source stage } }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


def test_history_lists_every_kind_newest_first_and_pages(tenant: TenantFixture) -> None:
    made = stay(tenant.api)
    guest_id = made["guest"]["id"]
    public = tenant.api.as_(**{"X-Tenant": tenant.slug})
    public.headers.pop("Authorization", None)
    contact = """mutation($i: SubmitContactFormInput!) { submitContactForm(input: $i) { reference } }"""
    public.data(contact, {"i": {"name": "Anna Hemm", "email": "anna@example.com", "message": "Hola!"}})

    full = tenant.api.data(HISTORY, {"id": guest_id, "first": 10})["guest"]["history"]
    nodes = [edge["node"] for edge in full["edges"]]
    # The payment's receipt and the booking's confirmation are messages on the history too; the
    # contact form's message opened an inquiry.
    assert [node["__typename"] for node in nodes] == [
        "InquiryEvent",
        "MessageEvent",
        "ServiceRequestEvent",
        "MessageEvent",
        "PaymentEvent",
        "MessageEvent",
        "BookingEvent",
    ]
    assert [node["at"] for node in nodes] == sorted((node["at"] for node in nodes), reverse=True)
    assert nodes[0]["inquiry"] == {"source": "CONTACT_FORM", "stage": "NEW"}
    assert nodes[1]["communication"] == {"channel": "EMAIL", "direction": "IN", "status": "DELIVERED"}
    assert nodes[2]["serviceRequest"]["service"]["name"] == "Zip-line tour"
    assert nodes[4]["payment"]["amount"] == "600.00"
    assert nodes[6]["booking"]["property"]["name"] == "Casa del Sol"
    assert full["pageInfo"]["hasNextPage"] is False

    paged: list[str] = []
    after = None
    while True:
        page = tenant.api.data(HISTORY, {"id": guest_id, "first": 3, "after": after})["guest"]["history"]
        paged.extend(edge["node"]["__typename"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert paged == [node["__typename"] for node in nodes]


def test_history_refuses_a_forged_cursor(tenant: TenantFixture) -> None:
    made = stay(tenant.api)
    body = tenant.api(HISTORY, {"id": made["guest"]["id"], "after": "bm90LWEtY3Vyc29y"})
    assert error_codes(body) == ["BAD_USER_INPUT"]
