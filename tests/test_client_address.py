"""The client address behind per-IP limits, through the real `hospes serve` (uvicorn and all): a
sender cannot choose it with `X-Forwarded-For` unless `HOSPES_TRUSTED_PROXY_HOPS` says a proxy
in front of Hospes writes that header."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from hospes.settings import Settings
from tests.conftest import TenantFixture
from tests.tcp_forwarder import free_port

CONTACT_FORM = """mutation($input: SubmitContactFormInput!) {
  submitContactForm(input: $input) { reference errors { field code } }
}"""
PER_IP = 2


@contextmanager
def serving(settings: Settings, *, trusted_hops: int) -> Iterator[str]:
    """`hospes serve` in its own process on a free loopback port; yields its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "HOSPES_DATABASE_URL": settings.database_url or "",
        "HOSPES_REDIS_URL": settings.redis_url or "",
        "HOSPES_REDIS_NAMESPACE": f"{settings.redis_namespace}-{secrets.token_hex(3)}",
        "HOSPES_TRUSTED_PROXY_HOPS": str(trusted_hops),
        "HOSPES_FORM_LIMIT_PER_IP": str(PER_IP),
        "HOSPES_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and CLI)
        [sys.executable, "-c", "from cli import main; main()", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "hospes serve exited"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "hospes serve did not come up"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _contact_forms(url: str, slug: str, forwarded_for: Callable[[int], str]) -> list[str | None]:
    """Submits PER_IP + 1 contact forms, each from a different claimed address and sender;
    returns each answer's error code (None when accepted)."""
    codes: list[str | None] = []
    for n in range(PER_IP + 1):
        response = httpx.post(
            f"{url}/graphql",
            json={
                "query": CONTACT_FORM,
                "variables": {
                    "input": {"name": f"Sender {n}", "email": f"sender{n}@example.com", "message": "Hello"}
                },
            },
            headers={"X-Tenant": slug, "X-Forwarded-For": forwarded_for(n)},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        errors = response.json().get("errors") or []
        codes.append(errors[0]["extensions"]["code"] if errors else None)
    return codes


def test_with_no_trusted_proxy_a_forged_forwarded_for_escapes_no_limit(
    settings: Settings, tenant: TenantFixture
) -> None:
    with serving(settings, trusted_hops=0) as url:
        codes = _contact_forms(url, tenant.slug, lambda n: f"203.0.113.{n + 1}")
    assert codes == [None] * PER_IP + ["RATE_LIMITED"]


def test_a_trusted_proxy_hop_names_the_client(settings: Settings, tenant: TenantFixture) -> None:
    # One proxy appends the address it saw; what the sender wrote before it is not believed.
    with serving(settings, trusted_hops=1) as url:
        distinct = _contact_forms(url, tenant.slug, lambda n: f"198.51.100.7, 203.0.113.{n + 1}")
        same = _contact_forms(url, tenant.slug, lambda n: f"198.51.100.{n + 1}, 203.0.113.99")
    assert distinct == [None] * (PER_IP + 1)
    assert same == [None] * PER_IP + ["RATE_LIMITED"]
