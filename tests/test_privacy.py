"""Consent, merging duplicates and erasure: audited, complete, and leaving nothing dangling."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hospes.schema.ids import decode_id
from hospes.tenancy.encrypted_columns import (
    MESSAGE_BODY,
    MESSAGE_RECIPIENT,
    MESSAGE_SECRETS,
    MESSAGE_SUBJECT,
    SERVICE_REQUEST_NOTES,
)
from tests.conftest import TenantFixture
from tests.factories import (
    create_booking,
    create_guest,
    create_property,
    create_service,
    create_service_request,
    record_payment,
)

CONSENT = """mutation($input: SetGuestConsentInput!) {
  setGuestConsent(input: $input) { guest { smsOptIn marketingEmailConsent } errors { field code } }
}"""
MERGE = """mutation($input: MergeGuestsInput!) {
  mergeGuests(input: $input) {
    guest { id name email phone bookingCount smsOptIn bookings { id } payments { id } serviceRequests { id } }
    errors { field code message }
  }
}"""
ERASE = """mutation($input: EraseGuestInput!) {
  eraseGuest(input: $input) { guest { id name email phone notes erasedAt } errors { field code message } }
}"""


def audit_events(engine: sa.Engine, schema: str, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    f'SELECT actor_kind, actor_id, entity_id, data FROM "{schema}".audit_event WHERE action = :a'
                ),
                {"a": action},
            )
        )


def guest_rows(engine: sa.Engine, schema: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".{table}')).scalar_one()
            for table in ("guest", "booking", "payment", "service_request", "communication")
        }


def _full_guest(api: Any, *, name: str, email: str | None, phone: str | None) -> dict[str, Any]:
    prop = create_property(api)
    service = create_service(api)
    guest = create_guest(api, name=name, email=email, phone=phone)
    booking = create_booking(api, property_id=prop["id"], guest_id=guest["id"])
    record_payment(api, booking_id=booking["id"])
    create_service_request(
        api, booking_id=booking["id"], service_id=service["id"], notes="Ground floor, please"
    )
    return guest


def stored_private_text(engine: sa.Engine, schema: str, guest_id: str) -> dict[str, int]:
    """Per encrypted column of the guest's messages and service requests, how many rows hold a value."""
    pk = decode_id("Guest", guest_id)
    counts = {}
    with engine.connect() as conn:
        for column in (
            MESSAGE_SUBJECT,
            MESSAGE_BODY,
            MESSAGE_RECIPIENT,
            MESSAGE_SECRETS,
            SERVICE_REQUEST_NOTES,
        ):
            table = sa.table(
                column.table.name, sa.column("guest_id"), sa.column(column.attribute), schema=schema
            )
            counts[column.associated] = conn.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.guest_id == pk, table.c[column.attribute].is_not(None))
            ).scalar_one()
    return counts


def test_staff_set_and_clear_consent_and_it_is_audited(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    guest = create_guest(tenant.api)
    on = tenant.api.data(
        CONSENT, {"input": {"guestId": guest["id"], "smsOptIn": True, "marketingEmailConsent": False}}
    )
    assert on["setGuestConsent"] == {
        "guest": {"smsOptIn": True, "marketingEmailConsent": False},
        "errors": [],
    }
    off = tenant.api.data(CONSENT, {"input": {"guestId": guest["id"], "smsOptIn": False}})
    assert off["setGuestConsent"]["guest"] == {"smsOptIn": False, "marketingEmailConsent": False}
    events = audit_events(sync_engine, tenant.schema_name, "consent.changed")
    assert [(e.actor_kind, e.data["consent"], e.data["value"], e.data["source"]) for e in events] == [
        ("staff", "sms_opt_in", True, "staff"),
        ("staff", "sms_opt_in", False, "staff"),
    ]


def test_merge_moves_everything_and_leaves_nothing_dangling(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    source = _full_guest(tenant.api, name="Anna Hemm", email=None, phone="+34600111222")
    target = _full_guest(tenant.api, name="Anna Hemm", email="anna@example.com", phone=None)
    tenant.api.data(CONSENT, {"input": {"guestId": source["id"], "smsOptIn": True}})
    before = guest_rows(sync_engine, tenant.schema_name)
    payload = tenant.api.data(
        MERGE, {"input": {"sourceGuestId": source["id"], "targetGuestId": target["id"]}}
    )
    merged = payload["mergeGuests"]["guest"]
    assert payload["mergeGuests"]["errors"] == []
    assert merged["id"] == target["id"]
    assert (merged["email"], merged["phone"], merged["smsOptIn"]) == (
        "anna@example.com",
        "+34600111222",
        True,
    )
    assert merged["bookingCount"] == 2 and len(merged["bookings"]) == 2
    assert len(merged["payments"]) == 2 and len(merged["serviceRequests"]) == 2
    after = guest_rows(sync_engine, tenant.schema_name)
    assert after == {**before, "guest": before["guest"] - 1}
    with sync_engine.connect() as conn:
        for table in ("booking", "service_request", "communication"):
            dangling = conn.execute(
                sa.text(
                    f'SELECT count(*) FROM "{tenant.schema_name}".{table} WHERE guest_id NOT IN '
                    f'(SELECT id FROM "{tenant.schema_name}".guest)'
                )
            ).scalar_one()
            assert dangling == 0
    [event] = audit_events(sync_engine, tenant.schema_name, "guest.merged")
    assert event.data["source_guest_id"]
    assert tenant.api("query($id: ID!) { guest(id: $id) { id } }", {"id": source["id"]})["data"] == {
        "guest": None
    }


def test_merge_into_itself_or_into_an_erased_guest_is_refused(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    a = create_guest(tenant.api, email="a@example.com")
    b = create_guest(tenant.api, name="Ben Carter", email="b@example.com")
    self_merge = tenant.api.data(MERGE, {"input": {"sourceGuestId": a["id"], "targetGuestId": a["id"]}})[
        "mergeGuests"
    ]
    assert self_merge["guest"] is None
    assert [(e["field"], e["code"]) for e in self_merge["errors"]] == [("targetGuestId", "INVALID")]
    tenant.api.data(ERASE, {"input": {"guestId": b["id"], "reason": "guest request"}})
    before = guest_rows(sync_engine, tenant.schema_name)
    into_erased = tenant.api.data(MERGE, {"input": {"sourceGuestId": a["id"], "targetGuestId": b["id"]}})[
        "mergeGuests"
    ]
    assert [(e["field"], e["code"]) for e in into_erased["errors"]] == [("targetGuestId", "INVALID_STATE")]
    assert guest_rows(sync_engine, tenant.schema_name) == before
    missing = tenant.api.data(MERGE, {"input": {"sourceGuestId": "nope", "targetGuestId": a["id"]}})[
        "mergeGuests"
    ]
    assert [(e["field"], e["code"]) for e in missing["errors"]] == [("sourceGuestId", "NOT_FOUND")]


def test_erasure_forgets_the_person_and_keeps_the_accounts(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    guest = _full_guest(tenant.api, name="Anna Hemm", email="anna@example.com", phone="+34600111222")
    update = "mutation($i: UpdateGuestInput!) { updateGuest(input: $i) { errors { code } } }"
    tenant.api.data(update, {"i": {"guestId": guest["id"], "notes": "allergic to nuts"}})
    before = guest_rows(sync_engine, tenant.schema_name)
    stored = stored_private_text(sync_engine, tenant.schema_name, guest["id"])
    # The confirmation and the receipt (with its portal link), and the request's notes.
    assert stored["communication.body"] == 2 and stored["communication.secrets"] >= 1
    assert stored["service_request.notes"] == 1
    payload = tenant.api.data(ERASE, {"input": {"guestId": guest["id"], "reason": "guest request by email"}})[
        "eraseGuest"
    ]
    assert payload["errors"] == []
    erased = payload["guest"]
    assert (erased["name"], erased["email"], erased["phone"], erased["notes"]) == (
        "Erased guest",
        None,
        None,
        None,
    )
    assert erased["erasedAt"]
    assert guest_rows(sync_engine, tenant.schema_name) == before  # bookings and payments kept
    detail = tenant.api.data(
        "query($id: ID!) { guest(id: $id) { bookings { amount payments { amount } } communications { body }"
        " serviceRequests { notes } } }",
        {"id": guest["id"]},
    )["guest"]
    assert (
        detail["bookings"][0]["amount"] == "1200.00"
        and detail["bookings"][0]["payments"][0]["amount"] == "600.00"
    )
    assert detail["communications"] and all(message["body"] == "" for message in detail["communications"])
    assert detail["serviceRequests"] == [{"notes": None}]
    assert set(stored_private_text(sync_engine, tenant.schema_name, guest["id"]).values()) == {0}
    [event] = audit_events(sync_engine, tenant.schema_name, "guest.erased")
    assert event.actor_kind == "staff" and event.data == {"reason": "guest request by email"}
    # The old contact finds nothing; a new booking with it starts a fresh record.
    for search in ("anna@example.com", "+34600111222", "Anna"):
        assert tenant.api.data("query($s: String) { guests(search: $s) { totalCount } }", {"s": search}) == {
            "guests": {"totalCount": 0}
        }
    fresh = create_guest(tenant.api, email="anna@example.com")
    assert fresh["id"] != guest["id"]


def test_erasing_twice_is_refused(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    guest = create_guest(tenant.api)
    tenant.api.data(ERASE, {"input": {"guestId": guest["id"], "reason": "request"}})
    again = tenant.api.data(ERASE, {"input": {"guestId": guest["id"], "reason": "request"}})["eraseGuest"]
    assert again["guest"] is None
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("guestId", "INVALID_STATE")]
    assert len(audit_events(sync_engine, tenant.schema_name, "guest.erased")) == 1
    no_reason = tenant.api.data(ERASE, {"input": {"guestId": create_guest(tenant.api)["id"], "reason": " "}})
    assert [(e["field"], e["code"]) for e in no_reason["eraseGuest"]["errors"]] == [("reason", "REQUIRED")]
