"""Guest accounts: a guest registers or gets an account from the booking form, logs in, sees their
own bookings (also those made for others) and profile, resets or changes the password, changes
the email through a mailed link; staff see and disable accounts. Everything through the API."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.settings import Settings
from tests.conftest import GraphQLClient, TenantFixture, error_codes
from tests.dates import AHEAD, iso
from tests.factories import create_booking, create_guest, create_property
from tests.helpers_accounts import REGISTER, VERIFY, link_token, registered_session, verify_links
from tests.helpers_db import mails, statements_of

PASSWORD = "sunny-beach-house-42"
NEW_PASSWORD = "rainy-mountain-cabin-7"

LOGIN = """mutation($input: AccountLoginInput!) {
  accountLogin(input: $input) { token errors { field code message } }
}"""
ACCOUNT = """{ account {
  name email phone country language smsOptIn marketingEmailConsent
  bookings { id checkIn checkOut status stayGuest { name } property { name } }
} }"""
REQUEST_RESET = """mutation($input: AccountRequestPasswordResetInput!) {
  accountRequestPasswordReset(input: $input) { ok errors { field code message } }
}"""
RESET = """mutation($input: AccountResetPasswordInput!) {
  accountResetPassword(input: $input) { ok errors { field code message } }
}"""
CHANGE_PASSWORD = """mutation($input: AccountChangePasswordInput!) {
  accountChangePassword(input: $input) { token errors { field code message } }
}"""
UPDATE_PROFILE = """mutation($input: AccountUpdateProfileInput!) {
  accountUpdateProfile(input: $input) {
    account { name email phone country language smsOptIn marketingEmailConsent }
    errors { field code message }
  }
}"""
REQUEST_EMAIL_CHANGE = """mutation($input: AccountRequestEmailChangeInput!) {
  accountRequestEmailChange(input: $input) { ok errors { field code message } }
}"""
CONFIRM_EMAIL_CHANGE = """mutation($input: AccountConfirmEmailChangeInput!) {
  accountConfirmEmailChange(input: $input) { ok errors { field code message } }
}"""
DISABLE = """mutation($input: DisableGuestAccountInput!) {
  disableGuestAccount(input: $input) {
    guest { id hasAccount account { createdAt lastLoginAt disabledAt } } errors { field code message }
  }
}"""
BOOKING_FORM = """mutation($input: SubmitBookingFormInput!) {
  submitBookingForm(input: $input) { reference errors { field code message } }
}"""
SETTINGS = """mutation($input: UpdateSettingsInput!) {
  updateSettings(input: $input) { settings { accountCreation allowLoginAtCheckout } errors { code } }
}"""
STAFF_GUESTS = """{ guests(first: 50) { totalCount edges { node {
  id name email hasAccount account { createdAt lastLoginAt disabledAt }
  bookings { id stayGuest { name } }
} } } }"""


# --- helpers ------------------------------------------------------------------------------------


def site(client: TestClient, tenant: TenantFixture) -> GraphQLClient:
    """The company's public site: `X-Tenant` and nothing else."""
    return GraphQLClient(client, {"X-Tenant": tenant.slug})


def bearer(client: TestClient, token: str) -> GraphQLClient:
    return GraphQLClient(client, {"Authorization": f"Bearer {token}"})


def register(
    public: GraphQLClient,
    *,
    email: str = "anna@example.com",
    password: str = PASSWORD,
    name: str = "Anna Hemm",
) -> dict[str, Any]:
    payload: dict[str, Any] = public.data(
        REGISTER, {"input": {"email": email, "password": password, "name": name}}
    )["accountRegister"]
    return payload


def log_in(public: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    payload: dict[str, Any] = public.data(LOGIN, {"input": {"email": email, "password": password}})[
        "accountLogin"
    ]
    return payload


SessionMaker = Callable[..., GraphQLClient]


@pytest.fixture
def account_session(client: TestClient, sync_engine: sa.Engine) -> SessionMaker:
    """Opens a guest account the way the site does (register, follow the mailed link) and returns
    its logged-in caller; `on` names another app to do it on."""

    def open_session(tenant: TenantFixture, *, on: TestClient = client, **values: str) -> GraphQLClient:
        details = {"email": "anna@example.com", "password": PASSWORD, "name": "Anna Hemm", **values}
        token = registered_session(
            on, slug=tenant.slug, schema_name=tenant.schema_name, engine=sync_engine, **details
        )
        return bearer(on, token)

    return open_session


def set_account_creation(tenant: TenantFixture, creation: str, **more: Any) -> None:
    payload = tenant.api.data(SETTINGS, {"input": {"accountCreation": creation, **more}})["updateSettings"]
    assert payload["errors"] == [], payload


def submit_booking_form(api: GraphQLClient, property_id: str, **values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = api.data(
        BOOKING_FORM,
        {
            "input": {
                "propertyId": property_id,
                "checkIn": iso(AHEAD),
                "checkOut": iso(AHEAD + 4),
                "adults": 2,
                "guest": {"name": "Anna Hemm", "email": "anna@example.com"},
                **values,
            }
        },
    )["submitBookingForm"]
    return payload


def rows(engine: sa.Engine, tenant: TenantFixture, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql.replace("{schema}", f'"{tenant.schema_name}"')), params))


def account_tokens(engine: sa.Engine, tenant: TenantFixture) -> list[Any]:
    return rows(
        engine,
        tenant,
        "SELECT purpose, token_hash, new_email_enc, expires_at - created_at AS lifetime, used_at "
        "FROM {schema}.account_token ORDER BY created_at",
    )


def accounts_and_guests(engine: sa.Engine, tenant: TenantFixture) -> dict[str, list[Any]]:
    """The rows registration and verification may write."""
    return {
        table: rows(engine, tenant, f"SELECT * FROM {{schema}}.{table} ORDER BY id")
        for table in ("guest", "guest_account", "account_registration")
    }


def staff_guests(tenant: TenantFixture) -> list[dict[str, Any]]:
    return [edge["node"] for edge in tenant.api.data(STAFF_GUESTS)["guests"]["edges"]]


# --- register, prove the address, log in, see the account -------------------------------------------


ACCEPTED: dict[str, Any] = {"token": None, "errors": []}
INVALID_LINK = [
    {"field": "token", "code": "INVALID", "message": "This link is invalid, has expired or was already used."}
]


def verify(public: GraphQLClient, token: str, password: str = PASSWORD) -> dict[str, Any]:
    variables = {"input": {"token": token, "password": password}}
    payload: dict[str, Any] = public.data(VERIFY, variables)["accountVerifyEmail"]
    return payload


def refused_leaving_no_trace(
    public: GraphQLClient, engine: sa.Engine, tenant: TenantFixture, token: str
) -> None:
    """The link is refused with the payload error every bad link gets, and nothing is written."""
    before = accounts_and_guests(engine, tenant)
    assert verify(public, token) == {"token": None, "errors": INVALID_LINK}
    assert accounts_and_guests(engine, tenant) == before


def in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_guest_registers_proves_the_address_logs_in_and_sees_their_account(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    public = site(client, tenant)
    assert register(public, email="  Anna@Example.com ") == ACCEPTED
    [mail] = mails(sync_engine, tenant.schema_name, "account_verify")
    assert (mail.to, mail.channel, mail.status, mail.message_class) == (
        "anna@example.com",
        "email",
        "queued",
        "transactional",
    )
    assert staff_guests(tenant) == []  # nobody exists for the registration until it is verified
    verified = verify(public, link_token(mail.body, "verify-email"))
    assert verified["errors"] == [] and verified["token"].startswith("hs_")
    profile = bearer(client, verified["token"]).data(ACCOUNT)["account"]
    assert profile == {
        "name": "Anna Hemm",
        "email": "anna@example.com",
        "phone": None,
        "country": None,
        "language": None,
        "smsOptIn": False,
        "marketingEmailConsent": False,
        "bookings": [],
    }
    logged_in = log_in(public, "ANNA@example.com", PASSWORD)
    assert logged_in["errors"] == [] and logged_in["token"] not in (None, verified["token"])
    assert bearer(client, logged_in["token"]).data(ACCOUNT)["account"]["email"] == "anna@example.com"
    [guest] = staff_guests(tenant)
    assert guest["hasAccount"] is True
    assert guest["account"]["createdAt"] and guest["account"]["lastLoginAt"]
    assert guest["account"]["disabledAt"] is None


def test_registering_with_someone_elses_email_grants_nothing_and_changes_nothing(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    prop = create_property(tenant.api, name="Casa del Sol", address="Calle del Faro 7, Nosara")
    victim = create_guest(tenant.api, name="Anna Hemm", email="anna@example.com", phone="+34600111222")
    create_booking(
        tenant.api, property_id=prop["id"], guest_id=victim["id"], checkIn=in_days(60), checkOut=in_days(64)
    )
    guest_row = "SELECT * FROM {schema}.guest"
    row_before, staff_before = rows(sync_engine, tenant, guest_row), staff_guests(tenant)
    public = site(client, tenant)

    # The attacker knows only the address; any name passes.
    assert register(public, email="anna@example.com", password="mallory-owns-it-now", name="...") == ACCEPTED
    # No account exists to log in to: the same answer as a wrong password.
    assert log_in(public, "anna@example.com", "mallory-owns-it-now") == log_in(
        public, "anna@example.com", "some-wrong-password"
    )
    # Without a session the account lane stays shut: no phone, bookings or villa address; no
    # profile or email change.
    for operation, variables in (
        ("{ account { phone bookings { property { address } } } }", None),
        (UPDATE_PROFILE, {"input": {"phone": "+15550001111", "smsOptIn": True}}),
        (REQUEST_EMAIL_CHANGE, {"input": {"newEmail": "mallory@example.com"}}),
    ):
        body = public(operation, variables)
        assert error_codes(body) == ["UNAUTHENTICATED"] and body["data"] is None, operation
    # Anna's record is exactly as it was, and has no account.
    assert rows(sync_engine, tenant, guest_row) == row_before
    assert staff_guests(tenant) == staff_before and staff_before[0]["hasAccount"] is False
    assert rows(sync_engine, tenant, "SELECT id FROM {schema}.guest_account") == []
    assert mails(sync_engine, tenant.schema_name, "email_change") == []
    # The only way on is the link, and it went to Anna's address.
    [to_anna] = mails(sync_engine, tenant.schema_name, "account_verify")
    assert to_anna.to == "anna@example.com" and to_anna.guest_id is None

    # Anna registers too (no DUPLICATE), follows her own link and sees her own bookings.
    assert register(public, email="anna@example.com", password=PASSWORD, name="Anna Hemm") == ACCEPTED
    attackers_link, annas_link = verify_links(sync_engine, tenant.schema_name, "anna@example.com")
    verified = verify(public, annas_link)
    assert verified["errors"] == []
    account = bearer(client, verified["token"]).data(
        "{ account { phone bookings { property { address } } } }"
    )
    assert account["account"] == {
        "phone": "+34600111222",
        "bookings": [{"property": {"address": "Calle del Faro 7, Nosara"}}],
    }
    [guest] = staff_guests(tenant)
    assert guest["id"] == victim["id"] and guest["hasAccount"] is True
    # The address's other pending registration ended with hers: the attacker's password opens nothing.
    assert verify(public, attackers_link) == {"token": None, "errors": INVALID_LINK}
    assert log_in(public, "anna@example.com", "mallory-owns-it-now")["token"] is None
    assert log_in(public, "anna@example.com", PASSWORD)["token"]


def test_a_link_a_stranger_caused_opens_nothing_without_the_strangers_password(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    public = site(client, tenant)
    assert register(public, password="mallory-owns-it-now") == ACCEPTED  # not Anna
    [link] = verify_links(sync_engine, tenant.schema_name, "anna@example.com")
    before = accounts_and_guests(sync_engine, tenant)
    # Anna gets the mail and follows it with her own password: no account opens with Mallory's.
    refused = verify(public, link)
    assert refused["token"] is None
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("password", "INVALID_CREDENTIALS")]
    assert accounts_and_guests(sync_engine, tenant) == before
    assert log_in(public, "anna@example.com", "mallory-owns-it-now")["token"] is None


def test_registration_answers_alike_whether_or_not_the_email_is_known(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine, account_session: SessionMaker
) -> None:
    create_guest(tenant.api, name="Ben Hemm", email="ben@example.com")  # a record without an account
    account_session(tenant, email="carla@example.com", name="Carla Ruiz")  # and one with an account
    public = site(client, tenant)
    answers = [
        public(REGISTER, {"input": {"email": email, "password": NEW_PASSWORD, "name": "Somebody"}})
        for email in ("nobody@example.com", "ben@example.com", "carla@example.com")
    ]
    assert answers == [{"data": {"accountRegister": ACCEPTED}}] * 3
    # Each address got its mail: a link to prove it, or, for Carla, word of her account and a reset link.
    assert [mail.to for mail in mails(sync_engine, tenant.schema_name, "account_verify")][-2:] == [
        "nobody@example.com",
        "ben@example.com",
    ]
    [exists] = mails(sync_engine, tenant.schema_name, "account_exists")
    assert (exists.to, exists.status) == ("carla@example.com", "queued")
    reset = link_token(exists.body, "reset")
    # Carla's password is hers until she uses that link.
    assert log_in(public, "carla@example.com", NEW_PASSWORD)["token"] is None
    assert log_in(public, "carla@example.com", PASSWORD)["token"]
    done = public.data(RESET, {"input": {"token": reset, "password": NEW_PASSWORD}})["accountResetPassword"]
    assert done == {"ok": True, "errors": []}
    assert len(staff_guests(tenant)) == 2
    assert len(rows(sync_engine, tenant, "SELECT id FROM {schema}.guest_account")) == 1


def test_registering_links_the_guest_record_staff_already_have(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    known = create_guest(tenant.api, name="Anna Hemm", email="anna@example.com", phone="+34600111222")
    session = account_session(tenant)
    assert session.data(ACCOUNT)["account"]["phone"] == "+34600111222"
    [guest] = staff_guests(tenant)
    assert guest["id"] == known["id"] and guest["hasAccount"] is True


def test_registering_twice_before_verifying_opens_one_account(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    public = site(client, tenant)
    assert register(public) == register(public, name="Anna H.", password=NEW_PASSWORD) == ACCEPTED
    first, second = verify_links(sync_engine, tenant.schema_name, "anna@example.com")
    assert verify(public, second, NEW_PASSWORD)["token"]
    assert verify(public, first) == {"token": None, "errors": INVALID_LINK}
    assert len(staff_guests(tenant)) == 1
    assert len(rows(sync_engine, tenant, "SELECT id FROM {schema}.guest_account")) == 1
    assert rows(sync_engine, tenant, "SELECT id FROM {schema}.account_registration") == []
    assert log_in(public, "anna@example.com", NEW_PASSWORD)["token"]
    assert log_in(public, "anna@example.com", PASSWORD)["token"] is None


def test_a_verify_link_works_once(client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine) -> None:
    public = site(client, tenant)
    register(public)
    [token] = verify_links(sync_engine, tenant.schema_name, "anna@example.com")
    assert verify(public, token)["token"]
    refused_leaving_no_trace(public, sync_engine, tenant, token)


def test_an_expired_verify_link_is_refused_and_writes_nothing(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    public = site(client, tenant)
    register(public)
    [token] = verify_links(sync_engine, tenant.schema_name, "anna@example.com")
    with sync_engine.begin() as conn:
        conn.execute(
            sa.text(
                f'UPDATE "{tenant.schema_name}".account_registration '
                "SET expires_at = now() - interval '1 minute'"
            )
        )
    refused_leaving_no_trace(public, sync_engine, tenant, token)
    assert accounts_and_guests(sync_engine, tenant)["guest_account"] == []
    assert log_in(public, "anna@example.com", PASSWORD)["token"] is None


@pytest.mark.parametrize("token", ["", "garbage", "ha_" + "x" * 43, "ha_" + "x" * 200, "hs_" + "x" * 43])
def test_made_up_verify_tokens_are_refused_and_write_nothing(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine, token: str
) -> None:
    public = site(client, tenant)
    register(public)
    refused_leaving_no_trace(public, sync_engine, tenant, token)


def test_a_pending_registration_stores_nothing_readable(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    register(site(client, tenant), email="anna.hemm@example.com", name="Anna Hemm")
    [token] = verify_links(sync_engine, tenant.schema_name, "anna.hemm@example.com")
    [row] = rows(sync_engine, tenant, "SELECT * FROM {schema}.account_registration")
    stored = b" ".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row
    ).lower()
    for secret in (b"anna", b"hemm", b"example.com", PASSWORD.encode(), token.encode()):
        assert secret not in stored, secret
    assert row.password_hash.startswith("$argon2id$")
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_registration_refuses_bad_input_and_writes_nothing(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    public = site(client, tenant)
    refused = register(public, email="not-an-email", password="short", name="  ")
    assert refused["token"] is None
    assert sorted((e["field"], e["code"]) for e in refused["errors"]) == [
        ("email", "INVALID"),
        ("name", "REQUIRED"),
        ("password", "INVALID"),
    ]
    assert accounts_and_guests(sync_engine, tenant) == {
        "guest": [],
        "guest_account": [],
        "account_registration": [],
    }
    assert mails(sync_engine, tenant.schema_name, "account_verify") == []


# --- failed logins and brute force ---------------------------------------------------------------


def test_wrong_password_unknown_email_and_disabled_account_look_the_same(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    public = site(client, tenant)
    account_session(tenant)
    account_session(tenant, email="ben@example.com", name="Ben Hemm")
    [ben] = [g for g in staff_guests(tenant) if g["name"] == "Ben Hemm"]
    assert tenant.api.data(DISABLE, {"input": {"guestId": ben["id"]}})["disableGuestAccount"]["errors"] == []
    answers = [
        log_in(public, "anna@example.com", "not-the-password"),
        log_in(public, "nobody@example.com", PASSWORD),
        log_in(public, "ben@example.com", PASSWORD),
        log_in(public, "not an email", PASSWORD),
    ]
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0] == {
        "token": None,
        "errors": [
            {"field": None, "code": "INVALID_CREDENTIALS", "message": "Unknown email or wrong password."}
        ],
    }


def test_guessing_a_password_is_rate_limited_per_account(
    client: TestClient, tenant: TenantFixture, settings: Settings, account_session: SessionMaker
) -> None:
    public = site(client, tenant)
    account_session(tenant)
    for attempt in range(settings.account_login_limit_per_account):
        assert log_in(public, "anna@example.com", f"guess-number-{attempt}")["token"] is None
    body = public(LOGIN, {"input": {"email": "anna@example.com", "password": PASSWORD}})
    assert error_codes(body) == ["RATE_LIMITED"]
    assert body["errors"][0]["extensions"]["retryAfter"] > 0
    # Another account is not held back by it.
    account_session(tenant, email="ben@example.com", name="Ben Hemm")
    assert log_in(public, "ben@example.com", PASSWORD)["token"]
    # The counters are keyed by the blind index: no address reaches Redis.
    store = redis.Redis.from_url(str(settings.redis_url))
    keys = [key.decode() for key in store.scan_iter(f"{settings.redis_namespace}:rate:account_login*")]
    assert keys and not any("example" in key or "anna" in key for key in keys)


def test_logins_are_rate_limited_per_ip(
    client: TestClient, tenant: TenantFixture, settings: Settings
) -> None:
    public = site(client, tenant)
    for attempt in range(settings.account_login_limit_per_ip):
        assert log_in(public, f"guest-{attempt}@example.com", PASSWORD)["token"] is None
    body = public(LOGIN, {"input": {"email": "fresh@example.com", "password": PASSWORD}})
    assert error_codes(body) == ["RATE_LIMITED"]


def test_a_stranger_guessing_cannot_lock_a_guest_out(
    strict: Callable[..., TestClient], tenant: TenantFixture, account_session: SessionMaker
) -> None:
    app = strict(account_login_limit_per_account=3, account_login_limit_per_ip=100, trusted_proxy_hops=1)
    account_session(tenant, on=app)
    stranger = GraphQLClient(app, {"X-Tenant": tenant.slug, "X-Forwarded-For": "203.0.113.7"})
    anna = GraphQLClient(app, {"X-Tenant": tenant.slug, "X-Forwarded-For": "198.51.100.2"})
    right = {"input": {"email": "anna@example.com", "password": PASSWORD}}
    for attempt in range(3):
        assert log_in(stranger, "anna@example.com", f"guess-number-{attempt}")["token"] is None
    assert error_codes(stranger(LOGIN, right)) == ["RATE_LIMITED"]
    # Anna, from her own address, gets in; the guessing address stays limited.
    assert log_in(anna, "anna@example.com", PASSWORD)["token"]
    body = stranger(LOGIN, right)
    assert error_codes(body) == ["RATE_LIMITED"] and body["errors"][0]["extensions"]["retryAfter"] > 0


def test_guessing_from_many_addresses_slows_strangers_but_not_the_guests_own_address(
    strict: Callable[..., TestClient], tenant: TenantFixture, account_session: SessionMaker
) -> None:
    app = strict(
        account_login_limit_per_account=3,
        account_login_slowdown_after=2,
        login_slowdown_max_seconds=60,
        trusted_proxy_hops=1,
    )
    account_session(tenant, on=app)
    anna = GraphQLClient(app, {"X-Tenant": tenant.slug, "X-Forwarded-For": "198.51.100.2"})
    assert log_in(anna, "anna@example.com", PASSWORD)["token"]  # her usual address
    answers = [
        GraphQLClient(app, {"X-Tenant": tenant.slug, "X-Forwarded-For": f"203.0.113.{n}"})(
            LOGIN, {"input": {"email": "anna@example.com", "password": f"guess-number-{n}"}}
        )
        for n in range(8)
    ]
    # Each stranger tried once, far within its own limit: the account-wide slowdown held them.
    slowed = [answer for answer in answers if error_codes(answer) == ["RATE_LIMITED"]]
    assert slowed, answers
    assert all(0 < answer["errors"][0]["extensions"]["retryAfter"] <= 60 for answer in slowed)
    assert log_in(anna, "anna@example.com", PASSWORD)["token"]


# --- password reset ------------------------------------------------------------------------------


def test_password_reset_answers_the_same_for_unknown_emails_and_mails_a_single_use_link(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine, account_session: SessionMaker
) -> None:
    public = site(client, tenant)
    other_session = account_session(tenant)
    unknown = public.data(REQUEST_RESET, {"input": {"email": "nobody@example.com"}})
    known = public.data(REQUEST_RESET, {"input": {"email": "Anna@example.com"}})
    assert unknown == known == {"accountRequestPasswordReset": {"ok": True, "errors": []}}

    [mail] = mails(sync_engine, tenant.schema_name, "password_reset")
    assert (mail.channel, mail.direction, mail.status, mail.message_class) == (
        "email",
        "out",
        "queued",
        "transactional",
    )
    token = link_token(mail.body, "reset")
    [stored] = account_tokens(sync_engine, tenant)
    assert stored.purpose == "reset_password" and stored.lifetime.total_seconds() == pytest.approx(
        3600, abs=5
    )
    # Only the digest is kept.
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token

    weak = public.data(RESET, {"input": {"token": token, "password": "short"}})["accountResetPassword"]
    assert (weak["ok"], [(e["field"], e["code"]) for e in weak["errors"]]) == (
        False,
        [("password", "INVALID")],
    )
    done = public.data(RESET, {"input": {"token": token, "password": NEW_PASSWORD}})["accountResetPassword"]
    assert done == {"ok": True, "errors": []}
    # The sessions opened before the reset are over.
    assert error_codes(other_session(ACCOUNT)) == ["UNAUTHENTICATED"]
    assert log_in(public, "anna@example.com", PASSWORD)["token"] is None
    assert log_in(public, "anna@example.com", NEW_PASSWORD)["token"]

    reused = public.data(RESET, {"input": {"token": token, "password": "another-fine-password"}})
    assert [(e["field"], e["code"]) for e in reused["accountResetPassword"]["errors"]] == [
        ("token", "INVALID")
    ]
    assert log_in(public, "anna@example.com", NEW_PASSWORD)["token"]


def test_an_expired_reset_link_is_refused(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine, account_session: SessionMaker
) -> None:
    public = site(client, tenant)
    account_session(tenant)
    public.data(REQUEST_RESET, {"input": {"email": "anna@example.com"}})
    token = link_token(mails(sync_engine, tenant.schema_name, "password_reset")[0].body, "reset")
    with sync_engine.begin() as conn:
        conn.execute(
            sa.text(
                f"UPDATE \"{tenant.schema_name}\".account_token SET expires_at = now() - interval '1 minute'"
            )
        )
    refused = public.data(RESET, {"input": {"token": token, "password": NEW_PASSWORD}})[
        "accountResetPassword"
    ]
    assert refused["ok"] is False and refused["errors"][0]["field"] == "token"
    assert log_in(public, "anna@example.com", PASSWORD)["token"]


@pytest.mark.parametrize("token", ["", "garbage", "ha_" + "x" * 43, "ha_" + "x" * 200])
def test_made_up_reset_tokens_are_refused(client: TestClient, tenant: TenantFixture, token: str) -> None:
    refused = site(client, tenant).data(RESET, {"input": {"token": token, "password": NEW_PASSWORD}})
    assert [(e["field"], e["code"]) for e in refused["accountResetPassword"]["errors"]] == [
        ("token", "INVALID")
    ]


def test_reset_requests_are_rate_limited_per_address(
    client: TestClient, tenant: TenantFixture, settings: Settings
) -> None:
    public = site(client, tenant)
    for _ in range(settings.account_request_limit_per_address):
        assert public.data(REQUEST_RESET, {"input": {"email": "nobody@example.com"}})
    body = public(REQUEST_RESET, {"input": {"email": "nobody@example.com"}})
    assert error_codes(body) == ["RATE_LIMITED"]


# --- the same work whether or not an address is known -------------------------------------------


@pytest.fixture
def hashes(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the app hashes while the test runs (the real argon2 hasher, observed)."""
    passwords = client.app.state.resources.passwords  # type: ignore[attr-defined]
    real = passwords.hash
    seen: list[str] = []

    def observed(password: str) -> str:
        seen.append(password)
        return str(real(password))

    monkeypatch.setattr(passwords, "hash", observed)
    return seen


def work_of(
    client: TestClient, public: GraphQLClient, operation: str, variables: dict[str, Any]
) -> list[str]:
    """The SQL statements one request sends, besides the tenant lookup (cached in-process, so
    present or not by the cache's age), with the answer checked to carry no errors."""
    with statements_of(client) as seen:
        body = public(operation, variables)
    assert "errors" not in body and not next(iter(body["data"].values()))["errors"], body
    return [" ".join(statement.split()) for statement in seen if "FROM public.tenant" not in statement]


def test_registration_does_the_same_work_for_known_and_unknown_emails(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker, hashes: list[str]
) -> None:
    account_session(tenant)
    public = site(client, tenant)
    register(public, email="warm-up@example.com")  # the caches both paths use, filled alike
    hashes.clear()
    known, unknown = (
        work_of(
            client, public, REGISTER, {"input": {"email": email, "password": NEW_PASSWORD, "name": "X Y"}}
        )
        for email in ("anna@example.com", "nobody@example.com")
    )
    # Statement for statement the same kind of work (the known address writes a reset token
    # where the unknown one writes its pending registration), and one argon2 hash each.
    assert [statement.split()[0] for statement in known] == [statement.split()[0] for statement in unknown], (
        known,
        unknown,
    )
    assert hashes == [NEW_PASSWORD, NEW_PASSWORD]


def test_password_reset_does_the_same_work_for_known_and_unknown_emails(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine, account_session: SessionMaker
) -> None:
    account_session(tenant)
    public = site(client, tenant)
    public.data(REQUEST_RESET, {"input": {"email": "warm-up@example.com"}})
    known, unknown = (
        work_of(client, public, REQUEST_RESET, {"input": {"email": email}})
        for email in ("anna@example.com", "nobody@example.com")
    )
    assert known == unknown  # the very same statements
    # Both addresses got mail: Anna her link, the stranger word that the address has no account.
    [reset] = mails(sync_engine, tenant.schema_name, "password_reset")
    assert link_token(reset.body, "reset")
    assert [mail.to for mail in mails(sync_engine, tenant.schema_name, "password_reset_no_account")] == [
        "warm-up@example.com",
        "nobody@example.com",
    ]


# --- change password, profile, email ------------------------------------------------------------


def test_changing_the_password_needs_the_current_one(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    public = site(client, tenant)
    session = account_session(tenant)
    other = bearer(client, log_in(public, "anna@example.com", PASSWORD)["token"])
    wrong = session.data(CHANGE_PASSWORD, {"input": {"currentPassword": "nope", "newPassword": NEW_PASSWORD}})
    assert wrong["accountChangePassword"] == {
        "token": None,
        "errors": [{"field": "currentPassword", "code": "INVALID_CREDENTIALS", "message": "Wrong password."}],
    }
    weak = session.data(
        CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": "aaaaaaaaaaaa"}}
    )
    assert [(e["field"], e["code"]) for e in weak["accountChangePassword"]["errors"]] == [
        ("newPassword", "INVALID")
    ]
    assert log_in(public, "anna@example.com", PASSWORD)["token"]
    done = session.data(
        CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}
    )
    assert done["accountChangePassword"]["errors"] == []
    # Every earlier session ends, this one included; the payload carries the caller's new one.
    assert error_codes(other(ACCOUNT)) == ["UNAUTHENTICATED"]
    assert error_codes(session(ACCOUNT)) == ["UNAUTHENTICATED"]
    assert (
        bearer(client, done["accountChangePassword"]["token"]).data(ACCOUNT)["account"]["name"] == "Anna Hemm"
    )
    assert log_in(public, "anna@example.com", PASSWORD)["token"] is None
    assert log_in(public, "anna@example.com", NEW_PASSWORD)["token"]


def test_profile_update_changes_the_guest_record_but_never_the_email(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine, account_session: SessionMaker
) -> None:
    session = account_session(tenant)
    updated = session.data(
        UPDATE_PROFILE,
        {
            "input": {
                "name": "Anna Hemm-Lopez",
                "phone": "+34 600 111 222",
                "country": "es",
                "language": "es",
                "smsOptIn": True,
                "marketingEmailConsent": True,
            }
        },
    )["accountUpdateProfile"]
    assert updated == {
        "account": {
            "name": "Anna Hemm-Lopez",
            "email": "anna@example.com",
            "phone": "+34600111222",
            "country": "ES",
            "language": "es",
            "smsOptIn": True,
            "marketingEmailConsent": True,
        },
        "errors": [],
    }
    consent = rows(
        sync_engine,
        tenant,
        "SELECT actor_kind, data FROM {schema}.audit_event WHERE action = 'consent.changed'",
    )
    assert sorted((row.actor_kind, row.data["consent"], row.data["source"]) for row in consent) == [
        ("guest_account", "marketing_email_consent", "account"),
        ("guest_account", "sms_opt_in", "account"),
    ]
    # The guest can withdraw consent too.
    withdrawn = session.data(UPDATE_PROFILE, {"input": {"smsOptIn": False}})["accountUpdateProfile"]
    assert withdrawn["account"]["smsOptIn"] is False and withdrawn["account"]["marketingEmailConsent"] is True

    body = session(UPDATE_PROFILE, {"input": {"email": "mallory@example.com"}})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    bad = session.data(UPDATE_PROFILE, {"input": {"name": "", "phone": "12", "country": "XX"}})
    assert sorted(e["field"] for e in bad["accountUpdateProfile"]["errors"]) == ["country", "name", "phone"]
    [guest] = staff_guests(tenant)
    assert (guest["name"], guest["email"]) == ("Anna Hemm-Lopez", "anna@example.com")


def test_email_changes_only_through_the_link_mailed_to_the_new_address(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine, account_session: SessionMaker
) -> None:
    public = site(client, tenant)
    session = account_session(tenant)
    asked = session.data(REQUEST_EMAIL_CHANGE, {"input": {"newEmail": "Anna.New@Example.com"}})
    assert asked["accountRequestEmailChange"] == {"ok": True, "errors": []}
    [mail] = mails(sync_engine, tenant.schema_name, "email_change")
    assert (mail.channel, mail.status) == ("email", "queued")
    assert "anna.new" not in mail.body  # the address travels encrypted in the token row
    token = link_token(mail.body, "confirm-email")
    [stored] = account_tokens(sync_engine, tenant)
    assert stored.purpose == "change_email" and stored.new_email_enc is not None
    assert b"anna.new" not in bytes(stored.new_email_enc)
    assert session.data(ACCOUNT)["account"]["email"] == "anna@example.com"  # not yet

    confirmed = public.data(CONFIRM_EMAIL_CHANGE, {"input": {"token": token}})
    assert confirmed["accountConfirmEmailChange"] == {"ok": True, "errors": []}
    assert session.data(ACCOUNT)["account"]["email"] == "anna.new@example.com"
    assert staff_guests(tenant)[0]["email"] == "anna.new@example.com"
    assert log_in(public, "anna@example.com", PASSWORD)["token"] is None
    assert log_in(public, "anna.new@example.com", PASSWORD)["token"]
    again = public.data(CONFIRM_EMAIL_CHANGE, {"input": {"token": token}})["accountConfirmEmailChange"]
    assert (again["ok"], again["errors"][0]["code"]) == (False, "INVALID")


def test_email_change_to_another_accounts_address_is_refused(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    session = account_session(tenant)
    account_session(tenant, email="ben@example.com", name="Ben Hemm")
    for new_email, code in (
        ("ben@example.com", "DUPLICATE"),
        ("anna@example.com", "INVALID"),
        ("nope", "INVALID"),
    ):
        refused = session.data(REQUEST_EMAIL_CHANGE, {"input": {"newEmail": new_email}})
        assert refused["accountRequestEmailChange"]["errors"][0]["code"] == code, new_email


# --- the booking form -----------------------------------------------------------------------------


def test_automatic_creation_gives_every_booking_form_guest_an_account(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    set_account_creation(tenant, "AUTOMATIC")
    prop = create_property(tenant.api)
    public = site(client, tenant)
    assert submit_booking_form(public, prop["id"])["errors"] == []
    [guest] = staff_guests(tenant)
    assert guest["hasAccount"] is True and guest["account"]["lastLoginAt"] is None
    [mail] = mails(sync_engine, tenant.schema_name, "account_created")
    assert (mail.channel, mail.direction, mail.status) == ("email", "out", "queued")
    token = link_token(mail.body, "set-password")
    [stored] = account_tokens(sync_engine, tenant)
    assert stored.purpose == "set_password"
    assert stored.lifetime.total_seconds() == pytest.approx(7 * 86400, abs=5)
    # Nobody knows the random password; the link sets one.
    assert log_in(public, "anna@example.com", PASSWORD)["token"] is None
    done = public.data(RESET, {"input": {"token": token, "password": PASSWORD}})["accountResetPassword"]
    assert done == {"ok": True, "errors": []}
    session = bearer(client, log_in(public, "anna@example.com", PASSWORD)["token"])
    assert [b["status"] for b in session.data(ACCOUNT)["account"]["bookings"]] == ["INQUIRY"]
    # A second booking by the same guest opens no second account and sends no second mail.
    assert (
        submit_booking_form(public, prop["id"], checkIn=iso(AHEAD + 30), checkOut=iso(AHEAD + 32))["errors"]
        == []
    )
    assert len(mails(sync_engine, tenant.schema_name, "account_created")) == 1


def test_optional_creation_follows_the_box_and_the_password_typed(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    prop = create_property(tenant.api)
    public = site(client, tenant)
    assert submit_booking_form(public, prop["id"])["errors"] == []  # OPTIONAL is the default
    assert staff_guests(tenant)[0]["hasAccount"] is False

    weak = submit_booking_form(
        public,
        prop["id"],
        guest={"name": "Ben Hemm", "email": "ben@example.com"},
        createAccount=True,
        password="x",
    )
    assert [(e["field"], e["code"]) for e in weak["errors"]] == [("password", "INVALID")]
    assert len(staff_guests(tenant)) == 1  # nothing written

    boxed = submit_booking_form(
        public,
        prop["id"],
        guest={"name": "Ben Hemm", "email": "ben@example.com"},
        createAccount=True,
        password=PASSWORD,
    )
    assert boxed["errors"] == []
    assert {g["name"]: g["hasAccount"] for g in staff_guests(tenant)} == {
        "Anna Hemm": False,
        "Ben Hemm": True,
    }
    session = bearer(client, log_in(public, "ben@example.com", PASSWORD)["token"])
    assert len(session.data(ACCOUNT)["account"]["bookings"]) == 1
    [mail] = mails(sync_engine, tenant.schema_name, "account_created")
    assert "set-password" not in mail.body
    assert account_tokens(sync_engine, tenant) == []

    # Without a password, the box mails a set-password link.
    assert submit_booking_form(public, prop["id"], createAccount=True)["errors"] == []
    assert link_token(mails(sync_engine, tenant.schema_name, "account_created")[1].body, "set-password")


def test_disabled_creation_opens_no_account_and_refuses_registration(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine
) -> None:
    public = site(client, tenant)
    assert register(public, email="early@example.com") == ACCEPTED  # before accounts were turned off
    set_account_creation(tenant, "DISABLED")
    prop = create_property(tenant.api)
    assert submit_booking_form(public, prop["id"], createAccount=True, password=PASSWORD)["errors"] == []
    assert staff_guests(tenant)[0]["hasAccount"] is False
    assert mails(sync_engine, tenant.schema_name, "account_created") == []
    refused = register(public)
    assert refused["token"] is None
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(None, "INVALID_STATE")]
    # Nor does a link mailed before open an account now.
    before = accounts_and_guests(sync_engine, tenant)
    [early] = verify_links(sync_engine, tenant.schema_name, "early@example.com")
    late = verify(public, early)
    assert (late["token"], [(e["field"], e["code"]) for e in late["errors"]]) == (
        None,
        [(None, "INVALID_STATE")],
    )
    assert accounts_and_guests(sync_engine, tenant) == before


def test_anna_books_for_ben_and_sees_that_booking_in_her_account(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    prop = create_property(tenant.api, name="Casa del Sol")
    anna = account_session(tenant)
    for_ben = submit_booking_form(anna, prop["id"], guest={"name": "Ben Hemm", "email": "ben@example.com"})
    assert for_ben["errors"] == []
    for_herself = submit_booking_form(
        anna, prop["id"], checkIn=iso(AHEAD + 60), checkOut=iso(AHEAD + 62), guest={"name": "A. Hemm"}
    )
    assert for_herself["errors"] == []
    bookings = anna.data(ACCOUNT)["account"]["bookings"]
    assert {b["id"] for b in bookings} == {for_ben["reference"], for_herself["reference"]}
    by_id = {b["id"]: b for b in bookings}
    assert by_id[for_ben["reference"]]["stayGuest"] == {"name": "Ben Hemm"}
    assert by_id[for_herself["reference"]]["stayGuest"] is None
    assert {b["property"]["name"] for b in bookings} == {"Casa del Sol"}
    # Both belong to Anna's record; Ben got no record of his own.
    [guest] = staff_guests(tenant)
    assert guest["name"] == "Anna Hemm" and len(guest["bookings"]) == 2


def test_without_login_at_checkout_an_account_books_like_the_public(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    set_account_creation(tenant, "OPTIONAL", allowLoginAtCheckout=False)
    prop = create_property(tenant.api)
    anna = account_session(tenant)
    refused = submit_booking_form(anna, prop["id"], guest={"name": "Ben Hemm"})
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("guest", "REQUIRED")]
    assert (
        submit_booking_form(anna, prop["id"], guest={"name": "Ben Hemm", "email": "ben@example.com"})[
            "errors"
        ]
        == []
    )
    assert {g["name"]: len(g["bookings"]) for g in staff_guests(tenant)} == {"Anna Hemm": 0, "Ben Hemm": 1}


# --- lanes and staff --------------------------------------------------------------------------------


def test_an_account_reaches_no_staff_field(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    session = account_session(tenant)
    for operation in (
        "{ me { email } }",
        "{ guests { totalCount } }",
        "{ properties { totalCount } }",
        'mutation { createGuest(input: {name: "X"}) { errors { code } } }',
        'mutation { disableGuestAccount(input: {guestId: "x"}) { errors { code } } }',
    ):
        assert error_codes(session(operation)) == ["FORBIDDEN"], operation
    # Nor the visitor-only operations, while logged in.
    body = session(LOGIN, {"input": {"email": "anna@example.com", "password": PASSWORD}})
    assert error_codes(body) == ["FORBIDDEN"]


def test_an_account_session_is_forbidden_at_another_company(
    client: TestClient, tenant: TenantFixture, make_tenant: Any, account_session: SessionMaker
) -> None:
    other = make_tenant("b")
    session = account_session(tenant)
    elsewhere = session.as_(**session.headers, **{"X-Tenant": other.slug})
    for operation in (ACCOUNT, STAFF_GUESTS):
        body = elsewhere(operation)
        assert error_codes(body) == ["FORBIDDEN"] and body["data"] is None
    # Its email means nothing there either.
    assert log_in(site(client, other), "anna@example.com", PASSWORD)["token"] is None


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(
    client: TestClient, tenant: TenantFixture, sync_engine: sa.Engine, account_session: SessionMaker
) -> None:
    public = site(client, tenant)
    session = account_session(tenant)
    [guest] = staff_guests(tenant)
    disabled = tenant.api.data(DISABLE, {"input": {"guestId": guest["id"]}})["disableGuestAccount"]
    assert disabled["errors"] == [] and disabled["guest"]["account"]["disabledAt"]
    assert error_codes(session(ACCOUNT)) == ["UNAUTHENTICATED"]
    assert log_in(public, "anna@example.com", PASSWORD)["token"] is None
    # A reset cannot bring it back.
    assert public.data(REQUEST_RESET, {"input": {"email": "anna@example.com"}})[
        "accountRequestPasswordReset"
    ]["ok"]
    assert account_tokens(sync_engine, tenant) == []
    again = tenant.api.data(DISABLE, {"input": {"guestId": guest["id"]}})["disableGuestAccount"]
    assert again["guest"]["account"]["disabledAt"] == disabled["guest"]["account"]["disabledAt"]


def test_disabling_needs_a_guest_with_an_account(client: TestClient, tenant: TenantFixture) -> None:
    plain = create_guest(tenant.api)
    for guest_id in (plain["id"], "not-an-id"):
        refused = tenant.api.data(DISABLE, {"input": {"guestId": guest_id}})["disableGuestAccount"]
        assert refused["guest"] is None and refused["errors"][0]["code"] == "NOT_FOUND"


def test_account_logout_ends_only_its_own_session(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    public = site(client, tenant)
    session = account_session(tenant)
    other = bearer(client, log_in(public, "anna@example.com", PASSWORD)["token"])
    assert session.data("mutation { accountLogout }") == {"accountLogout": True}
    assert error_codes(session(ACCOUNT)) == ["UNAUTHENTICATED"]
    assert other.data(ACCOUNT)["account"]["name"] == "Anna Hemm"
    assert other.data("mutation { logout }") == {"logout": True}  # the staff-named one works too
    assert error_codes(other(ACCOUNT)) == ["UNAUTHENTICATED"]


def test_staff_see_accounts_of_many_guests_at_once(
    client: TestClient, tenant: TenantFixture, account_session: SessionMaker
) -> None:
    for index in range(3):
        account_session(tenant, email=f"guest{index}@example.com", name=f"Guest {uuid.uuid4().hex[:4]}")
    create_guest(tenant.api, name="No Account", email="none@example.com")
    seen = {g["email"]: g["account"] is not None for g in staff_guests(tenant)}
    assert seen == {
        "guest0@example.com": True,
        "guest1@example.com": True,
        "guest2@example.com": True,
        "none@example.com": False,
    }
