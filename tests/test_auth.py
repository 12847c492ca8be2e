"""Staff log in with argon2id-checked passwords, get a session token, and logout ends it."""

from __future__ import annotations

import hashlib
import time

import pytest
import redis
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.settings import Settings
from hospes.tenancy.passwords import Passwords
from tests.conftest import LOGIN, OWNER_PASSWORD, GraphQLClient, TenantFixture, error_codes

ME = "{ me { email } }"


def _login(anonymous: GraphQLClient, tenant: str, email: str, password: str) -> dict[str, object]:
    payload: dict[str, object] = anonymous.data(
        LOGIN, {"tenant": tenant, "email": email, "password": password}
    )["login"]
    return payload


def test_owner_logs_in_and_sees_themself(tenant: TenantFixture, anonymous: GraphQLClient) -> None:
    payload = _login(anonymous, tenant.slug, tenant.owner_email, OWNER_PASSWORD)
    assert payload["errors"] == []
    token = payload["token"]
    assert isinstance(token, str) and len(token) >= 40
    me = anonymous.as_(Authorization=f"Bearer {token}").data(ME)["me"]
    assert me["email"] == tenant.owner_email


def test_login_email_is_case_insensitive(tenant: TenantFixture, anonymous: GraphQLClient) -> None:
    payload = _login(anonymous, tenant.slug, f"  {tenant.owner_email.upper()} ", OWNER_PASSWORD)
    assert payload["errors"] == [] and payload["token"]


@pytest.mark.parametrize(
    ("which", "password"),
    [("wrong password", "not-the-password"), ("unknown email", OWNER_PASSWORD), ("empty password", "")],
)
def test_failed_logins_all_look_the_same(
    tenant: TenantFixture, anonymous: GraphQLClient, which: str, password: str
) -> None:
    email = "nobody@example.com" if which == "unknown email" else tenant.owner_email
    payload = _login(anonymous, tenant.slug, email, password)
    assert payload["token"] is None
    assert payload["errors"] == [
        {"field": None, "code": "INVALID_CREDENTIALS", "message": "Unknown email or wrong password."}
    ]


def test_login_to_an_unknown_company_looks_like_a_wrong_password(anonymous: GraphQLClient) -> None:
    for slug in ("no-such-company", "Bad Slug!"):
        payload = _login(anonymous, slug, "owner@example.com", OWNER_PASSWORD)
        assert payload["token"] is None
        assert payload["errors"][0]["code"] == "INVALID_CREDENTIALS"  # type: ignore[index]


def test_logout_ends_only_the_session_it_is_sent_with(
    tenant: TenantFixture, anonymous: GraphQLClient
) -> None:
    other = _login(anonymous, tenant.slug, tenant.owner_email, OWNER_PASSWORD)["token"]
    assert tenant.api.data("mutation { logout }") == {"logout": True}
    body = tenant.api(ME)
    assert body["data"] is None or body["data"]["me"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert anonymous.as_(Authorization=f"Bearer {other}").data(ME)["me"]["email"] == tenant.owner_email


@pytest.mark.parametrize(
    "authorization",
    ["Bearer garbage", "Bearer hs_" + "x" * 43, "Basic dXNlcjpwYXNz", "Bearer ", "hs_token-without-scheme"],
)
def test_bad_session_tokens_are_unauthenticated(anonymous: GraphQLClient, authorization: str) -> None:
    body = anonymous.as_(Authorization=authorization)(ME)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None


def test_no_token_is_unauthenticated(anonymous: GraphQLClient) -> None:
    for query in ("{ me { email } }", "{ guests { totalCount } }", "{ properties { totalCount } }"):
        body = anonymous(query)
        assert error_codes(body) == ["UNAUTHENTICATED"]
        assert body["data"] is None


def test_expired_session_is_unauthenticated(
    tenant: TenantFixture, anonymous: GraphQLClient, settings: Settings
) -> None:
    token = str(_login(anonymous, tenant.slug, tenant.owner_email, OWNER_PASSWORD)["token"])
    key = f"{settings.redis_namespace}:session:{hashlib.sha256(token.encode()).hexdigest()}"
    store = redis.Redis.from_url(str(settings.redis_url))
    assert store.ttl(key) > 0  # sessions always carry an expiry
    store.pexpire(key, 1)  # let the session's time run out
    time.sleep(0.01)
    assert error_codes(anonymous.as_(Authorization=f"Bearer {token}")(ME)) == ["UNAUTHENTICATED"]


def test_login_rehashes_a_password_hashed_with_old_parameters(
    tenant: TenantFixture, anonymous: GraphQLClient, sync_engine: sa.Engine, client: TestClient
) -> None:
    old_hash = Passwords(time_cost=2, memory_kib=8192).hash(OWNER_PASSWORD)
    table = sa.table("staff_user", sa.column("email"), sa.column("password_hash"), schema=tenant.schema_name)
    with sync_engine.begin() as conn:
        conn.execute(
            sa.update(table).where(table.c.email == tenant.owner_email).values(password_hash=old_hash)
        )
    assert _login(anonymous, tenant.slug, tenant.owner_email, OWNER_PASSWORD)["token"]
    with sync_engine.connect() as conn:
        new_hash = conn.execute(
            sa.select(table.c.password_hash).where(table.c.email == tenant.owner_email)
        ).scalar_one()
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$") and ",t=1," in new_hash
