"""A guest's way into an account, as the company's site takes them: register, follow the link mailed
to the address, and hold the session that link gives."""

from __future__ import annotations

import re

import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import GraphQLClient
from tests.helpers_db import mails

REGISTER = """mutation($input: AccountRegisterInput!) {
  accountRegister(input: $input) { token errors { field code message } }
}"""
VERIFY = """mutation($input: AccountVerifyEmailInput!) {
  accountVerifyEmail(input: $input) { token errors { field code message } }
}"""


def link_token(body: str, path: str) -> str:
    """The token of the `path` link in a mail's body."""
    found = re.search(rf"/{path}/(ha_[A-Za-z0-9_-]+)", body)
    assert found, body
    return found.group(1)


def verify_links(engine: sa.Engine, schema_name: str, email: str) -> list[str]:
    """The tokens of the verify links mailed to `email`, oldest first."""
    sent = mails(engine, schema_name, "account_verify")
    return [link_token(mail.body, "verify-email") for mail in sent if mail.to == email]


def registered_session(
    client: TestClient,
    *,
    slug: str,
    schema_name: str,
    engine: sa.Engine,
    email: str,
    password: str,
    name: str,
) -> str:
    """Register on the company's site and follow the mailed link: the session token it returns."""
    public = GraphQLClient(client, {"X-Tenant": slug})
    registered = public.data(REGISTER, {"input": {"email": email, "password": password, "name": name}})
    assert registered["accountRegister"] == {"token": None, "errors": []}, registered
    token = verify_links(engine, schema_name, email.strip().lower())[-1]
    verified = public.data(VERIFY, {"input": {"token": token, "password": password}})["accountVerifyEmail"]
    assert verified["errors"] == [] and verified["token"], verified
    session: str = verified["token"]
    return session
