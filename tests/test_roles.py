"""Staff roles: an owner does everything, a manager everything but users and keys, an agent the
daily work on guests and bookings only. Owners manage the users; deactivation and role changes
end sessions at once; a company always keeps an active owner; staff login is rate-limited."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.schema.ids import decode_id
from hospes.settings import Settings
from tests.conftest import LOGIN, OWNER_PASSWORD, GraphQLClient, Servers, TenantFixture, error_codes, login
from tests.dates import AHEAD, iso
from tests.factories import create_booking, create_guest, create_property

PASSWORD = "a-long-enough-password"
ME = "{ me { id email role } }"
CREATE_STAFF = """mutation($input: CreateStaffUserInput!) {
  createStaffUser(input: $input) {
    staffUser { id email name role active createdAt lastLoginAt } errors { field code message }
  }
}"""
UPDATE_STAFF = """mutation($input: UpdateStaffUserInput!) {
  updateStaffUser(input: $input) { staffUser { id name role active } errors { field code message } }
}"""
DEACTIVATE_STAFF = """mutation($input: DeactivateStaffUserInput!) {
  deactivateStaffUser(input: $input) { staffUser { id active } errors { field code message } }
}"""
STAFF_USERS = """query($first: Int, $after: String) {
  staffUsers(first: $first, after: $after) {
    totalCount edges { node { id email name role active } } pageInfo { hasNextPage endCursor }
  }
}"""


def add_staff(
    owner: GraphQLClient, role: str, *, email: str | None = None, name: str | None = None
) -> dict[str, Any]:
    values = {
        "email": email or f"{role.lower()}-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "role": role,
        "name": name,
    }
    payload = owner.data(CREATE_STAFF, {"input": values})["createStaffUser"]
    assert payload["errors"] == [], payload["errors"]
    user: dict[str, Any] = payload["staffUser"]
    return user


def session_of(client: TestClient, tenant: TenantFixture, email: str) -> GraphQLClient:
    token = login(client, tenant=tenant.slug, email=email, password=PASSWORD)
    return GraphQLClient(client, {"Authorization": f"Bearer {token}"})


def update(owner: GraphQLClient, staff_user_id: str, **values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = owner.data(UPDATE_STAFF, {"input": {"staffUserId": staff_user_id, **values}})[
        "updateStaffUser"
    ]
    return payload


def deactivate(owner: GraphQLClient, staff_user_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = owner.data(DEACTIVATE_STAFF, {"input": {"staffUserId": staff_user_id}})[
        "deactivateStaffUser"
    ]
    return payload


def refused(api: GraphQLClient) -> bool:
    """The session is gone: a query that checks nothing but the session is UNAUTHENTICATED."""
    body = api("{ guests(first: 1) { totalCount } }")
    return error_codes(body) == ["UNAUTHENTICATED"] and body["data"] is None


# --- what each role may do -------------------------------------------------------------------------


@dataclass
class Company:
    tenant: TenantFixture
    owner: GraphQLClient
    sessions: dict[str, GraphQLClient]
    property_id: str


@dataclass(frozen=True)
class Operation:
    document: str
    variables: Callable[[Company], dict[str, Any]]
    root: str


def _guest(company: Company) -> str:
    return str(
        create_guest(company.owner, name="Anna Hemm", email=f"{uuid.uuid4().hex[:8]}@example.com")["id"]
    )


def _booking(company: Company) -> str:
    return str(create_booking(company.owner, property_id=company.property_id, guest_id=_guest(company))["id"])


def _mutation(name: str, selection: str = "errors { field code message }") -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} }} }}"


def _input(build: Callable[[Company], dict[str, Any]]) -> Callable[[Company], dict[str, Any]]:
    return lambda company: {"input": build(company)}


OPERATIONS: dict[str, Operation] = {
    # guests and bookings: every role
    "guests": Operation("{ guests(first: 5) { totalCount } }", lambda _: {}, "guests"),
    "createGuest": Operation(
        _mutation("createGuest"), _input(lambda _: {"name": "Ben", "email": "ben@example.com"}), "createGuest"
    ),
    "updateGuest": Operation(
        _mutation("updateGuest"), _input(lambda c: {"guestId": _guest(c), "name": "Anna B."}), "updateGuest"
    ),
    "createBooking": Operation(
        _mutation("createBooking"),
        _input(
            lambda c: {
                "propertyId": c.property_id,
                "guestId": _guest(c),
                "checkIn": iso(AHEAD),
                "checkOut": iso(AHEAD + 3),
                "adults": 2,
                "amount": "300.00",
                "currency": "USD",
            }
        ),
        "createBooking",
    ),
    "recordPayment": Operation(
        _mutation("recordPayment"),
        _input(lambda c: {"bookingId": _booking(c), "amount": "50.00", "currency": "USD", "method": "card"}),
        "recordPayment",
    ),
    "cancelBooking": Operation(
        _mutation("cancelBooking"), _input(lambda c: {"bookingId": _booking(c)}), "cancelBooking"
    ),
    # privacy, catalogue and settings: owners and managers
    "eraseGuest": Operation(
        _mutation("eraseGuest"),
        _input(lambda c: {"guestId": _guest(c), "reason": "asked by email"}),
        "eraseGuest",
    ),
    "mergeGuests": Operation(
        _mutation("mergeGuests"),
        _input(lambda c: {"sourceGuestId": _guest(c), "targetGuestId": _guest(c)}),
        "mergeGuests",
    ),
    "createProperty": Operation(
        _mutation("createProperty"),
        _input(lambda _: {"name": "Villa Nueva", "timezone": "UTC"}),
        "createProperty",
    ),
    "createService": Operation(
        _mutation("createService"),
        _input(lambda _: {"name": "Kayak tour", "price": "40.00", "currency": "USD"}),
        "createService",
    ),
    "settings": Operation("{ settings { defaultLanguage } }", lambda _: {}, "settings"),
    "updateSettings": Operation(
        _mutation("updateSettings"), _input(lambda _: {"defaultLanguage": "en"}), "updateSettings"
    ),
    # users and keys: owners only
    "staffUsers": Operation("{ staffUsers { totalCount } }", lambda _: {}, "staffUsers"),
    "createStaffUser": Operation(
        _mutation("createStaffUser"),
        _input(
            lambda _: {
                "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
                "password": PASSWORD,
                "role": "AGENT",
            }
        ),
        "createStaffUser",
    ),
    "updateStaffUser": Operation(
        _mutation("updateStaffUser"),
        _input(lambda c: {"staffUserId": add_staff(c.owner, "AGENT")["id"], "name": "Renamed"}),
        "updateStaffUser",
    ),
    "deactivateStaffUser": Operation(
        _mutation("deactivateStaffUser"),
        _input(lambda c: {"staffUserId": add_staff(c.owner, "AGENT")["id"]}),
        "deactivateStaffUser",
    ),
    "apiKeys": Operation("{ apiKeys { totalCount } }", lambda _: {}, "apiKeys"),
    "createApiKey": Operation(
        _mutation("createApiKey"),
        _input(lambda _: {"name": "channel manager", "scopes": ["guests:read"]}),
        "createApiKey",
    ),
    "revokeApiKey": Operation(
        _mutation("revokeApiKey"),
        _input(
            lambda c: {
                "apiKeyId": c.owner.data(
                    _mutation("createApiKey", "apiKey { id }"),
                    {"input": {"name": "k", "scopes": ["guests:read"]}},
                )["createApiKey"]["apiKey"]["id"]
            }
        ),
        "revokeApiKey",
    ),
}
EVERY_ROLE = {"owner", "manager", "agent"}
MANAGERS = {"owner", "manager"}
ALLOWED = {
    **{
        name: EVERY_ROLE
        for name in ("guests", "createGuest", "updateGuest", "createBooking", "recordPayment")
    },
    "cancelBooking": EVERY_ROLE,
    **{
        name: MANAGERS
        for name in (
            "eraseGuest",
            "mergeGuests",
            "createProperty",
            "createService",
            "settings",
            "updateSettings",
        )
    },
    **{
        name: {"owner"}
        for name in (
            "staffUsers",
            "createStaffUser",
            "updateStaffUser",
            "deactivateStaffUser",
            "apiKeys",
            "createApiKey",
            "revokeApiKey",
        )
    },
}


@pytest.fixture(scope="module")
def company(client: TestClient, make_tenant: Callable[..., TenantFixture]) -> Company:
    tenant = make_tenant("roles")
    sessions = {"owner": tenant.api}
    for role in ("manager", "agent"):
        user = add_staff(tenant.api, role.upper())
        sessions[role] = session_of(client, tenant, user["email"])
    prop = create_property(tenant.api)
    return Company(tenant=tenant, owner=tenant.api, sessions=sessions, property_id=prop["id"])


def test_every_operation_checked_here_has_an_expectation() -> None:
    assert set(OPERATIONS) == set(ALLOWED)


@pytest.mark.parametrize("role", ["owner", "manager", "agent"])
@pytest.mark.parametrize("operation", OPERATIONS.keys())
def test_each_role_is_let_in_or_refused_as_promised(company: Company, role: str, operation: str) -> None:
    op = OPERATIONS[operation]
    body = company.sessions[role](op.document, op.variables(company))
    if role in ALLOWED[operation]:
        assert not body.get("errors"), body
        result = body["data"][op.root]
        if isinstance(result, dict) and "errors" in result:
            assert result["errors"] == [], result
    else:
        assert error_codes(body) == ["FORBIDDEN"], body
        assert f"The {role} role may not do this." in body["errors"][0]["message"]
        assert body["data"] is None


def test_an_agent_refused_erasure_leaves_the_guest_as_it_was(company: Company) -> None:
    guest_id = _guest(company)
    body = company.sessions["agent"](
        OPERATIONS["eraseGuest"].document, {"input": {"guestId": guest_id, "reason": "x"}}
    )
    assert error_codes(body) == ["FORBIDDEN"]
    guest = company.owner.data("query($id: ID!) { guest(id: $id) { name erasedAt } }", {"id": guest_id})[
        "guest"
    ]
    assert guest == {"name": "Anna Hemm", "erasedAt": None}


def test_each_role_sees_itself(company: Company) -> None:
    for role, api in company.sessions.items():
        assert api.data(ME)["me"]["role"] == role.upper()


# --- managing staff users --------------------------------------------------------------------------


def test_owner_creates_a_user_who_can_log_in_with_their_role(
    tenant: TenantFixture, client: TestClient
) -> None:
    user = add_staff(tenant.api, "MANAGER", email="Maria.Manager@Example.com", name="Maria")
    assert user["email"] == "maria.manager@example.com"
    assert (user["name"], user["role"], user["active"], user["lastLoginAt"]) == (
        "Maria",
        "MANAGER",
        True,
        None,
    )
    me = session_of(client, tenant, "maria.manager@example.com").data(ME)["me"]
    assert (me["id"], me["role"]) == (user["id"], "MANAGER")


def test_staff_users_are_listed_by_email_page_by_page(tenant: TenantFixture) -> None:
    for prefix in ("delta", "alpha", "charlie", "bravo"):
        add_staff(tenant.api, "AGENT", email=f"{prefix}@example.com")
    seen: list[str] = []
    after = None
    while True:
        page = tenant.api.data(STAFF_USERS, {"first": 2, "after": after})["staffUsers"]
        assert page["totalCount"] == 5
        seen += [edge["node"]["email"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(
        [
            "alpha@example.com",
            "bravo@example.com",
            "charlie@example.com",
            "delta@example.com",
            tenant.owner_email,
        ]
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"email": "not-an-email"}, [("email", "INVALID")]),
        ({"email": "  "}, [("email", "REQUIRED")]),
        ({"password": "short"}, [("password", "INVALID")]),
        ({"name": "x" * 201}, [("name", "TOO_LONG")]),
    ],
)
def test_bad_staff_user_input_is_refused_and_nothing_is_written(
    tenant: TenantFixture, values: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    full = {"email": "new@example.com", "password": PASSWORD, "role": "AGENT", **values}
    payload = tenant.api.data(CREATE_STAFF, {"input": full})["createStaffUser"]
    assert payload["staffUser"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == expected
    assert tenant.api.data(STAFF_USERS)["staffUsers"]["totalCount"] == 1


def test_an_email_is_taken_once_per_company(tenant: TenantFixture) -> None:
    payload = tenant.api.data(
        CREATE_STAFF, {"input": {"email": tenant.owner_email.upper(), "password": PASSWORD, "role": "AGENT"}}
    )["createStaffUser"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("email", "DUPLICATE")]


def test_renaming_keeps_the_users_sessions(tenant: TenantFixture, client: TestClient) -> None:
    user = add_staff(tenant.api, "AGENT", name="Old name")
    agent = session_of(client, tenant, user["email"])
    payload = update(tenant.api, user["id"], name="New name")
    assert payload["errors"] == [] and payload["staffUser"]["name"] == "New name"
    assert agent.data(ME)["me"]["role"] == "AGENT"
    assert update(tenant.api, user["id"], name=None)["staffUser"]["name"] is None


def test_deactivation_ends_every_session_of_the_user_at_once(
    tenant: TenantFixture, client: TestClient
) -> None:
    user = add_staff(tenant.api, "MANAGER")
    first, second = session_of(client, tenant, user["email"]), session_of(client, tenant, user["email"])
    other = add_staff(tenant.api, "AGENT")
    bystander = session_of(client, tenant, other["email"])
    payload = deactivate(tenant.api, user["id"])
    assert payload["errors"] == [] and payload["staffUser"]["active"] is False
    assert refused(first) and refused(second)
    assert error_codes(first("{ guests { totalCount } }")) == ["UNAUTHENTICATED"]
    # They cannot log back in; nobody else is touched.
    body = GraphQLClient(client)(LOGIN, {"tenant": tenant.slug, "email": user["email"], "password": PASSWORD})
    assert body["data"]["login"]["token"] is None
    assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert bystander.data(ME)["me"]["email"] == other["email"]
    listed = {
        e["node"]["email"]: e["node"]["active"] for e in tenant.api.data(STAFF_USERS)["staffUsers"]["edges"]
    }
    assert listed[user["email"]] is False and listed[other["email"]] is True
    # Deactivating again changes nothing.
    assert deactivate(tenant.api, user["id"])["staffUser"]["active"] is False


@pytest.mark.parametrize(
    ("before", "after"), [("MANAGER", "AGENT"), ("AGENT", "MANAGER"), ("AGENT", "OWNER")]
)
def test_a_role_change_ends_the_users_sessions_and_applies_from_the_next_login(
    tenant: TenantFixture, client: TestClient, before: str, after: str
) -> None:
    user = add_staff(tenant.api, before)
    old = session_of(client, tenant, user["email"])
    assert old.data(ME)["me"]["role"] == before
    payload = update(tenant.api, user["id"], role=after)
    assert payload["errors"] == [] and payload["staffUser"]["role"] == after
    assert refused(old)
    assert session_of(client, tenant, user["email"]).data(ME)["me"]["role"] == after


def test_a_demoted_manager_can_no_longer_erase(tenant: TenantFixture, client: TestClient) -> None:
    user = add_staff(tenant.api, "MANAGER")
    update(tenant.api, user["id"], role="AGENT")
    agent = session_of(client, tenant, user["email"])
    guest_id = create_guest(tenant.api)["id"]
    body = agent(OPERATIONS["eraseGuest"].document, {"input": {"guestId": guest_id, "reason": "x"}})
    assert error_codes(body) == ["FORBIDDEN"]


def test_the_last_active_owner_can_neither_leave_nor_step_down(tenant: TenantFixture) -> None:
    me = tenant.api.data(ME)["me"]
    demoted = update(tenant.api, me["id"], role="MANAGER")
    assert demoted["staffUser"] is None
    assert [(e["field"], e["code"]) for e in demoted["errors"]] == [("role", "INVALID_STATE")]
    left = deactivate(tenant.api, me["id"])
    assert left["staffUser"] is None
    assert [(e["field"], e["code"]) for e in left["errors"]] == [("staffUserId", "INVALID_STATE")]
    # Still the owner, still logged in.
    assert tenant.api.data(ME)["me"]["role"] == "OWNER"
    # A deactivated owner does not count.
    spare = add_staff(tenant.api, "OWNER")
    assert deactivate(tenant.api, spare["id"])["errors"] == []
    assert update(tenant.api, me["id"], role="AGENT")["errors"][0]["code"] == "INVALID_STATE"


def test_an_owner_may_step_down_when_another_owner_remains(tenant: TenantFixture, client: TestClient) -> None:
    other = add_staff(tenant.api, "OWNER")
    successor = session_of(client, tenant, other["email"])
    me = tenant.api.data(ME)["me"]
    assert update(tenant.api, me["id"], role="MANAGER")["errors"] == []
    assert refused(tenant.api)  # their own session ended with the change
    # The remaining owner is now the last one.
    assert deactivate(successor, other["id"])["errors"][0]["code"] == "INVALID_STATE"
    assert deactivate(successor, me["id"])["errors"] == []


def test_staff_changes_are_audited(tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    user = add_staff(tenant.api, "AGENT")
    update(tenant.api, user["id"], role="MANAGER", name="Promoted")
    deactivate(tenant.api, user["id"])
    pk = decode_id("StaffUser", user["id"])
    with sync_engine.connect() as connection:
        events = connection.execute(
            sa.text(
                f'SELECT action, actor_kind, data FROM "{tenant.schema_name}".audit_event '
                "WHERE entity = 'staff_user' AND entity_id = :id ORDER BY created_at, action"
            ),
            {"id": pk},
        ).all()
    assert [(e.action, e.actor_kind) for e in events] == [
        ("staff_user.created", "staff"),
        ("staff_user.updated", "staff"),
        ("staff_user.deactivated", "staff"),
    ]
    assert events[1].data == {"fields": ["name", "role"], "role": "manager"}


def test_users_of_another_company_are_not_found(
    make_tenant: Callable[..., TenantFixture], client: TestClient
) -> None:
    a, b = make_tenant("ra"), make_tenant("rb")
    theirs = add_staff(b.api, "MANAGER")
    their_session = session_of(client, b, theirs["email"])
    for payload in (update(a.api, theirs["id"], role="AGENT"), deactivate(a.api, theirs["id"])):
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [("staffUserId", "NOT_FOUND")]
    assert their_session.data(ME)["me"]["role"] == "MANAGER"
    assert theirs["email"] not in str(a.api.data(STAFF_USERS))


def test_a_null_role_is_refused_as_required(tenant: TenantFixture) -> None:
    me = tenant.api.data(ME)["me"]
    payload = update(tenant.api, me["id"], role=None)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("role", "REQUIRED")]
    assert tenant.api.data(ME)["me"]["role"] == "OWNER"


def test_logout_takes_the_session_out_of_the_users_index(
    tenant: TenantFixture, client: TestClient, settings: Settings
) -> None:
    user = add_staff(tenant.api, "AGENT")
    agent = session_of(client, tenant, user["email"])
    store = redis.Redis.from_url(str(settings.redis_url))
    index = [
        key
        for key in store.scan_iter(f"{settings.redis_namespace}:user_sessions:*")
        if str(decode_id("StaffUser", user["id"])) in key.decode()
    ]
    assert len(index) == 1 and store.scard(index[0]) == 1
    agent.data("mutation { logout }")
    assert store.scard(index[0]) == 0


# --- races -----------------------------------------------------------------------------------------


def _race(
    settings: Settings, servers: Servers, requests: list[tuple[dict[str, str], str, dict[str, Any]]]
) -> list[Any]:
    """Send `requests` (headers, document, variables) to a fresh app all at once."""
    app = create_app(settings, database_url=servers.database_url, redis_url=servers.redis_url)

    async def run() -> list[Any]:
        resources = app.state.resources
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            ) as http:
                responses = await asyncio.gather(
                    *(
                        http.post("/graphql", json={"query": doc, "variables": variables}, headers=headers)
                        for headers, doc, variables in requests
                    )
                )
            return [response.json() for response in responses]
        finally:
            await resources.redis.aclose()
            await resources.engine.dispose()

    return asyncio.run(run())


def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    tenant: TenantFixture, client: TestClient, settings: Settings, servers: Servers
) -> None:
    other = add_staff(tenant.api, "OWNER")
    successor = session_of(client, tenant, other["email"])
    me = tenant.api.data(ME)["me"]
    bodies = _race(
        settings,
        servers,
        [
            (tenant.api.headers, UPDATE_STAFF, {"input": {"staffUserId": other["id"], "role": "AGENT"}}),
            (successor.headers, UPDATE_STAFF, {"input": {"staffUserId": me["id"], "role": "AGENT"}}),
        ],
    )
    outcomes = sorted(
        "ok"
        if body["data"]["updateStaffUser"]["errors"] == []
        else body["data"]["updateStaffUser"]["errors"][0]["code"]
        for body in bodies
    )
    assert outcomes == ["INVALID_STATE", "ok"], bodies
    with_new_session = (
        session_of(client, tenant, other["email"])
        if bodies[1]["data"]["updateStaffUser"]["errors"] == []
        else None
    )
    owners = [
        edge["node"]
        for edge in (with_new_session or tenant.api).data(STAFF_USERS)["staffUsers"]["edges"]
        if edge["node"]["role"] == "OWNER" and edge["node"]["active"]
    ]
    assert len(owners) == 1


def test_a_login_racing_a_deactivation_never_keeps_a_session(
    tenant: TenantFixture, settings: Settings, servers: Servers, client: TestClient
) -> None:
    user = add_staff(tenant.api, "AGENT")
    login_request: tuple[dict[str, str], str, dict[str, Any]] = (
        {},
        LOGIN,
        {"tenant": tenant.slug, "email": user["email"], "password": PASSWORD},
    )
    deactivation = (tenant.api.headers, DEACTIVATE_STAFF, {"input": {"staffUserId": user["id"]}})
    bodies = _race(settings, servers, [login_request] * 3 + [deactivation] + [login_request] * 3)
    assert bodies[3]["data"]["deactivateStaffUser"]["errors"] == []
    tokens = [body["data"]["login"]["token"] for body in bodies[:3] + bodies[4:]]
    for token in tokens:
        if token is not None:
            assert refused(GraphQLClient(client, {"Authorization": f"Bearer {token}"}))


# --- login rate limits -----------------------------------------------------------------------------


def _attempt(client: TestClient, tenant: str, email: str, password: str, **headers: str) -> dict[str, Any]:
    return GraphQLClient(client, headers)(LOGIN, {"tenant": tenant, "email": email, "password": password})


def test_brute_force_on_one_account_is_rate_limited(
    tenant: TenantFixture, strict: Callable[..., TestClient]
) -> None:
    client = strict(login_limit_per_account=3, login_limit_per_ip=100)
    for _ in range(3):
        body = _attempt(client, tenant.slug, tenant.owner_email, "wrong-password")
        assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    body = _attempt(client, tenant.slug, tenant.owner_email, "wrong-password")
    assert error_codes(body) == ["RATE_LIMITED"] and body["data"] is None
    assert 0 < body["errors"][0]["extensions"]["retryAfter"] <= 3600
    # Even the right password waits now, and a differently written email is the same account.
    assert error_codes(_attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD)) == ["RATE_LIMITED"]
    assert error_codes(_attempt(client, tenant.slug, f" {tenant.owner_email.upper()}", OWNER_PASSWORD)) == [
        "RATE_LIMITED"
    ]
    # Another account of the same company is not held up.
    user = add_staff(tenant.api, "AGENT")
    assert _attempt(client, tenant.slug, user["email"], PASSWORD)["data"]["login"]["token"]


def test_guessing_at_an_unknown_company_is_limited_alike(strict: Callable[..., TestClient]) -> None:
    client = strict(login_limit_per_account=2, login_limit_per_ip=100)
    codes = [error_codes(_attempt(client, "no-such-company", "a@example.com", "x")) for _ in range(3)]
    assert codes == [[], [], ["RATE_LIMITED"]]


def test_many_accounts_tried_from_one_address_are_rate_limited(
    tenant: TenantFixture, strict: Callable[..., TestClient]
) -> None:
    client = strict(login_limit_per_account=100, login_limit_per_ip=4, trusted_proxy_hops=1)
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(4):
        body = _attempt(client, tenant.slug, f"user{n}@example.com", "guess", **attacker)
        assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    body = _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **attacker)
    assert error_codes(body) == ["RATE_LIMITED"]
    # Another address logs in.
    assert _attempt(
        client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **{"X-Forwarded-For": "198.51.100.2"}
    )["data"]["login"]["token"]


def test_a_stranger_guessing_cannot_lock_the_owner_out(
    tenant: TenantFixture, strict: Callable[..., TestClient]
) -> None:
    client = strict(login_limit_per_account=3, login_limit_per_ip=100, trusted_proxy_hops=1)
    stranger = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(3):
        body = _attempt(client, tenant.slug, tenant.owner_email, "wrong-password", **stranger)
        assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert error_codes(_attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **stranger)) == [
        "RATE_LIMITED"
    ]
    # The owner, from their own address, gets in; the guessing address stays limited.
    owner = {"X-Forwarded-For": "198.51.100.2"}
    assert _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **owner)["data"]["login"][
        "token"
    ]
    body = _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **stranger)
    assert error_codes(body) == ["RATE_LIMITED"] and body["errors"][0]["extensions"]["retryAfter"] > 0


def test_guessing_from_many_addresses_slows_strangers_but_not_the_owners_address(
    tenant: TenantFixture, strict: Callable[..., TestClient]
) -> None:
    client = strict(
        login_limit_per_account=3, login_slowdown_after=2, login_slowdown_max_seconds=60, trusted_proxy_hops=1
    )
    home = {"X-Forwarded-For": "198.51.100.2"}
    assert _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **home)["data"]["login"]["token"]
    answers = [
        _attempt(client, tenant.slug, tenant.owner_email, "guess", **{"X-Forwarded-For": f"203.0.113.{n}"})
        for n in range(8)
    ]
    # Each stranger tried once, far within its own limit: the account-wide slowdown held them.
    slowed = [answer for answer in answers if error_codes(answer) == ["RATE_LIMITED"]]
    assert slowed, answers
    assert all(0 < answer["errors"][0]["extensions"]["retryAfter"] <= 60 for answer in slowed)
    # The address the owner logs in from passes at once.
    assert _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **home)["data"]["login"]["token"]


def test_the_slowdown_is_never_a_lock(tenant: TenantFixture, strict: Callable[..., TestClient]) -> None:
    client = strict(
        login_limit_per_account=3, login_slowdown_after=1, login_slowdown_max_seconds=1, trusted_proxy_hops=1
    )
    for n in range(4):
        _attempt(client, tenant.slug, tenant.owner_email, "guess", **{"X-Forwarded-For": f"203.0.113.{n}"})
    # Even from an address never seen before, the owner waits at most the slowdown's cap.
    travelling = {"X-Forwarded-For": "192.0.2.50"}
    body = _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **travelling)
    if error_codes(body) == ["RATE_LIMITED"]:
        retry_after = body["errors"][0]["extensions"]["retryAfter"]
        assert retry_after <= 1
        time.sleep(retry_after + 0.1)
        body = _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD, **travelling)
    assert body["data"]["login"]["token"]


def test_successful_logins_do_not_use_up_the_limits(
    tenant: TenantFixture, strict: Callable[..., TestClient]
) -> None:
    client = strict(login_limit_per_account=2, login_limit_per_ip=3)
    for _ in range(5):
        assert _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD)["data"]["login"]["token"]
    # A success also clears the account's earlier failures (two would have used up its limit).
    assert _attempt(client, tenant.slug, tenant.owner_email, "wrong")["data"]["login"]["token"] is None
    assert _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD)["data"]["login"]["token"]
    assert _attempt(client, tenant.slug, tenant.owner_email, "wrong")["data"]["login"]["token"] is None
    assert _attempt(client, tenant.slug, tenant.owner_email, OWNER_PASSWORD)["data"]["login"]["token"]


def test_rate_limit_counters_hold_no_email_or_company(
    tenant: TenantFixture, strict: Callable[..., TestClient], settings: Settings
) -> None:
    client = strict(login_limit_per_account=5, login_limit_per_ip=50)
    _attempt(client, tenant.slug, tenant.owner_email, "wrong")
    namespace = client.app.state.resources.settings.redis_namespace  # type: ignore[attr-defined]
    store = redis.Redis.from_url(str(settings.redis_url))
    keys = [key.decode() for key in store.scan_iter(f"{namespace}:*")]
    assert len(keys) == 3  # this account from this address, this address, this account
    assert all(tenant.slug not in key and "owner" not in key and "@" not in key for key in keys)
