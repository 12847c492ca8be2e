"""Encryption at rest: no plaintext contact data or private text (messages, notes, payment
references, check-in instructions) in the database, blind-index search that stays inside one
company, associated data binding a ciphertext to its column, the master key, and `hospes keys
rotate` (including values written while a rotation runs)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from hospes.cli import main
from hospes.settings import Settings, get_settings
from hospes.tenancy import rotation
from hospes.tenancy.crypto import CryptoError, MasterKey, encode_key, new_key, version_of
from hospes.tenancy.database import TenantSessions, create_engine_async
from hospes.tenancy.keyring import Keyring, master_key_from
from tests.conftest import TEST_CONNECTIONS, GraphQLClient, TenantFixture, error_codes
from tests.dates import AHEAD, days_from_today
from tests.factories import (
    create_booking,
    create_guest,
    create_property,
    create_service,
    create_service_request,
    record_payment,
)
from tests.helpers_db import all_versions, plaintext_found, raw_rows, tenant_tables

GUEST = """query($id: ID!) { guest(id: $id) { id name email phone notes } }"""
BOOKING = """query($id: ID!) { booking(id: $id) { id stayGuest { name email phone } } }"""
SEARCH = """query($search: String!) {
  guests(search: $search) { totalCount edges { node { id email phone } } }
}"""

GUEST_CELLS = ("email_enc", "phone_enc", "notes_enc")
BOOKING_CELLS = ("stay_guest_email_enc", "stay_guest_phone_enc")


# --- helpers -----------------------------------------------------------------------------------


def _table(schema_name: str, name: str, *columns: str) -> Any:
    return sa.table(name, *(sa.column(c) for c in columns), schema=schema_name)


def cells(engine: sa.Engine, schema_name: str, table: str, row_id: str | uuid.UUID) -> dict[str, Any]:
    """The encrypted columns of one row, raw."""
    names = GUEST_CELLS if table == "guest" else BOOKING_CELLS
    t = _table(schema_name, table, "id", *names)
    with engine.connect() as connection:
        row = connection.execute(sa.select(*t.c).where(t.c.id == _pk(row_id))).one()
    return {name: None if row._mapping[name] is None else bytes(row._mapping[name]) for name in names}


def encrypted_rows(engine: sa.Engine, schema_name: str) -> dict[str, int]:
    """Per table, the rows that hold at least one ciphertext (tables with none left out)."""
    counts: dict[str, int] = {}
    for table, columns in rotation.ENCRYPTED_COLUMNS.items():
        t = _table(schema_name, table, *(column.attribute for column in columns))
        condition = sa.or_(*(t.c[column.attribute].is_not(None) for column in columns))
        with engine.connect() as connection:
            count = connection.execute(
                sa.select(sa.func.count()).select_from(t).where(condition)
            ).scalar_one()
        if count:
            counts[table] = count
    return counts


def row_versions(engine: sa.Engine, schema_name: str, table: str, row_id: str | uuid.UUID) -> set[int]:
    return {version_of(b) for b in cells(engine, schema_name, table, row_id).values() if b is not None}


def key_versions(engine: sa.Engine, schema_name: str) -> dict[str, list[int]]:
    t = _table(schema_name, "data_key", "purpose", "version")
    with engine.connect() as connection:
        rows = connection.execute(sa.select(t.c.purpose, t.c.version).order_by(t.c.purpose, t.c.version))
        found: dict[str, list[int]] = {}
        for purpose, version in rows:
            found.setdefault(purpose, []).append(version)
    return found


def _pk(global_id: str | uuid.UUID) -> uuid.UUID:
    """The row id behind a GraphQL id (or the row id itself)."""
    if isinstance(global_id, uuid.UUID):
        return global_id
    from hospes.schema.ids import decode_id

    for type_name in ("Guest", "Booking"):
        pk = decode_id(type_name, global_id)
        if pk is not None:
            return pk
    raise AssertionError(f"not a guest or booking id: {global_id}")


def forget_api_keys(client: TestClient, schema_name: str) -> None:
    """Let the API process's key cache expire now. The CLI runs here with a cache period of 0 (so
    it does not sleep) while the app under test caches keys for 10 s; in a deployment both share
    `tenant_cache_seconds` and the rotation waits that long before writing under the new key."""
    client.app.state.resources.keyring.forget(schema_name)  # type: ignore[attr-defined]


def rotate_cli(settings: Settings, *args: str, master_key: str | None = None) -> Result:
    env = {
        "HOSPES_DATABASE_URL": settings.database_url or "",
        "HOSPES_REDIS_URL": settings.redis_url or "",
        "HOSPES_MASTER_KEY": master_key or os.environ["HOSPES_MASTER_KEY"],
        "HOSPES_TENANT_CACHE_SECONDS": "0",
    }
    get_settings.cache_clear()
    try:
        return CliRunner(env=env).invoke(main, ["keys", "rotate", *args])
    finally:
        get_settings.cache_clear()


def read_guest(api: GraphQLClient, guest_id: str) -> dict[str, Any]:
    guest: dict[str, Any] = api.data(GUEST, {"id": guest_id})["guest"]
    return guest


def read_stay_guest(api: GraphQLClient, booking_id: str) -> dict[str, Any]:
    stay: dict[str, Any] = api.data(BOOKING, {"id": booking_id})["booking"]["stayGuest"]
    return stay


def hex_of(value: str | bytes) -> str:
    return (value.encode() if isinstance(value, str) else value).hex()


# --- plaintext never reaches the database -------------------------------------------------------


def test_no_plaintext_contact_data_in_any_column(
    tenant: TenantFixture, sync_engine: sa.Engine, settings: Settings
) -> None:
    email, phone, note = "marta.lopez@example.com", "+34644777888", "Allergic to peanuts; blue room"
    stay_email, stay_phone = "pablo.lopez@example.com", "+34633666777"
    prop = create_property(tenant.api)
    guest = create_guest(
        tenant.api, name="Marta Lopez", email="Marta.Lopez@Example.com", phone=phone, notes=note
    )
    booking = create_booking(
        tenant.api,
        property_id=prop["id"],
        guest_id=guest["id"],
        stayGuest={"name": "Pablo Lopez", "email": stay_email, "phone": stay_phone},
    )

    secrets_ = [email, "Marta.Lopez@Example.com", phone, phone.lstrip("+"), "644777888", note, "peanuts"]
    secrets_ += [stay_email, stay_phone, stay_phone.lstrip("+"), "633666777"]

    assert {"guest", "booking", "data_key"} <= set(tenant_tables(sync_engine, tenant.schema_name))
    # guest, booking and data_key above all, but nothing else may leak either
    assert plaintext_found(sync_engine, tenant.schema_name, secrets_) == []

    # Nor does data_key hold any key in the clear: only wrapped keys.
    keys = rotation.load_keys(sync_engine, master_key_from(settings), schema_name=tenant.schema_name)
    key_texts = " ".join(raw_rows(sync_engine, tenant.schema_name, "data_key"))
    for raw_key in [*keys.data_keys.values(), keys.index_key]:
        assert hex_of(raw_key) not in key_texts
        assert encode_key(raw_key).rstrip("=") not in key_texts
    assert len(raw_rows(sync_engine, tenant.schema_name, "data_key")) == 2  # data v1, index v1

    # Each stored value is a ciphertext under data key version 1.
    assert row_versions(sync_engine, tenant.schema_name, "guest", guest["id"]) == {1}
    assert row_versions(sync_engine, tenant.schema_name, "booking", booking["id"]) == {1}

    # The API still answers with the plaintext (the email normalised to lower case).
    assert read_guest(tenant.api, guest["id"]) == {
        "id": guest["id"],
        "name": "Marta Lopez",
        "email": email,
        "phone": phone,
        "notes": note,
    }
    assert read_stay_guest(tenant.api, booking["id"]) == {
        "name": "Pablo Lopez",
        "email": stay_email,
        "phone": stay_phone,
    }


SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) { errors { field code } } }"""
CONTACT_FORM = """mutation($input: SubmitContactFormInput!) {
  submitContactForm(input: $input) { reference errors { field code } }
}"""
BOOKING_FORM = """mutation($input: SubmitBookingFormInput!) {
  submitBookingForm(input: $input) { reference errors { field code } }
}"""
PRIVATE_TEXT = """query($id: ID!) { guest(id: $id) {
  communications { direction subject body }
  serviceRequests { notes }
  payments { providerReference }
  bookings { cancelReason property { checkInInstructions villaGuide } }
} }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { errors { code } } }"""

# The columns that held private text in plaintext before tenant migration t0006.
PRIVATE_TEXT_COLUMNS = {
    ("communication", "subject"),
    ("communication", "body"),
    ("service_request", "notes"),
    ("payment", "provider_reference"),
    ("property", "check_in_instructions"),
    ("property", "villa_guide"),
    ("booking", "cancel_reason"),
}

# One secret per kind of private text, each unlike anything else stored.
DOOR_CODE = "Door code 7319 at the side gate"
PAYMENT_REF = "pi_3Nq8SecretRef2291"
REQUEST_NOTE = "Pick-up at the hospital wing, wheelchair"
SUBJECT = "Your alarm code inside"
BODY = "The alarm code is 55821; see you soon"
CONTACT_MESSAGE = "my passport is XK4411927, can I pay on arrival?"
FORM_MESSAGE = "We land on flight IB6313 after midnight"
VILLA_GUIDE = "Wi-Fi: CasaPriv / tide 4471"
CANCEL_REASON = "Guest in hospital after a fall"


OWN_PROVIDERS = """mutation($input: UpdateMessagingSettingsInput!) {
  updateMessagingSettings(input: $input) { errors { field code } }
}"""


def private_text_everywhere(api: GraphQLClient, *, slug: str) -> dict[str, str]:
    """Every kind of private text, written as clients write it: staff (property, payment, service
    request, message) and the public forms. Returns the two guests' ids."""
    arrival = days_from_today(AHEAD)
    prop = create_property(api, checkInInstructions=DOOR_CODE, villaGuide=VILLA_GUIDE)
    guest = create_guest(api, name="Priv Ate", email="priv.ate@example.com", phone=None)
    booking = create_booking(
        api,
        property_id=prop["id"],
        guest_id=guest["id"],
        checkIn=arrival.isoformat(),
        checkOut=(arrival + timedelta(days=3)).isoformat(),
    )
    record_payment(api, booking_id=booking["id"], providerReference=PAYMENT_REF)
    service = create_service(api)
    create_service_request(
        api,
        booking_id=booking["id"],
        service_id=service["id"],
        date=(arrival + timedelta(days=1)).isoformat(),
        notes=REQUEST_NOTE,
    )
    sent = api.data(SEND, {"input": {"guestId": guest["id"], "subject": SUBJECT, "body": BODY}})
    assert sent["sendMessage"]["errors"] == []
    cancelled = api.data(CANCEL, {"input": {"bookingId": booking["id"], "reason": CANCEL_REASON}})
    assert cancelled["cancelBooking"]["errors"] == []

    public = api.as_(**{"X-Tenant": slug})
    public.headers.pop("Authorization", None)
    contact = {"name": "Con Tact", "email": "con.tact@example.com", "message": CONTACT_MESSAGE}
    assert public.data(CONTACT_FORM, {"input": contact})["submitContactForm"]["errors"] == []
    form = {
        "propertyId": prop["id"],
        "checkIn": arrival.isoformat(),
        "checkOut": (arrival + timedelta(days=2)).isoformat(),
        "guest": {"name": "Form Filler", "email": "form.filler@example.com"},
        "message": FORM_MESSAGE,
    }
    assert public.data(BOOKING_FORM, {"input": form})["submitBookingForm"]["errors"] == []
    return {
        "staff": guest["id"],
        "contact": _found(api, "con.tact@example.com")[0],
        "form": _found(api, "form.filler@example.com")[0],
    }


def read_private_text(api: GraphQLClient, guest_ids: dict[str, str]) -> dict[str, Any]:
    return {name: api.data(PRIVATE_TEXT, {"id": guest_id})["guest"] for name, guest_id in guest_ids.items()}


def inbound_texts(guest: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(m["subject"], m["body"]) for m in guest["communications"] if m["direction"] == "IN"]


def test_no_plaintext_private_text_in_any_column(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    guests = private_text_everywhere(tenant.api, slug=tenant.slug)

    # Fragments too (with a space, so no hex digits of a ciphertext can match them by chance).
    secrets_ = [DOOR_CODE, "code 7319", PAYMENT_REF, REQUEST_NOTE, SUBJECT, BODY, "is 55821"]
    secrets_ += [CONTACT_MESSAGE, "XK4411927", FORM_MESSAGE, "IB6313", VILLA_GUIDE, "tide 4471"]
    secrets_ += [CANCEL_REASON, "in hospital"]
    assert plaintext_found(sync_engine, tenant.schema_name, secrets_) == []

    # The API answers exactly as before: the texts as written.
    read = read_private_text(tenant.api, guests)
    staff = read["staff"]
    assert [m["subject"] for m in staff["communications"]].count(SUBJECT) == 1
    assert [m["body"] for m in staff["communications"]].count(BODY) == 1
    assert staff["serviceRequests"] == [{"notes": REQUEST_NOTE}]
    assert staff["payments"] == [{"providerReference": PAYMENT_REF}]
    assert staff["bookings"] == [
        {
            "cancelReason": CANCEL_REASON,
            "property": {"checkInInstructions": DOOR_CODE, "villaGuide": VILLA_GUIDE},
        }
    ]
    assert inbound_texts(read["contact"]) == [("Contact form", CONTACT_MESSAGE)]
    assert inbound_texts(read["form"]) == [("Booking request", FORM_MESSAGE)]
    # Stored as ciphertexts under the tenant's data key, like the contact data.
    assert all_versions(sync_engine, tenant.schema_name) == {1}


def test_every_encrypted_column_is_rotated_and_every_private_text_is_encrypted() -> None:
    """The rotation's list is the models' list of `*_enc` columns, and no plaintext column for the
    private texts is left on the tables."""
    stored = {(t.name, c.name) for t in SQLModel.metadata.sorted_tables if t.schema is None for c in t.c}
    encrypted = {(table, column) for table, column in stored if column.endswith("_enc")}
    rotated = {(table, c.attribute) for table, columns in rotation.ENCRYPTED_COLUMNS.items() for c in columns}
    assert rotated == encrypted
    assert stored & PRIVATE_TEXT_COLUMNS == set()


# --- blind indexes ------------------------------------------------------------------------------


def _found(api: GraphQLClient, search: str) -> list[str]:
    connection = api.data(SEARCH, {"search": search})["guests"]
    ids = [edge["node"]["id"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(ids)
    return ids


def test_blind_index_finds_exact_email_and_phone(tenant: TenantFixture) -> None:
    guest = create_guest(
        tenant.api, name="Lucia Nunez", email="Lucia.Nunez@Example.com", phone="+50688887777"
    )
    create_guest(tenant.api, name="Someone Else", email="lucia.nunez@example.org", phone="+34600222333")

    for search in ("lucia.nunez@example.com", "LUCIA.NUNEZ@EXAMPLE.COM", "  Lucia.Nunez@example.com "):
        assert _found(tenant.api, search) == [guest["id"]], search
    # Exact match only: no prefix or partial matching through the blind index.
    assert _found(tenant.api, "lucia.nunez@example.co") == []
    assert _found(tenant.api, "nobody@example.com") == []

    # Any spelling of the same number (national ones read in the tenant's region, CR).
    for search in ("+50688887777", "+506 8888 7777", "8888-7777"):
        assert _found(tenant.api, search) == [guest["id"]], search
    assert _found(tenant.api, "+50688887778") == []


def test_blind_indexes_differ_between_companies(
    make_tenant: Callable[..., TenantFixture], sync_engine: sa.Engine
) -> None:
    first, second = make_tenant("bia"), make_tenant("bib")
    email, phone = "shared.person@example.com", "+34611444555"
    in_first = create_guest(first.api, name="Shared Person", email=email, phone=phone)
    in_second = create_guest(second.api, name="Shared Person", email=email, phone=phone)

    def indexes(t: TenantFixture, guest_id: str) -> tuple[bytes, bytes]:
        g = _table(t.schema_name, "guest", "id", "email_bidx", "phone_bidx")
        with sync_engine.connect() as connection:
            row = connection.execute(
                sa.select(g.c.email_bidx, g.c.phone_bidx).where(g.c.id == _pk(guest_id))
            ).one()
        return bytes(row.email_bidx), bytes(row.phone_bidx)

    first_email, first_phone = indexes(first, in_first["id"])
    second_email, second_phone = indexes(second, in_second["id"])
    assert first_email != second_email
    assert first_phone != second_phone
    # Another company's index value matches nothing here: matching never crosses companies.
    g = _table(second.schema_name, "guest", "email_bidx", "phone_bidx")
    with sync_engine.connect() as connection:
        crossed = connection.execute(
            sa.select(sa.func.count())
            .select_from(g)
            .where(sa.or_(g.c.email_bidx == first_email, g.c.phone_bidx == first_phone))
        ).scalar_one()
    assert crossed == 0
    assert _found(first.api, email) == [in_first["id"]]
    assert _found(second.api, email) == [in_second["id"]]
    assert _found(first.api, phone) == [in_first["id"]]


# --- associated data ----------------------------------------------------------------------------


def test_ciphertext_moved_to_another_column_does_not_decrypt(
    tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    email = "moved@example.com"
    guest = create_guest(tenant.api, name="Moved Value", email=email, notes="the real note")
    g = _table(tenant.schema_name, "guest", "id", "email_enc", "notes_enc")
    with sync_engine.begin() as connection:
        connection.execute(sa.update(g).where(g.c.id == _pk(guest["id"])).values(notes_enc=g.c.email_enc))

    body = tenant.api(GUEST, {"id": guest["id"]})
    assert error_codes(body) == ["INTERNAL"]
    [error] = body["errors"]
    assert error["path"] == ["guest", "notes"]
    assert body["data"]["guest"]["notes"] is None  # never the email read as a note
    assert body["data"]["guest"]["email"] == email  # the other fields still answer
    assert email not in json.dumps(body["errors"])


# --- master key ---------------------------------------------------------------------------------


def test_another_master_key_cannot_unwrap_the_tenant_keys(
    tenant: TenantFixture, settings: Settings, sync_engine: sa.Engine
) -> None:
    create_guest(tenant.api)  # the tenant's first keys are made on first use
    other = MasterKey(new_key())

    async def attempt() -> None:
        engine = create_engine_async(settings.database_url or "", policy=TEST_CONNECTIONS)
        try:
            sessions = TenantSessions(engine)
            async with sessions.open(tenant.schema_name) as session, session.begin():
                with pytest.raises(CryptoError):
                    await Keyring(other, ttl_seconds=0).keys(session, tenant.schema_name)
            async with sessions.open(tenant.schema_name) as session, session.begin():
                right = Keyring(master_key_from(settings), ttl_seconds=0)
                assert (await right.keys(session, tenant.schema_name)).current_version == 1
        finally:
            await engine.dispose()

    asyncio.run(attempt())
    with pytest.raises(CryptoError):
        rotation.load_keys(sync_engine, other, schema_name=tenant.schema_name)
    with pytest.raises(CryptoError):
        rotation.add_data_key(sync_engine, other, schema_name=tenant.schema_name)
    assert key_versions(sync_engine, tenant.schema_name) == {"data": [1], "index": [1]}


def test_rotation_with_the_wrong_master_key_changes_nothing(
    tenant: TenantFixture, settings: Settings, sync_engine: sa.Engine
) -> None:
    guest = create_guest(tenant.api, notes="kept")
    result = rotate_cli(settings, "--tenant", tenant.slug, master_key=encode_key(new_key()))
    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    assert "wrong master key" in line
    assert key_versions(sync_engine, tenant.schema_name) == {"data": [1], "index": [1]}
    assert row_versions(sync_engine, tenant.schema_name, "guest", guest["id"]) == {1}


# --- rotation -----------------------------------------------------------------------------------


def test_rotate_reencrypts_everything_and_reads_back_identical(
    client: TestClient, make_tenant: Callable[..., TenantFixture], sync_engine: sa.Engine, settings: Settings
) -> None:
    t = make_tenant("rot")
    prop = create_property(t.api)
    guests = [
        create_guest(
            t.api, name="Rosa Vega", email="rosa@example.com", phone="+34611444555", notes="Gate 4417"
        ),
        create_guest(
            t.api, name="Tomas Ruiz", email="tomas@example.com", phone="+34622555666", notes="Vegan"
        ),
        create_guest(t.api, name="No Contact", email=None, phone=None),  # nothing to re-encrypt
    ]
    booking = create_booking(
        t.api,
        property_id=prop["id"],
        guest_id=guests[0]["id"],
        stayGuest={"name": "Ines Vega", "email": "ines@example.com", "phone": "+34633666777"},
    )
    create_booking(t.api, property_id=prop["id"], guest_id=guests[1]["id"])  # no stay guest
    private = private_text_everywhere(t.api, slug=t.slug)
    own_number = f"+1201555{uuid.uuid4().int % 10_000:04d}"  # the company's own Twilio account
    providers = {"smsFrom": own_number, "twilioAccountSid": "AC" + "2" * 32, "twilioAuthToken": "own"}
    assert t.api.data(OWN_PROVIDERS, {"input": providers})["updateMessagingSettings"]["errors"] == []

    def snapshot() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any], dict[str, Any]]:
        return (
            [read_guest(t.api, g["id"]) for g in guests],
            read_stay_guest(t.api, booking["id"]),
            read_private_text(t.api, private),
            t.api.data("{ messagingSettings { smsFrom ownTwilioAccount } }"),
        )

    before = snapshot()
    assert before[0][0]["notes"] == "Gate 4417" and before[1]["email"] == "ines@example.com"
    assert before[2]["staff"]["bookings"] == [
        {
            "cancelReason": CANCEL_REASON,
            "property": {"checkInInstructions": DOOR_CODE, "villaGuide": VILLA_GUIDE},
        }
    ]
    assert all_versions(sync_engine, t.schema_name) == {1}
    # Rows holding something encrypted, per table: every kind of private text is among them.
    holding = encrypted_rows(sync_engine, t.schema_name)
    assert {"communication", "service_request", "payment", "property", "booking", "provider_settings"} <= set(
        holding
    )
    expected = rotation.describe(holding)

    result = rotate_cli(settings, "--tenant", t.slug, "--batch-size", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"added data key v2 to tenant {t.slug}")
    assert lines[1] == f"pass 1: re-encrypted {expected}; left under older keys: nothing"
    assert lines[-1] == f"rotated tenant {t.slug} to data key v2: {expected}"
    assert all_versions(sync_engine, t.schema_name) == {2}
    assert key_versions(sync_engine, t.schema_name) == {"data": [1, 2], "index": [1]}  # v1 kept

    forget_api_keys(client, t.schema_name)
    assert snapshot() == before
    # Blind indexes did not change: search still finds by email.
    assert _found(t.api, "rosa@example.com") == [guests[0]["id"]]

    again = rotate_cli(settings, "--tenant", t.slug)
    assert again.exit_code == 0, again.output
    assert again.output.strip().splitlines()[-1] == f"rotated tenant {t.slug} to data key v3: {expected}"
    assert all_versions(sync_engine, t.schema_name) == {3}
    assert key_versions(sync_engine, t.schema_name) == {"data": [1, 2, 3], "index": [1]}
    forget_api_keys(client, t.schema_name)
    assert snapshot() == before


def test_values_written_during_a_rotation_stay_readable_and_get_rotated(
    client: TestClient, make_tenant: Callable[..., TenantFixture], sync_engine: sa.Engine, settings: Settings
) -> None:
    t = make_tenant("late")
    master = master_key_from(settings)
    early = create_guest(t.api, name="Early Bird", email="early@example.com", phone="+34600111222", notes="a")
    forget_api_keys(client, t.schema_name)
    read_guest(t.api, early["id"])  # the API process now holds v1 for its cache period

    version = rotation.add_data_key(sync_engine, master, schema_name=t.schema_name)
    assert version == 2
    # A process that has not yet seen v2 keeps writing under v1.
    late = create_guest(t.api, name="Late Writer", email="late@example.com", phone="+34600222333", notes="b")
    assert row_versions(sync_engine, t.schema_name, "guest", late["id"]) == {1}

    keys = rotation.load_keys(sync_engine, master, schema_name=t.schema_name, version=version)
    first = rotation.reencrypt_pass(sync_engine, keys, schema_name=t.schema_name, batch_size=500)
    assert (rotation.describe(first.rows), first.unreadable) == ("guest=2", ())

    later = create_guest(t.api, name="Later Writer", email="later@example.com", notes="c")  # still v1
    assert row_versions(sync_engine, t.schema_name, "guest", later["id"]) == {1}
    assert rotation.count_stale(sync_engine, schema_name=t.schema_name, version=version).rows["guest"] == 1
    assert read_guest(t.api, later["id"])["email"] == "later@example.com"  # readable meanwhile

    second = rotation.reencrypt_pass(sync_engine, keys, schema_name=t.schema_name)
    assert rotation.describe(second.rows) == "guest=1"
    assert rotation.reencrypt_pass(sync_engine, keys, schema_name=t.schema_name).rewritten == 0
    assert rotation.count_stale(sync_engine, schema_name=t.schema_name, version=version).total == 0
    assert all_versions(sync_engine, t.schema_name) == {2}
    assert key_versions(sync_engine, t.schema_name)["data"] == [1, 2]

    forget_api_keys(client, t.schema_name)
    assert [read_guest(t.api, g["id"])["notes"] for g in (early, late, later)] == ["a", "b", "c"]
    assert read_guest(t.api, late["id"])["phone"] == "+34600222333"


def test_rotate_tenant_repeats_passes_until_late_writes_are_caught(
    client: TestClient, make_tenant: Callable[..., TenantFixture], sync_engine: sa.Engine, settings: Settings
) -> None:
    t = make_tenant("pass")
    create_guest(t.api, name="Before Rotation", email="before@example.com", notes="x")
    forget_api_keys(client, t.schema_name)
    read_guest(t.api, create_guest(t.api, name="Warm Cache", email=None, phone=None)["id"])
    written: list[str] = []
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # between pass 1 and 2: a process still holding v1 writes
            written.append(create_guest(t.api, name="During Rotation", email="during@example.com")["id"])

    result = rotation.rotate_tenant(
        sync_engine, master_key_from(settings), slug=t.slug, cache_seconds=0, sleep=sleep
    )
    assert result.version == 2 and result.complete and result.unreadable == []
    assert [(p.result.rows["guest"], p.left.total) for p in result.passes] == [(1, 0), (1, 0), (0, 0)]
    assert waits == [0, 0, 0]  # before pass 1, then between passes
    assert rotation.describe(result.rows) == "guest=2"
    assert all_versions(sync_engine, t.schema_name) == {2}
    forget_api_keys(client, t.schema_name)
    assert read_guest(t.api, written[0])["email"] == "during@example.com"


def test_rotate_leaves_undecryptable_values_untouched_and_says_so(
    client: TestClient, make_tenant: Callable[..., TenantFixture], sync_engine: sa.Engine, settings: Settings
) -> None:
    t = make_tenant("bad")
    broken = create_guest(t.api, name="Broken Note", email="broken@example.com", notes="n")
    fine = create_guest(t.api, name="Fine Guest", email="fine@example.com", notes="ok")
    g = _table(t.schema_name, "guest", "id", "email_enc", "notes_enc")
    with sync_engine.begin() as connection:
        connection.execute(sa.update(g).where(g.c.id == _pk(broken["id"])).values(notes_enc=g.c.email_enc))
    moved = cells(sync_engine, t.schema_name, "guest", broken["id"])["notes_enc"]

    result = rotate_cli(settings, "--tenant", t.slug)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert lines[-2] == f"rotated tenant {t.slug} to data key v2: guest=2"
    assert lines[-1] == (
        "Error: 1 value(s) cannot be decrypted and were left as they are: "
        f"guest {_pk(broken['id'])} notes_enc"
    )
    after = cells(sync_engine, t.schema_name, "guest", broken["id"])
    assert after["notes_enc"] == moved  # untouched
    assert version_of(after["email_enc"]) == version_of(after["phone_enc"]) == 2
    assert row_versions(sync_engine, t.schema_name, "guest", fine["id"]) == {2}
    forget_api_keys(client, t.schema_name)
    assert read_guest(t.api, fine["id"])["notes"] == "ok"
    body = t.api(GUEST, {"id": broken["id"]})  # the moved note still fails; the rest reads back
    assert error_codes(body) == ["INTERNAL"] and body["errors"][0]["path"] == ["guest", "notes"]
    assert body["data"]["guest"]["email"] == "broken@example.com"


def test_rotate_unknown_tenant_fails_with_one_line(settings: Settings) -> None:
    slug = f"nope-{uuid.uuid4().hex[:8]}"
    result = rotate_cli(settings, "--tenant", slug)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [f"Error: unknown tenant {slug!r}"]


def test_a_process_whose_key_cache_predates_the_rotation_reads_rotated_rows(
    client: TestClient, make_tenant: Callable[..., TenantFixture], sync_engine: sa.Engine, settings: Settings
) -> None:
    t = make_tenant("stale")
    guest = create_guest(t.api, name="Stale Cache", email="stale@example.com")
    forget_api_keys(client, t.schema_name)
    read_guest(t.api, guest["id"])  # cache v1 for 10 s
    master = master_key_from(settings)
    version = rotation.add_data_key(sync_engine, master, schema_name=t.schema_name)
    keys = rotation.load_keys(sync_engine, master, schema_name=t.schema_name, version=version)
    rotation.reencrypt_pass(sync_engine, keys, schema_name=t.schema_name)
    body = t.api(GUEST, {"id": guest["id"]})
    assert not body.get("errors"), body["errors"]
    assert body["data"]["guest"]["email"] == "stale@example.com"
