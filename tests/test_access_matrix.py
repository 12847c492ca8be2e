"""Every caller in its lane: each kind of credential (staff of each role, guest account, portal
link, partner key with each scope, public form, none — and each of those from the other company)
runs every query and mutation of the schema, and is let in or refused exactly as the table below
says. The operations are generated from the schema, so a new field without a rule here fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    get_named_type,
)
from starlette.testclient import TestClient

from hospes.schema.build import build_schema
from hospes.settings import Settings
from tests.conftest import OWNER_PASSWORD, GraphQLClient, TenantFixture, error_codes, login
from tests.dates import AHEAD, iso
from tests.factories import create_guest, create_property
from tests.helpers_accounts import registered_session

SCOPES = (
    "guests:read",
    "guests:write",
    "bookings:read",
    "bookings:write",
    "messages:read",
    "messages:send",
    "inquiries:read",
    "inquiries:write",
)
STAFF = {"owner", "manager", "agent"}
MANAGERS = {"owner", "manager"}
EVERYONE = {"owner", "manager", "agent", "account", "portal", "public", "none"} | {f"key:{s}" for s in SCOPES}
SESSIONS = STAFF | {"account"}

# Who may call what: the product's promise, kept here independently of the code.
ALLOWED: dict[str, set[str]] = {
    # staff console
    "me": STAFF,
    "guest": STAFF | {"key:guests:read"},
    "guests": STAFF | {"key:guests:read"},
    "booking": STAFF | {"key:bookings:read"},
    "properties": STAFF | {"key:bookings:read"},
    "services": STAFF | {"key:bookings:read"},
    "settings": MANAGERS,
    "createProperty": MANAGERS,
    "createService": MANAGERS,
    "createGuest": STAFF | {"key:guests:write"},
    "updateGuest": STAFF | {"key:guests:write"},
    "setGuestConsent": STAFF | {"key:guests:write"},
    "createBooking": STAFF | {"key:bookings:write"},
    "importOtaBooking": STAFF | {"key:bookings:write"},
    "cancelBooking": STAFF | {"key:bookings:write"},
    "recordPayment": STAFF | {"key:bookings:write"},
    "createServiceRequest": STAFF | {"key:bookings:write"},
    "mergeGuests": MANAGERS,
    "eraseGuest": MANAGERS,
    "updateSettings": MANAGERS,
    # messaging
    "sendMessage": STAFF | {"key:messages:send"},
    "previewMessage": STAFF,
    "messageTemplates": STAFF,
    "upsertMessageTemplate": MANAGERS,
    "messagingSettings": {"owner"},
    "updateMessagingSettings": {"owner"},
    # inquiries: every staff role works them; partners need the inquiries scopes
    "inquiry": STAFF | {"key:inquiries:read"},
    "inquiries": STAFF | {"key:inquiries:read"},
    "inquiryStageCounts": STAFF | {"key:inquiries:read"},
    "createInquiry": STAFF | {"key:inquiries:write"},
    "updateInquiry": STAFF | {"key:inquiries:write"},
    "assignInquiry": STAFF | {"key:inquiries:write"},
    "markInquiryLost": STAFF | {"key:inquiries:write"},
    "reopenInquiry": STAFF | {"key:inquiries:write"},
    "confirmInquiry": STAFF | {"key:inquiries:write"},
    # inquiries: what we send about them
    "replyToInquiry": STAFF | {"key:inquiries:write"},
    "quoteInquiry": STAFF | {"key:inquiries:write"},
    "scheduleInquiryReminders": STAFF | {"key:inquiries:write"},
    "cancelInquiryReminders": STAFF | {"key:inquiries:write"},
    # staff users and partner keys: owners only
    "staffUsers": {"owner"},
    "createStaffUser": {"owner"},
    "updateStaffUser": {"owner"},
    "deactivateStaffUser": {"owner"},
    "apiKeys": {"owner"},
    "createApiKey": {"owner"},
    "revokeApiKey": {"owner"},
    # portal links
    "issuePortalLink": STAFF,
    "revokePortalLink": STAFF,
    "portal": {"portal"},
    "portalRequestService": {"portal"},
    # guest accounts
    "account": {"account"},
    "accountUpdateProfile": {"account"},
    "accountChangePassword": {"account"},
    "accountRequestEmailChange": {"account"},
    "accountLogout": {"account"},
    "disableGuestAccount": STAFF,
    # no credential needed (the company named by X-Tenant where it matters)
    "login": EVERYONE,
    "logout": SESSIONS,
    "submitBookingForm": {"public", "account"},
    "submitContactForm": {"public", "account"},
    "accountRegister": {"public"},
    "accountVerifyEmail": {"public"},
    "accountLogin": {"public"},
    "accountRequestPasswordReset": {"public"},
    "accountResetPassword": {"public"},
    "accountConfirmEmailChange": {"public", "account"},
}
# Ending a session: run last for each credential.
SESSION_ENDING = {"logout", "accountLogout"}


def _value(type_: Any) -> Any:
    """A well-typed placeholder for a required argument (so validation passes and the
    permission check is what decides)."""
    if isinstance(type_, GraphQLNonNull):
        return _value(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [_value(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: _value(field.type)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    assert isinstance(type_, GraphQLScalarType)
    return {
        "ID": "not-an-id",
        "String": "x@example.com",
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "Date": iso(AHEAD + 1),
        "DateTime": f"{iso(AHEAD + 1)}T10:00:00+00:00",
        "Decimal": "1.00",
    }.get(type_.name, "x")


@dataclass(frozen=True)
class Operation:
    name: str
    document: str
    variables: dict[str, Any]


def operations() -> list[Operation]:
    schema = build_schema(Settings())._schema
    found: list[Operation] = []
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            required = {arg: a for arg, a in field.args.items() if isinstance(a.type, GraphQLNonNull)}
            params = ", ".join(f"${arg}: {a.type}" for arg, a in required.items())
            args = ", ".join(f"{arg}: ${arg}" for arg in required)
            selection = "" if isinstance(get_named_type(field.type), GraphQLScalarType) else " { __typename }"
            head = f"{kind}({params})" if params else kind
            call = f"{name}({args})" if args else name
            document = f"{head} {{ {call}{selection} }}"
            found.append(Operation(name, document, {arg: _value(a.type) for arg, a in required.items()}))
    return found


OPERATIONS = operations()


def test_every_operation_has_a_rule() -> None:
    assert {op.name for op in OPERATIONS} - set(ALLOWED) == set(), "add the new operations to ALLOWED"
    assert set(ALLOWED) - {op.name for op in OPERATIONS} == set(), (
        "ALLOWED names operations that do not exist"
    )


class TenantSetup:
    """One company with a caller of every kind."""

    def __init__(self, client: TestClient, tenant: TenantFixture, engine: sa.Engine) -> None:
        self.client = client
        self.tenant = tenant
        self.engine = engine  # to read the link registration mails
        self.headers: dict[str, dict[str, str]] = {}
        self.logins: dict[str, str] = {"owner": tenant.owner_email}

    def build(self) -> TenantSetup:
        api = self.tenant.api
        for role in ("manager", "agent"):
            email = f"{role}-{uuid.uuid4().hex[:6]}@{self.tenant.slug}.test"
            created = api.data(
                "mutation($i: CreateStaffUserInput!) { createStaffUser(input: $i) { errors { code } } }",
                {
                    "i": {
                        "email": email,
                        "password": OWNER_PASSWORD,
                        "name": role.title(),
                        "role": role.upper(),
                    }
                },
            )
            assert created["createStaffUser"]["errors"] == []
            self.logins[role] = email
            self.headers[role] = self.bearer(
                login(self.client, tenant=self.tenant.slug, email=email, password=OWNER_PASSWORD)
            )
        self.headers["owner"] = dict(api.headers)
        prop = create_property(api)
        guest = create_guest(api)
        booking = api.data(
            "mutation($i: CreateBookingInput!) { createBooking(input: $i) { portalUrl errors { code } } }",
            {
                "i": {
                    "propertyId": prop["id"],
                    "guestId": guest["id"],
                    "checkIn": iso(AHEAD),
                    "checkOut": iso(AHEAD + 3),
                    "amount": "100.00",
                    "currency": "USD",
                }
            },
        )["createBooking"]
        self.headers["portal"] = {"X-Portal-Token": booking["portalUrl"].rsplit("/", 1)[-1]}
        public = {"X-Tenant": self.tenant.slug}
        self.logins["account"] = f"guest-{uuid.uuid4().hex[:6]}@example.com"
        account = registered_session(
            self.client,
            slug=self.tenant.slug,
            schema_name=self.tenant.schema_name,
            engine=self.engine,
            email=self.logins["account"],
            password=OWNER_PASSWORD,
            name="Guest",
        )
        self.headers["account"] = self.bearer(account)
        for scope in SCOPES:
            key = api.data(
                "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key errors { code } } }",
                {"i": {"name": scope, "scopes": [scope]}},
            )["createApiKey"]["key"]
            self.headers[f"key:{scope}"] = {"X-Api-Key": key}
        self.headers["public"] = public
        self.headers["none"] = {}
        return self

    def fresh(self, caller: str) -> dict[str, str]:
        """A new session for a session-holding caller (ending one must not spoil the next check)."""
        if caller not in self.logins:
            return self.headers[caller]
        if caller == "account":
            token = GraphQLClient(self.client, {"X-Tenant": self.tenant.slug}).data(
                "mutation($i: AccountLoginInput!) { accountLogin(input: $i) { token } }",
                {"i": {"email": self.logins["account"], "password": OWNER_PASSWORD}},
            )["accountLogin"]["token"]
        else:
            token = login(
                self.client, tenant=self.tenant.slug, email=self.logins[caller], password=OWNER_PASSWORD
            )
        return self.bearer(token)

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def companies(
    client: TestClient, make_tenant: Any, sync_engine: sa.Engine
) -> tuple[TenantSetup, TenantSetup]:
    return (
        TenantSetup(client, make_tenant("mx-a"), sync_engine).build(),
        TenantSetup(client, make_tenant("mx-b"), sync_engine).build(),
    )


DENIED = {"FORBIDDEN", "UNAUTHENTICATED"}


def outcome(body: dict[str, Any]) -> str:
    codes = set(error_codes(body))
    if codes & DENIED:
        assert len(codes & DENIED) == 1, body
        return "denied"
    return "allowed"


def ordered() -> Iterator[Operation]:
    yield from (op for op in OPERATIONS if op.name not in SESSION_ENDING)
    # Only one of them can end the session; the other is checked with a session already ended,
    # so it runs first in a way that proves its rule: accountLogout before logout.
    yield from sorted(
        (op for op in OPERATIONS if op.name in SESSION_ENDING), key=lambda op: op.name != "accountLogout"
    )


@pytest.mark.parametrize("caller", sorted(EVERYONE))
def test_each_caller_reaches_exactly_its_lane(
    companies: tuple[TenantSetup, TenantSetup], caller: str
) -> None:
    a, _ = companies
    api = GraphQLClient(a.client, a.headers[caller])
    wrong: list[str] = []
    for op in ordered():
        if op.name in SESSION_ENDING:
            api = GraphQLClient(a.client, a.fresh(caller))
        got = outcome(api(op.document, op.variables))
        expected = "allowed" if caller in ALLOWED[op.name] else "denied"
        if got != expected:
            wrong.append(f"{op.name}: {got}, expected {expected}")
    assert wrong == []


@pytest.mark.parametrize("caller", sorted(EVERYONE - {"public", "none"}))
def test_a_credential_sent_to_the_other_company_is_forbidden(
    companies: tuple[TenantSetup, TenantSetup], caller: str
) -> None:
    a, b = companies
    api = GraphQLClient(b.client, {**b.headers[caller], "X-Tenant": a.tenant.slug})
    allowed_anyway = {name for name, who in ALLOWED.items() if who == EVERYONE}  # login ignores credentials
    wrong = []
    for op in ordered():
        if op.name in allowed_anyway:
            continue
        body = api(op.document, op.variables)
        if set(error_codes(body)) & DENIED != {"FORBIDDEN"}:
            wrong.append(f"{op.name}: {error_codes(body)}")
    assert wrong == []
