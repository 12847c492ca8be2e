"""Staff query and change the guest graph of their own company."""

from __future__ import annotations

from tests.conftest import TenantFixture
from tests.dates import AHEAD, iso
from tests.factories import create_booking, create_guest, create_property, record_payment, stay

GUEST_DETAIL = """query($id: ID!) {
  guest(id: $id) {
    id name email phone bookingCount registeredAt lastActivityAt
    bookings { id status checkIn checkOut nights amount currency amountPaid amountDue
      property { id name }
      guest { id }
      payments { id amount status booking { id } }
      serviceRequests { id date people price status service { name } booking { id } guest { id } }
    }
    payments { id amount }
    serviceRequests { id service { name } }
    communications { id channel body }
  }
}"""


def test_a_stay_shows_up_nested_on_the_guest(tenant: TenantFixture) -> None:
    made = stay(tenant.api)
    guest = tenant.api.data(GUEST_DETAIL, {"id": made["guest"]["id"]})["guest"]
    assert guest["name"] == "Anna Hemm"
    assert guest["bookingCount"] == 1
    [booking] = guest["bookings"]
    assert booking["id"] == made["booking"]["id"]
    assert booking["property"]["name"] == "Casa del Sol"
    assert booking["guest"]["id"] == guest["id"]
    assert booking["nights"] == 4
    assert booking["amountPaid"] == "600.00" and booking["amountDue"] == "600.00"
    assert [p["id"] for p in booking["payments"]] == [made["payment"]["id"]]
    assert booking["serviceRequests"][0]["service"]["name"] == "Zip-line tour"
    assert booking["serviceRequests"][0]["price"] == "170.00"  # 85.00 x 2 people
    assert [p["id"] for p in guest["payments"]] == [made["payment"]["id"]]
    assert guest["lastActivityAt"] >= guest["registeredAt"]


def test_nested_lists_are_newest_first(tenant: TenantFixture) -> None:
    prop = create_property(tenant.api)
    guest = create_guest(tenant.api)
    first = create_booking(
        tenant.api,
        property_id=prop["id"],
        guest_id=guest["id"],
        checkIn=iso(AHEAD + 31),
        checkOut=iso(AHEAD + 33),
    )
    second = create_booking(
        tenant.api, property_id=prop["id"], guest_id=guest["id"], checkIn=iso(AHEAD), checkOut=iso(AHEAD + 2)
    )
    record_payment(tenant.api, booking_id=first["id"], amount="1.00")
    record_payment(tenant.api, booking_id=first["id"], amount="2.00")
    data = tenant.api.data(GUEST_DETAIL, {"id": guest["id"]})["guest"]
    assert [b["id"] for b in data["bookings"]] == [second["id"], first["id"]]
    assert [p["amount"] for p in data["payments"]] == ["2.00", "1.00"]


def test_me_names_the_user_and_company(tenant: TenantFixture) -> None:
    me = tenant.api.data("{ me { email role tenant { slug name } } }")["me"]
    assert me == {
        "email": tenant.owner_email,
        "role": "OWNER",
        "tenant": {"slug": tenant.slug, "name": f"Company {tenant.slug}"},
    }
