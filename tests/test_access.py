"""Partner API keys: an owner issues one with scopes, sees its secret once, and revokes it; the
key reaches exactly what its scopes allow in its own company, never a staff-only operation, and
stops working the moment it is revoked."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.schema.ids import decode_id
from hospes.settings import Settings
from tests.conftest import GraphQLClient, Servers, TenantFixture, error_codes
from tests.factories import create_booking, create_guest, create_property
from tests.helpers_cli import error_line, hospes

ALL_SCOPES = [
    "guests:read",
    "guests:write",
    "bookings:read",
    "bookings:write",
    "messages:read",
    "messages:send",
    "inquiries:read",
    "inquiries:write",
]
CREATE_KEY = """mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    key apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } errors { field code message }
  }
}"""
REVOKE_KEY = """mutation($input: RevokeApiKeyInput!) {
  revokeApiKey(input: $input) { apiKey { id revokedAt } errors { field code message } }
}"""
API_KEYS = """query($first: Int, $after: String) {
  apiKeys(first: $first, after: $after) {
    totalCount
    edges { cursor node { id name prefix scopes createdAt lastUsedAt revokedAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
GUESTS = "{ guests(first: 5) { totalCount edges { node { id name } } } }"
PROPERTIES = "{ properties(first: 5) { totalCount } }"
CREATE_GUEST = """mutation($input: CreateGuestInput!) {
  createGuest(input: $input) { guest { id } errors { code } }
}"""


def issue(api: GraphQLClient, scopes: list[str], name: str = "channel manager") -> dict[str, Any]:
    payload: dict[str, Any] = api.data(CREATE_KEY, {"input": {"name": name, "scopes": scopes}})[
        "createApiKey"
    ]
    assert payload["errors"] == [], payload["errors"]
    return payload


def as_key(api: GraphQLClient, key: str, **headers: str) -> GraphQLClient:
    return api.as_(**{"X-Api-Key": key, **headers})


def key_row(engine: sa.Engine, prefix: str) -> sa.Row[Any]:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT * FROM public.api_key WHERE prefix = :prefix"), {"prefix": prefix}
        ).one()


def audit_actions(engine: sa.Engine, schema: str, entity_id: uuid.UUID) -> list[tuple[str, str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                f'SELECT action, actor_kind, data FROM "{schema}".audit_event '
                "WHERE entity = 'api_key' AND entity_id = :id ORDER BY created_at"
            ),
            {"id": entity_id},
        )
        return [tuple(row) for row in rows]


def owner_id(tenant: TenantFixture) -> uuid.UUID:
    pk = decode_id("StaffUser", tenant.api.data("{ me { id } }")["me"]["id"])
    assert pk is not None
    return pk


# --- lifecycle -------------------------------------------------------------------------------------


def test_key_is_shown_once_and_stored_only_as_its_hash(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    payload = issue(tenant.api, ["bookings:read", "guests:read"])
    key, api_key = payload["key"], payload["apiKey"]
    assert key.startswith(f"hk_{api_key['prefix']}_") and len(key) >= len("hk_12345678_") + 43
    assert api_key["name"] == "channel manager"
    assert api_key["scopes"] == ["guests:read", "bookings:read"]
    assert api_key["createdAt"] and api_key["lastUsedAt"] is None and api_key["revokedAt"] is None

    row = key_row(sync_engine, api_key["prefix"])
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    secret = key.removeprefix(f"hk_{api_key['prefix']}_")  # may itself hold "_"
    assert all(secret not in str(value) for value in row)
    assert row.created_by == owner_id(tenant)

    listed = tenant.api.data(API_KEYS)["apiKeys"]
    assert listed["totalCount"] == 1
    assert listed["edges"][0]["node"] == api_key
    assert secret not in str(listed)


def test_key_works_within_its_scopes_and_is_forbidden_outside_them_naming_the_scope(
    tenant: TenantFixture,
) -> None:
    create_guest(tenant.api, name="Anna Hemm")
    partner = as_key(tenant.api, issue(tenant.api, ["guests:read"])["key"])
    guests = partner.data(GUESTS)["guests"]
    assert [edge["node"]["name"] for edge in guests["edges"]] == ["Anna Hemm"]

    body = partner(CREATE_GUEST, {"input": {"name": "Ben", "email": "ben@example.com"}})
    assert error_codes(body) == ["FORBIDDEN"]
    assert "guests:write" in body["errors"][0]["message"]
    body = partner(PROPERTIES)
    assert error_codes(body) == ["FORBIDDEN"]
    assert "bookings:read" in body["errors"][0]["message"]
    assert tenant.api.data(GUESTS)["guests"]["totalCount"] == 1  # nothing was written


def test_write_scope_lets_a_partner_create_in_its_company(tenant: TenantFixture) -> None:
    partner = as_key(tenant.api, issue(tenant.api, ["guests:write"])["key"])
    created = partner.data(CREATE_GUEST, {"input": {"name": "Ben", "email": "ben@example.com"}})
    assert created["createGuest"]["errors"] == []
    assert tenant.api.data(GUESTS)["guests"]["totalCount"] == 1


def test_revoked_key_is_unauthenticated_at_once(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    payload = issue(tenant.api, ["guests:read"])
    partner = as_key(tenant.api, payload["key"])
    assert partner.data(GUESTS)["guests"]["totalCount"] == 0
    revoked = tenant.api.data(REVOKE_KEY, {"input": {"apiKeyId": payload["apiKey"]["id"]}})["revokeApiKey"]
    assert revoked["errors"] == [] and revoked["apiKey"]["revokedAt"]
    body = partner(GUESTS)
    assert error_codes(body) == ["UNAUTHENTICATED"] and body["data"] is None

    # Revoking again changes nothing; the key stays listed, with when it was revoked.
    again = tenant.api.data(REVOKE_KEY, {"input": {"apiKeyId": payload["apiKey"]["id"]}})["revokeApiKey"]
    assert again["apiKey"]["revokedAt"] == revoked["apiKey"]["revokedAt"]
    [edge] = tenant.api.data(API_KEYS)["apiKeys"]["edges"]
    assert edge["node"]["revokedAt"] == revoked["apiKey"]["revokedAt"]
    assert key_row(sync_engine, payload["apiKey"]["prefix"]).revoked_at is not None


def test_last_used_at_is_set_when_the_key_is_used(tenant: TenantFixture) -> None:
    payload = issue(tenant.api, ["guests:read"])
    as_key(tenant.api, payload["key"]).data(GUESTS)
    [edge] = tenant.api.data(API_KEYS)["apiKeys"]["edges"]
    assert edge["node"]["lastUsedAt"] is not None
    assert edge["node"]["lastUsedAt"] >= payload["apiKey"]["createdAt"]


def test_key_creation_and_revocation_are_audited(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    payload = issue(tenant.api, ["bookings:read"])
    tenant.api.data(REVOKE_KEY, {"input": {"apiKeyId": payload["apiKey"]["id"]}})
    pk = decode_id("ApiKey", payload["apiKey"]["id"])
    assert pk is not None
    events = audit_actions(sync_engine, tenant.schema_name, pk)
    assert [(action, kind) for action, kind, _ in events] == [
        ("api_key.created", "staff"),
        ("api_key.revoked", "staff"),
    ]
    assert events[0][2]["scopes"] == ["bookings:read"]
    assert payload["key"] not in str(events)


def test_keys_are_listed_newest_first_page_by_page(tenant: TenantFixture) -> None:
    names = [f"partner {n}" for n in range(5)]
    for name in names:
        issue(tenant.api, ["guests:read"], name=name)
    seen: list[str] = []
    after = None
    while True:
        page = tenant.api.data(API_KEYS, {"first": 2, "after": after})["apiKeys"]
        assert page["totalCount"] == 5
        seen += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(names))


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"name": "x", "scopes": ["guests:read", "guests:delete"]}, [("scopes", "INVALID")]),
        ({"name": "x", "scopes": ["admin"]}, [("scopes", "INVALID")]),
        ({"name": "x", "scopes": []}, [("scopes", "REQUIRED")]),
        ({"name": "x", "scopes": ["  "]}, [("scopes", "REQUIRED")]),
        ({"name": "  ", "scopes": ["guests:read"]}, [("name", "REQUIRED")]),
        ({"name": "x" * 201, "scopes": ["guests:read"]}, [("name", "TOO_LONG")]),
    ],
)
def test_bad_key_input_is_refused_and_nothing_is_written(
    tenant: TenantFixture, values: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    payload = tenant.api.data(CREATE_KEY, {"input": values})["createApiKey"]
    assert payload["key"] is None and payload["apiKey"] is None
    assert [(error["field"], error["code"]) for error in payload["errors"]] == expected
    assert tenant.api.data(API_KEYS)["apiKeys"]["totalCount"] == 0


def test_unknown_scope_error_names_it(tenant: TenantFixture) -> None:
    payload = tenant.api.data(CREATE_KEY, {"input": {"name": "x", "scopes": ["guests:delete"]}})
    assert "'guests:delete'" in payload["createApiKey"]["errors"][0]["message"]


def test_repeated_scopes_are_kept_once(tenant: TenantFixture) -> None:
    payload = issue(tenant.api, ["guests:read", "guests:read", " guests:read "])
    assert payload["apiKey"]["scopes"] == ["guests:read"]


@pytest.mark.parametrize("api_key_id", ["not-an-id", "", "R3Vlc3Q6AAAAAAAAAAAAAAAAAAAAAA"])
def test_revoking_an_unknown_key_is_not_found(tenant: TenantFixture, api_key_id: str) -> None:
    payload = tenant.api.data(REVOKE_KEY, {"input": {"apiKeyId": api_key_id}})["revokeApiKey"]
    assert payload["apiKey"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("apiKeyId", "NOT_FOUND")]


# --- isolation -------------------------------------------------------------------------------------


@pytest.fixture
def two(make_tenant: Callable[..., TenantFixture]) -> tuple[TenantFixture, TenantFixture]:
    return make_tenant("ka"), make_tenant("kb")


def test_key_of_one_company_sent_under_another_company_name_is_forbidden(
    two: tuple[TenantFixture, TenantFixture],
) -> None:
    a, b = two
    create_guest(b.api, name="Someone of B")
    key = issue(a.api, ALL_SCOPES)["key"]
    body = as_key(a.api, key, **{"X-Tenant": b.slug})(GUESTS)
    assert error_codes(body) == ["FORBIDDEN"] and body["data"] is None
    # Under its own name it works, and sees only its own company.
    assert as_key(a.api, key, **{"X-Tenant": a.slug}).data(GUESTS)["guests"]["totalCount"] == 0


def test_keys_of_another_company_are_neither_listed_nor_revocable(
    two: tuple[TenantFixture, TenantFixture], sync_engine: sa.Engine
) -> None:
    a, b = two
    theirs = issue(b.api, ["guests:read"])
    issue(a.api, ["guests:read"])
    listed = a.api.data(API_KEYS)["apiKeys"]
    assert listed["totalCount"] == 1
    assert theirs["apiKey"]["id"] not in str(listed)
    payload = a.api.data(REVOKE_KEY, {"input": {"apiKeyId": theirs["apiKey"]["id"]}})["revokeApiKey"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("apiKeyId", "NOT_FOUND")]
    assert key_row(sync_engine, theirs["apiKey"]["prefix"]).revoked_at is None
    assert as_key(b.api, theirs["key"]).data(GUESTS)["guests"]["totalCount"] == 0


@pytest.mark.parametrize(
    "key",
    [
        "garbage",
        "hk_",
        "hk_deadbeef_",
        "hk_deadbeef_" + "x" * 43,
        "hk_" + "x" * 200,
        "Bearer hk_deadbeef_" + "x" * 43,
    ],
)
def test_garbage_keys_are_unauthenticated(anonymous: GraphQLClient, key: str) -> None:
    body = anonymous.as_(**{"X-Api-Key": key})(GUESTS)
    assert error_codes(body) == ["UNAUTHENTICATED"] and body["data"] is None


def test_right_prefix_with_a_wrong_secret_is_unauthenticated(tenant: TenantFixture) -> None:
    key = issue(tenant.api, ["guests:read"])["key"]
    forged = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    assert error_codes(as_key(tenant.api, forged)(GUESTS)) == ["UNAUTHENTICATED"]


# --- staff-only operations -------------------------------------------------------------------------

STAFF_ONLY: dict[str, tuple[str, Callable[[dict[str, str]], dict[str, Any]]]] = {
    "me": ("{ me { email } }", lambda _: {}),
    "settings": ("{ settings { defaultLanguage } }", lambda _: {}),
    "updateSettings": (
        "mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { errors { code } } }",
        lambda _: {"input": {"defaultLanguage": "es"}},
    ),
    "apiKeys": ("{ apiKeys { totalCount } }", lambda _: {}),
    "createApiKey": (CREATE_KEY, lambda _: {"input": {"name": "mine now", "scopes": ALL_SCOPES}}),
    "revokeApiKey": (REVOKE_KEY, lambda ids: {"input": {"apiKeyId": ids["key"]}}),
    "staffUsers": ("{ staffUsers { totalCount edges { node { email } } } }", lambda _: {}),
    "createStaffUser": (
        "mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) { errors { code } } }",
        lambda _: {
            "input": {"email": "intruder@example.com", "password": "a-long-password", "role": "OWNER"}
        },
    ),
    "updateStaffUser": (
        "mutation($input: UpdateStaffUserInput!) { updateStaffUser(input: $input) { errors { code } } }",
        lambda ids: {"input": {"staffUserId": ids["owner"], "role": "AGENT"}},
    ),
    "deactivateStaffUser": (
        "mutation($input: DeactivateStaffUserInput!) { deactivateStaffUser(input: $input) { errors { code } } }",
        lambda ids: {"input": {"staffUserId": ids["owner"]}},
    ),
    "eraseGuest": (
        "mutation($input: EraseGuestInput!) { eraseGuest(input: $input) { errors { code } } }",
        lambda ids: {"input": {"guestId": ids["guest"], "reason": "partner asked"}},
    ),
    "mergeGuests": (
        "mutation($input: MergeGuestsInput!) { mergeGuests(input: $input) { errors { code } } }",
        lambda ids: {"input": {"sourceGuestId": ids["other"], "targetGuestId": ids["guest"]}},
    ),
    "createProperty": (
        "mutation($input: CreatePropertyInput!) { createProperty(input: $input) { errors { code } } }",
        lambda _: {"input": {"name": "Partner villa", "timezone": "UTC"}},
    ),
    "logout": ("mutation { logout }", lambda _: {}),
}


@pytest.fixture(scope="module")
def company(make_tenant: Callable[..., TenantFixture]) -> tuple[TenantFixture, dict[str, str], str]:
    """A company with data, and a key holding every scope."""
    tenant = make_tenant("kp")
    ids = {
        "guest": create_guest(tenant.api, name="Anna Hemm")["id"],
        "other": create_guest(tenant.api, name="Anna H.", email="anna.h@example.com")["id"],
        "owner": tenant.api.data("{ me { id } }")["me"]["id"],
    }
    spare = issue(tenant.api, ["guests:read"], name="spare")
    ids["key"] = spare["apiKey"]["id"]
    create_property(tenant.api)
    key = issue(tenant.api, ALL_SCOPES, name="everything")["key"]
    return tenant, ids, key


@pytest.mark.parametrize("operation", STAFF_ONLY.keys())
def test_a_key_with_every_scope_never_reaches_a_staff_only_operation(
    company: tuple[TenantFixture, dict[str, str], str], sync_engine: sa.Engine, operation: str
) -> None:
    tenant, ids, key = company
    document, variables = STAFF_ONLY[operation]
    before = _snapshot(sync_engine, tenant.schema_name)
    body = as_key(tenant.api, key)(document, variables(ids))
    assert error_codes(body) == ["FORBIDDEN"], body
    assert _snapshot(sync_engine, tenant.schema_name) == before


def _snapshot(engine: sa.Engine, schema: str) -> dict[str, list[Any]]:
    with engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(sa.text(query))]
            for table, query in {
                "staff": f'SELECT id, email, role, active FROM "{schema}".staff_user ORDER BY id',
                "guests": f'SELECT id, name, erased_at FROM "{schema}".guest ORDER BY id',
                "properties": f'SELECT id FROM "{schema}".property ORDER BY id',
                "keys": "SELECT id, revoked_at FROM public.api_key ORDER BY id",
                "tenants": "SELECT id, settings FROM public.tenant ORDER BY id",
            }.items()
        }


# --- per-key rate limit ----------------------------------------------------------------------------


@pytest.fixture
def strict_client(settings: Settings, servers: Servers) -> Iterator[TestClient]:
    """The API with a per-key limit of 3 requests a minute (its own Redis namespace)."""
    strict = settings.model_copy(
        update={"api_key_limit_per_minute": 3, "redis_namespace": f"keys-{uuid.uuid4().hex[:8]}"}
    )
    app = create_app(strict, database_url=servers.database_url, redis_url=servers.redis_url)
    with TestClient(app) as test_client:
        yield test_client


def test_a_key_past_its_rate_limit_is_rate_limited(tenant: TenantFixture, strict_client: TestClient) -> None:
    busy, other = issue(tenant.api, ["guests:read"])["key"], issue(tenant.api, ["guests:read"])["key"]
    if time.time() % 60 > 55:  # the limit counts in minute windows: start in a fresh one
        time.sleep(60 - time.time() % 60 + 0.1)
    partner = GraphQLClient(strict_client, {"X-Api-Key": busy})
    for _ in range(3):
        assert partner.data(GUESTS)["guests"]["totalCount"] == 0
    body = partner(GUESTS)
    assert error_codes(body) == ["RATE_LIMITED"] and body["data"] is None
    assert 0 < body["errors"][0]["extensions"]["retryAfter"] <= 60
    # The limit is per key.
    assert GraphQLClient(strict_client, {"X-Api-Key": other}).data(GUESTS)["guests"]["totalCount"] == 0


# --- hospes apikey create --------------------------------------------------------------------------


def test_cli_creates_a_key_that_works_and_is_printed_once(
    tenant: TenantFixture, settings: Settings, sync_engine: sa.Engine
) -> None:
    result = hospes(
        settings,
        "apikey",
        "create",
        "--tenant",
        tenant.slug,
        "--name",
        "channel manager",
        "--scope",
        "guests:read",
        "--scope",
        "bookings:read",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    key = lines[-1]
    assert key.startswith("hk_") and result.output.count(key) == 1
    assert "guests:read, bookings:read" in lines[0]
    assert as_key(tenant.api, key).data(GUESTS)["guests"]["totalCount"] == 0
    [edge] = tenant.api.data(API_KEYS)["apiKeys"]["edges"]
    assert edge["node"]["name"] == "channel manager"
    assert edge["node"]["scopes"] == ["guests:read", "bookings:read"]
    row = key_row(sync_engine, edge["node"]["prefix"])
    assert row.created_by is None
    assert [(a, kind) for a, kind, _ in audit_actions(sync_engine, tenant.schema_name, row.id)] == [
        ("api_key.created", "system")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "no-such-company", "--scope", "guests:read"], "unknown tenant 'no-such-company'"),
        (["--scope", "guests:delete"], "scopes: Unknown scope 'guests:delete'"),
        (["--scope", "guests:read", "--scope", "admin"], "scopes: Unknown scope 'admin'"),
    ],
)
def test_cli_refuses_unknown_tenant_or_scope_in_one_line(
    tenant: TenantFixture, settings: Settings, args: list[str], message: str
) -> None:
    full = ["--tenant", tenant.slug, *args] if "--tenant" not in args else args
    result = hospes(settings, "apikey", "create", "--name", "x", *full)
    assert result.exit_code != 0
    assert message in error_line(result)
    assert tenant.api.data(API_KEYS)["apiKeys"]["totalCount"] == 0


def test_cli_needs_at_least_one_scope(tenant: TenantFixture, settings: Settings) -> None:
    result = hospes(settings, "apikey", "create", "--tenant", tenant.slug, "--name", "x")
    assert result.exit_code != 0
    assert "--scope" in result.output


BOOKING_MESSAGES = """query($id: ID!) {
  booking(id: $id) { id communications { channel status %s } }
}"""
SEND_MESSAGE = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  communication { id } errors { code } } }"""


@pytest.mark.parametrize(
    ("scopes", "reads_content"),
    [
        (["bookings:read"], False),
        (["bookings:read", "messages:read"], True),
        (["bookings:read", "guests:read"], True),
    ],
)
def test_message_content_needs_messages_read_or_guests_read(
    tenant: TenantFixture, scopes: list[str], reads_content: bool
) -> None:
    guest = create_guest(tenant.api, phone=None)
    booking = create_booking(tenant.api, property_id=create_property(tenant.api)["id"], guest_id=guest["id"])
    sent = tenant.api.data(
        SEND_MESSAGE,
        {
            "input": {
                "guestId": guest["id"],
                "bookingId": booking["id"],
                "subject": "Your door code",
                "body": "The door code is 4711.",
            }
        },
    )["sendMessage"]
    assert sent["errors"] == []
    partner = as_key(tenant.api, issue(tenant.api, scopes)["key"])
    # Which messages went, and how they fared, is part of the booking…
    listed = partner.data(BOOKING_MESSAGES % "", {"id": booking["id"]})["booking"]["communications"]
    assert {"channel": "EMAIL", "status": "QUEUED"} in listed
    # …what they say is the guest's.
    for field in ("body", "subject"):
        body = partner(BOOKING_MESSAGES % field, {"id": booking["id"]})
        if reads_content:
            assert not body.get("errors"), body
            texts = [message[field] for message in body["data"]["booking"]["communications"]]
            assert any("door code" in (text or "").lower() for text in texts)
        else:
            assert set(error_codes(body)) == {"FORBIDDEN"}, body
            assert "door code" not in str(body).lower()
