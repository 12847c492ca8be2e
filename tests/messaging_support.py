"""The messaging test rig: an app whose providers are the local provider server, a real Dramatiq
worker on real Redis, and the scheduler's tick, all on the test database. Each test gets its own
Redis namespace, so its worker only sees its own queue."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from hospes.app import create_app
from hospes.settings import Settings
from hospes.tasks import scheduler
from hospes.tasks.broker import make_broker
from hospes.tasks.worker import Worker
from hospes.tenancy.database import ConnectionPolicy, Role, create_engine_async
from hospes.tenancy.encrypted_columns import MESSAGE_BODY, MESSAGE_SUBJECT
from tests.conftest import OWNER_PASSWORD, GraphQLClient, TenantFixture, login
from tests.helpers_db import tenant_keys
from tests.provider_server import ProviderServer, RecordedRequest

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-token"


def _key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()


@dataclass
class Rig:
    settings: Settings
    client: TestClient
    provider: ProviderServer
    sendgrid_key: ec.EllipticCurvePrivateKey
    worker: Worker | None = None

    def api(self, tenant: TenantFixture) -> GraphQLClient:
        """The tenant's owner, logged in on this app (its sessions live in this rig's namespace)."""
        token = login(self.client, tenant=tenant.slug, email=tenant.owner_email, password=OWNER_PASSWORD)
        return GraphQLClient(self.client, {"Authorization": f"Bearer {token}"})

    def start_worker(self) -> Worker:
        assert self.settings.database_url and self.settings.redis_url
        self.worker = Worker(
            self.settings,
            database_url=self.settings.database_url,
            redis_url=self.settings.redis_url,
            threads=2,
        )
        self.worker.start()
        return self.worker

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def command(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """A real `hospes …` process (worker, scheduler) with this rig's servers and providers."""
        settings = self.settings
        environment = {
            **os.environ,
            "HOSPES_DATABASE_URL": settings.database_url or "",
            "HOSPES_REDIS_URL": settings.redis_url or "",
            "HOSPES_REDIS_NAMESPACE": settings.redis_namespace,
            "HOSPES_EMAIL_FROM": "hello@hospes.test",
            "HOSPES_SENDGRID_API_KEY": "SG.test-key",
            "HOSPES_SENDGRID_BASE_URL": self.provider.url,
            "HOSPES_TWILIO_ACCOUNT_SID": TWILIO_SID,
            "HOSPES_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "HOSPES_TWILIO_BASE_URL": self.provider.url,
            "HOSPES_TWILIO_SMS_FROM": settings.twilio_sms_from or "",
            "HOSPES_TWILIO_WHATSAPP_FROM": settings.twilio_whatsapp_from or "",
            # Status callbacks carry the communication id, so a report can settle an interrupted send.
            "HOSPES_PUBLIC_URL": settings.public_url or "",
            "HOSPES_OUTBOX_LEASE_SECONDS": str(settings.outbox_lease_seconds),
            "HOSPES_PROVIDER_TIMEOUT_SECONDS": str(settings.provider_timeout_seconds),
            **env,
        }
        return subprocess.Popen(  # noqa: S603  (our own interpreter and CLI)
            [sys.executable, "-c", "from cli import main; main()", *args],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def tick(self) -> int:
        """One scheduler tick: enqueue what is due (or whose lease ran out)."""

        async def run() -> int:
            assert self.settings.database_url and self.settings.redis_url
            engine = create_engine_async(
                self.settings.database_url,
                policy=ConnectionPolicy.of(self.settings, role=Role.SCHEDULER),
                pool_size=1,
                max_overflow=0,
            )
            broker = make_broker(self.settings.redis_url, namespace=self.settings.redis_namespace)
            try:
                return await scheduler.tick(
                    engine, broker, lease_seconds=self.settings.outbox_lease_seconds, batch=500
                )
            finally:
                broker.close()
                await engine.dispose()

        return asyncio.run(run())

    def sendgrid_signature(self, payload: bytes, timestamp: str | None = None) -> dict[str, str]:
        stamp = timestamp or str(int(time.time()))
        signature = self.sendgrid_key.sign(stamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


def describe_calls(calls: Iterable[RecordedRequest]) -> str:
    """One short line per provider request: who carried it, on which channel, and its first words."""
    lines = []
    for call in calls:
        if call.provider == "sendgrid":
            channel, text = "email", str(call.body.get("subject", ""))
        else:
            channel = "whatsapp" if str(call.body.get("To", "")).startswith("whatsapp:") else "sms"
            text = str(call.body.get("Body", ""))
        lines.append(f"{call.provider} {channel} {textwrap.shorten(text, 40, placeholder='…')!r}")
    return "[" + "; ".join(lines) + "]"


def describe_messages(rows: Iterable[dict[str, Any]]) -> str:
    """One short line per communication row: `channel to template_key/status`."""
    lines = [
        f"{row.get('channel')} to {row.get('template_key') or 'no template'}/{row.get('status')}"
        if row.get("direction", "out") == "out"
        else f"{row.get('channel')} from the guest/{row.get('status')}"
        for row in rows
    ]
    return "[" + "; ".join(lines) + "]"


class ProviderCalls(list[RecordedRequest]):
    """Provider requests whose repr, which pytest prints when an assertion about them fails, says
    which messages went out instead of every header and body."""

    def __repr__(self) -> str:
        return describe_calls(self)


class Messages(list[dict[str, Any]]):
    """Communication rows whose repr in a failing assertion is one short line per message."""

    def __repr__(self) -> str:
        return describe_messages(self)


def calls_for(provider: ProviderServer, tenant_id: uuid.UUID | str) -> ProviderCalls:
    """Provider requests about one tenant's messages (other tests' leftovers may share the DB)."""
    tenant = str(tenant_id)
    mine = ProviderCalls()
    for call in provider.calls():
        body: dict[str, Any] = call.body
        if (call.provider == "sendgrid" and body.get("custom_args", {}).get("hospes_tenant") == tenant) or (
            call.provider == "twilio" and f"t={tenant}" in body.get("StatusCallback", "")
        ):
            mine.append(call)
    return mine


def wait_until(condition: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def sent_messages(rig: Rig, schema: str, count: int = 1) -> Messages:
    """The tenant's outgoing messages once `count` have left the queue; the scheduler ticks
    meanwhile, as `hospes scheduler` would (retries and re-enqueued work depend on it)."""

    def done() -> Messages | None:
        rig.tick()
        rows = Messages(row for row in communications(rig_engine(rig), schema) if row["direction"] == "out")
        finished = [row for row in rows if row["status"] not in ("queued",)]
        return rows if len(finished) >= count else None

    result: Messages = wait_until(done, what=f"{count} message(s) to leave the queue")
    return result


def tenant_id(engine: sa.Engine, slug: str) -> uuid.UUID:
    with engine.connect() as connection:
        value = connection.execute(
            sa.text("SELECT id FROM public.tenant WHERE slug = :s"), {"s": slug}
        ).scalar()
    assert isinstance(value, uuid.UUID)
    return value


def communications(engine: sa.Engine, schema_name: str) -> Messages:
    """The tenant's messages, oldest first, with `subject` and `body` decrypted as staff read them."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                f"SELECT id, channel, status, error, template_key, body_enc, subject_enc, attempts, provider, "
                f'provider_message_id, direction, guest_id, message_class FROM "{schema_name}".communication '
                "ORDER BY created_at"
            )
        ).mappings()
        found = Messages(dict(row) for row in rows)
    if not found:
        return found
    keys = tenant_keys(engine, schema_name)
    for row in found:
        row["subject"] = MESSAGE_SUBJECT.unseal(keys, row.pop("subject_enc"))
        row["body"] = MESSAGE_BODY.unseal(keys, row.pop("body_enc")) or ""
    return found


def timeline(
    engine: sa.Engine, schema_name: str, communication_id: uuid.UUID
) -> list[tuple[str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                f'SELECT step, channel FROM "{schema_name}".communication_event '
                "WHERE communication_id = :id ORDER BY at, id"
            ),
            {"id": communication_id},
        )
        return [(row.step, row.channel) for row in rows]


def outbox_rows(engine: sa.Engine, tenant: uuid.UUID) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT kind, ref_id, due_at, claimed_until, attempts FROM public.outbox WHERE tenant_id = :t"
            ),
            {"t": tenant},
        ).mappings()
        return [dict(row) for row in rows]


@contextmanager
def running_rig(
    settings: Settings, provider_server: ProviderServer, *, inbound_email_domain: str | None = None
) -> Iterator[Rig]:
    """The rig; with `inbound_email_domain`, inbound email is on, its posts signed with the same
    key as the event webhook's (`Rig.sendgrid_signature`)."""
    private, public = _key_pair()
    rig_settings = settings.model_copy(
        update={
            "redis_namespace": f"msg-{secrets.token_hex(5)}",
            "email_from": "hello@hospes.test",
            "sendgrid_api_key": "SG.test-key",
            "sendgrid_base_url": provider_server.url,
            "sendgrid_webhook_public_key": public,
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": TWILIO_TOKEN,
            "twilio_base_url": provider_server.url,
            "twilio_sms_from": "+12015550100",
            "twilio_whatsapp_from": "+12015550101",
            "public_url": "http://testserver",
            "outbox_lease_seconds": 1.0,
            "delivery_backoff_seconds": 0.2,
            "delivery_backoff_max_seconds": 1.0,
            "delivery_max_attempts": 3,
            "provider_timeout_seconds": 5.0,
            "tenant_cache_seconds": 0.0,
            "inbound_email_domain": inbound_email_domain,
            "sendgrid_inbound_public_key": public if inbound_email_domain else None,
        }
    )
    # SecretStr fields: model_copy does not validate, so wrap them as the settings would.
    from pydantic import SecretStr

    rig_settings.sendgrid_api_key = SecretStr("SG.test-key")
    rig_settings.twilio_auth_token = SecretStr(TWILIO_TOKEN)
    assert rig_settings.database_url and rig_settings.redis_url
    # Earlier tests of this worker process (same database) leave work no worker ran; clear it, so
    # this test's worker and scheduler see only this test's messages.
    engine = sa.create_engine(rig_settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM public.outbox"))
    engine.dispose()
    app = create_app(rig_settings, database_url=rig_settings.database_url, redis_url=rig_settings.redis_url)
    with TestClient(app) as client:
        made = Rig(settings=rig_settings, client=client, provider=provider_server, sendgrid_key=private)
        try:
            yield made
        finally:
            made.stop_worker()


# A company on a rig: its tenant and its owner's API client.
Company = tuple[TenantFixture, GraphQLClient]


def new_company(rig: Rig, make_tenant: Callable[..., TenantFixture], prefix: str) -> Company:
    tenant = make_tenant(prefix)
    return tenant, rig.api(tenant)


_ENGINES: dict[str, sa.Engine] = {}


def rig_engine(rig: Rig) -> sa.Engine:
    """A synchronous engine on the rig's database, one per URL for the whole run."""
    url = rig.settings.database_url or ""
    if url not in _ENGINES:
        _ENGINES[url] = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    return _ENGINES[url]


def sendgrid_event(row: dict[str, Any], tid: uuid.UUID, event: str, at: int) -> dict[str, Any]:
    """One SendGrid Event Webhook event about the message `row`, carrying our custom args as sent."""
    return {
        "event": event,
        "timestamp": at,
        "sg_message_id": f"{row['provider_message_id']}.filter0001",
        "hospes_communication": str(row["id"]),
        "hospes_tenant": str(tid),
        "sg_event_id": uuid.uuid4().hex,
    }


def twilio_post(
    rig: Rig, path: str, form: dict[str, str], *, token: str = TWILIO_TOKEN, query: str = ""
) -> Any:
    """A Twilio webhook request, signed with `token` for the URL Twilio would have called."""
    url = f"http://testserver{path}{query}"
    signature = RequestValidator(token).compute_signature(url, form)
    return rig.client.post(f"{path}{query}", data=form, headers={"X-Twilio-Signature": signature})
