"""Exactly once in effect while things break: messages sent over email and SMS while real `hospes worker`
processes are SIGKILLed (twice in the middle of a provider call) and Redis restarts, once with its
append-only file (as docker/compose.yaml runs it) and once without persistence (the queue and the
sessions are gone; the outbox lease brings the work back). Checked against the provider stand-in:
every message reached the provider at most once, none is lost, and each one the kill hit in its
provider call is `unknown` until the provider's report settles it.

Marked `chaos`: out of the default run, run by CI in its own step (`pytest -m chaos -n 0`). Redis is
a server of this test's own on a free port; the machine's shared Redis is never touched."""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from hospes.settings import Settings
from tests.conftest import OWNER_PASSWORD, GraphQLClient, TenantFixture, login
from tests.factories import create_guest
from tests.messaging_support import (
    Rig,
    calls_for,
    communications,
    outbox_rows,
    rig_engine,
    running_rig,
    sendgrid_event,
    tenant_id,
    twilio_post,
    wait_until,
)
from tests.own_redis import OwnRedis
from tests.provider_server import (
    ProviderName,
    ProviderServer,
    RecordedRequest,
    held,
    provider_server_fixture,  # noqa: F401  (registers the provider_server fixture)
)

pytestmark = pytest.mark.chaos

SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  communication { id } errors { code } } }"""
CONSENT = """mutation($id: ID!) {
  setGuestConsent(input: {guestId: $id, smsOptIn: true, marketingEmailConsent: false}) { errors { code } } }"""
GUESTS_PER_CHANNEL = 4
BATCH = 30  # messages per phase, half email, half SMS
SETTLE_SECONDS = 90.0


@pytest.fixture
def chaos_rig(settings: Settings, provider_server: ProviderServer, own_redis: OwnRedis) -> Iterator[Rig]:
    with running_rig(settings.model_copy(update={"redis_url": own_redis.url}), provider_server) as made:
        # A claim is abandoned lease + provider timeout after it was made: keep the wait short. A call
        # a loaded machine times out after the stand-in received it is `unknown`, never sent again.
        made.settings.provider_timeout_seconds = 2.0
        yield made


class Sender:
    """Sends messages through the API as the tenant's owner, logging in again when the session is
    gone (Redis restarted without persistence). A request that fails is tried again: what counts is
    what the database committed, not what the answer said."""

    def __init__(self, rig: Rig, tenant: TenantFixture, recipients: list[tuple[str, str]]) -> None:
        self.rig = rig
        self.tenant = tenant
        self.recipients = itertools.cycle(recipients)
        self.api = rig.api(tenant)
        self.answered = 0

    def _relogin(self) -> None:
        with contextlib.suppress(Exception):
            token = login(
                self.rig.client,
                tenant=self.tenant.slug,
                email=self.tenant.owner_email,
                password=OWNER_PASSWORD,
            )
            self.api = GraphQLClient(self.rig.client, {"Authorization": f"Bearer {token}"})

    def send(self, count: int) -> None:
        for _ in range(count):
            guest_id, channel = next(self.recipients)
            variables = {
                "input": {"guestId": guest_id, "channel": channel, "subject": "Hi", "body": "Once only"}
            }
            for _attempt in range(50):
                response = self.rig.client.post(
                    "/graphql", json={"query": SEND, "variables": variables}, headers=self.api.headers
                )
                body: dict[str, Any] = response.json() if response.status_code == 200 else {}
                if (body.get("data") or {}).get("sendMessage", {}).get("communication"):
                    self.answered += 1
                    break
                codes = [error.get("extensions", {}).get("code") for error in body.get("errors") or []]
                if "UNAUTHENTICATED" in codes:
                    self._relogin()
                threading.Event().wait(0.1)


def _communication_of(call: RecordedRequest) -> str:
    """Which communication a provider request carried: SendGrid's custom arg, Twilio's callback URL."""
    if call.provider == "sendgrid":
        return str(call.body["custom_args"]["hospes_communication"])
    query = call.body["StatusCallback"].split("?", 1)[1]
    return dict(part.split("=", 1) for part in query.split("&"))["c"]


def _steps(rig: Rig, schema_name: str, communication_id: str) -> list[tuple[str, str | None, str | None]]:
    """A message's timeline, to show what happened to one that broke a promise."""
    with rig_engine(rig).connect() as connection:
        rows = connection.execute(
            sa.text(
                f'SELECT step, channel, detail FROM "{schema_name}".communication_event '
                "WHERE communication_id = :id ORDER BY at, id"
            ),
            {"id": communication_id},
        )
        return [(row.step, row.channel, row.detail) for row in rows]


def _kill_during_a_provider_call(
    rig: Rig,
    worker: subprocess.Popen[bytes],
    provider: ProviderName,
    tid: uuid.UUID,
    feed: Callable[[], None],
) -> str:
    """Hold the provider's next request, SIGKILL the worker while it waits for the answer, then let
    the provider answer (to nobody). Returns the communication that request carried."""
    release = threading.Event()
    before = len([call for call in calls_for(rig.provider, tid) if call.provider == provider])
    rig.provider.script(provider, held(release, timeout=30))
    feed()
    mine = wait_until(
        lambda: [call for call in calls_for(rig.provider, tid) if call.provider == provider][before:],
        what=f"a {provider} request to be held",
    )
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    release.set()
    return _communication_of(mine[0])


def test_messages_reach_the_provider_at_most_once_through_worker_kills_and_redis_restarts(
    chaos_rig: Rig, own_redis: OwnRedis, make_tenant: Callable[..., TenantFixture]
) -> None:
    rig = chaos_rig
    tenant = make_tenant("chaos")
    api = rig.api(tenant)
    tid = tenant_id(rig_engine(rig), tenant.slug)
    recipients: list[tuple[str, str]] = []
    for number in range(GUESTS_PER_CHANNEL):
        mail = create_guest(api, name=f"Mail Guest{number}", email=f"chaos{number}@example.com", phone=None)
        sms = create_guest(api, name=f"Text Guest{number}", email=None, phone=f"+3460011{number:04d}")
        api.data(CONSENT, {"id": sms["id"]})
        recipients += [(mail["id"], "EMAIL"), (sms["id"], "SMS")]
    sender = Sender(rig, tenant, recipients)
    processes: list[subprocess.Popen[bytes]] = []

    def worker() -> subprocess.Popen[bytes]:
        processes.append(rig.command("worker", HOSPES_WORKER_THREADS="2"))
        return processes[-1]

    processes.append(rig.command("scheduler", HOSPES_SCHEDULER_INTERVAL_SECONDS="0.2"))
    try:
        # 1. A worker killed in the middle of an email's provider call; messages queue meanwhile.
        first = worker()
        hit_email = _kill_during_a_provider_call(rig, first, "sendgrid", tid, lambda: sender.send(BATCH))
        sender.send(BATCH // 3)
        worker()
        # 2. Redis restarts with its append-only file, with work queued and in flight.
        sender.send(BATCH)
        own_redis.stop()
        sender_thread = threading.Thread(target=sender.send, args=(BATCH // 3,))
        sender_thread.start()  # these meet Redis down, then back
        own_redis.start(appendonly=True)
        sender_thread.join()
        # 3. A worker killed in the middle of an SMS's provider call.
        hit_sms = _kill_during_a_provider_call(rig, processes[-1], "twilio", tid, lambda: sender.send(BATCH))
        # 4. Redis restarts empty, with no worker running: the queue is lost, and so are the sessions.
        sender.send(BATCH)
        own_redis.stop()
        own_redis.start(appendonly=False, fresh=True)
        sender.send(BATCH // 3)
        worker()

        def settled() -> list[dict[str, Any]] | None:
            rows = communications(rig_engine(rig), tenant.schema_name)
            return rows if all(row["status"] not in ("queued",) for row in rows) else None

        rows = wait_until(settled, timeout=SETTLE_SECONDS, what="every message to leave the queue")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    calls = calls_for(rig.provider, tid)
    reached = Counter(_communication_of(call) for call in calls)
    statuses = Counter(row["status"] for row in rows)
    by_id = {str(row["id"]): row for row in rows}
    assert sender.answered == 5 * BATCH  # the API came back after each restart
    assert len(rows) >= sender.answered  # every answered send was committed
    twice = [key for key, count in reached.items() if count > 1]
    assert not twice, [
        (by_id[key]["channel"], by_id[key]["status"], _steps(rig, tenant.schema_name, key)) for key in twice
    ]
    assert set(reached) <= set(by_id)
    assert set(statuses) <= {"sent", "unknown"}, statuses  # nothing lost, nothing failed
    assert all(reached[key] == 1 for key, row in by_id.items() if row["status"] == "sent")
    assert by_id[hit_email]["status"] == by_id[hit_sms]["status"] == "unknown"
    assert outbox_rows(rig_engine(rig), tid) == []

    # The provider's reports settle every unknown message it received.
    unknown = [row for row in rows if row["status"] == "unknown" and str(row["id"]) in reached]
    events = [
        {**sendgrid_event(row, tid, "delivered", 1_800_000_000), "sg_message_id": f"sg-{row['id'].hex}"}
        for row in unknown
        if row["channel"] == "email"
    ]
    payload = json.dumps(events).encode()
    assert rig.client.post(
        "/webhooks/sendgrid", content=payload, headers=rig.sendgrid_signature(payload)
    ).is_success
    for row in unknown:
        if row["channel"] == "sms":
            form = {"MessageSid": f"SM{row['id'].hex}", "MessageStatus": "delivered"}
            response = twilio_post(rig, "/webhooks/twilio/status", form, query=f"?t={tid}&c={row['id']}")
            assert response.status_code == 204
    after = {str(row["id"]): row["status"] for row in communications(rig_engine(rig), tenant.schema_name)}
    assert all(after[str(row["id"])] == "delivered" for row in unknown)
    assert len(calls_for(rig.provider, tid)) == len(calls)  # settling sent nothing again
    # The figures, for the notes (`pytest -s` shows them).
    print(
        f"chaos: {len(rows)} messages, {len(calls)} provider calls, statuses {dict(statuses)}, "
        f"{len(unknown)} unknown settled by reports"
    )
