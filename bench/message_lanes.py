"""The two lanes of the messages bench: empty messages through the broker and worker (the floor),
and real messages through the outbox, relay, worker and log provider."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import dramatiq
import psycopg
from dramatiq.broker import Broker
from psycopg import sql

from hospes.bench.measure import Stats
from hospes.bench.seed import libpq_url
from hospes.bench.server import BenchError
from hospes.models.tenant import Channel, CommunicationStatus, Guest
from hospes.notifications import outgoing
from hospes.notifications.providers.log import LogProvider
from hospes.settings import Settings
from hospes.tasks import outbox
from hospes.tasks.relay import relay
from hospes.tenancy.crypto import versions_in
from hospes.tenancy.database import TenantSessions
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.registry import TenantRef

FLOOR_QUEUE = "bench-floor"


FLOOR_ACTOR = "bench.floor"


MIN_TIMED_ARRIVALS = 500


@dataclass(frozen=True)
class Target:
    """Who one message goes to."""

    tenant: TenantRef
    guest_id: uuid.UUID


@dataclass(frozen=True)
class Timings:
    """Per delivered message, in `time.monotonic()` seconds: when it started (enqueue or commit) and
    when it arrived (actor start or provider call)."""

    starts: list[float]
    arrivals: list[float]

    def stats(self, *, stopped_by_time: bool) -> Stats:
        """Latencies, and throughput over the span from the first start to the last arrival."""
        latencies = tuple(
            (arrived - started) * 1000.0 for started, arrived in zip(self.starts, self.arrivals, strict=True)
        )
        span = max(self.arrivals) - min(self.starts) if self.arrivals else 0.0
        return Stats(len(latencies), span, latencies, stopped_by_time=stopped_by_time)

    def rate_after(self, moment: float, *, at_least: int = MIN_TIMED_ARRIVALS) -> float:
        """Arrivals per second from `moment` to the last arrival; NaN when fewer than `at_least` came
        after it (a handful of messages drained in a few milliseconds says nothing)."""
        later = [arrived for arrived in self.arrivals if arrived > moment]
        return len(later) / (max(later) - moment) if len(later) >= at_least else float("nan")


class FloorLane:
    """Empty messages: the broker's enqueue, Redis, the worker's consumer and threads, the AsyncIO
    bridge and a no-op async actor; nothing of ours."""

    name = "floor"

    def __init__(self, *, producer: Broker, worker_broker: Broker) -> None:
        self.producer = producer
        self.numbers = itertools.count()
        # (message number, enqueued at, arrived at), appended by the actor on the worker's event loop.
        self.arrivals: list[tuple[int, float, float]] = []
        self.sent: list[int] = []  # every message number enqueued, all phases
        self._baseline = 0
        self._held = 0
        producer.declare_queue(FLOOR_QUEUE)

        async def floor_noop(number: int, enqueued_at: float) -> None:
            self.arrivals.append((number, enqueued_at, time.monotonic()))

        dramatiq.actor(broker=worker_broker, actor_name=FLOOR_ACTOR, queue_name=FLOOR_QUEUE)(floor_noop)

    def begin(self) -> None:
        self._baseline = len(self.arrivals)

    async def send(self, _number: int) -> None:
        number = next(self.numbers)
        self.sent.append(number)
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=FLOOR_QUEUE,
            actor_name=FLOOR_ACTOR,
            args=(number, time.monotonic()),
            kwargs={},
            options={},
        )
        # Off the event loop, as the API's relay does (the Redis client is synchronous).
        await asyncio.to_thread(self.producer.enqueue, message)

    async def prepare(self, count: int) -> None:
        """Ready `count` messages for `release` (nothing to commit: the floor only enqueues)."""
        self._held = count

    async def release(self) -> None:
        """Enqueue the prepared messages, one after another, as fast as the broker takes them."""
        numbers = [next(self.numbers) for _ in range(self._held)]
        self.sent.extend(numbers)
        messages: list[dramatiq.Message[None]] = [
            dramatiq.Message(
                queue_name=FLOOR_QUEUE,
                actor_name=FLOOR_ACTOR,
                args=(number, time.monotonic()),
                kwargs={},
                options={},
            )
            for number in numbers
        ]
        await asyncio.to_thread(lambda: [self.producer.enqueue(message) for message in messages])

    def delivered(self) -> int:
        return len(self.arrivals) - self._baseline

    def timings(self) -> Timings:
        """This phase so far: from each enqueue to the actor's start."""
        phase = self.arrivals[self._baseline :]
        return Timings(
            starts=[enqueued for _n, enqueued, _a in phase], arrivals=[arrived for _n, _e, arrived in phase]
        )

    def check(self) -> list[str]:
        counts = Counter(number for number, _e, _a in self.arrivals)
        problems = []
        if set(counts) != set(self.sent):
            problems.append(f"floor: {len(set(self.sent) - set(counts))} message(s) never arrived")
        duplicates = sum(count - 1 for count in counts.values())
        if duplicates:
            problems.append(f"floor: {duplicates} duplicate arrival(s)")
        return problems


class RealLane:
    """Real messages: a transaction that queues one email (communication row, event and outbox
    row), its commit, the relay, and the worker's `messages.deliver` through the log provider."""

    name = "real"

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: TenantSessions,
        keyring: Keyring,
        producer: Broker,
        provider: LogProvider,
        provider_capacity: int,
        targets: list[Target],
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.keyring = keyring
        self.producer = producer
        self.provider = provider
        self.provider_capacity = provider_capacity
        self.targets = targets
        self.numbers = itertools.count()
        self.committed: dict[uuid.UUID, float] = {}  # communication id -> commit time, all phases
        self.tenant_of: dict[uuid.UUID, uuid.UUID] = {}
        self._phase: set[uuid.UUID] = set()
        self._baseline = 0
        self._held: list[tuple[uuid.UUID, list[outbox.OutboxItem]]] = []

    def begin(self) -> None:
        self._phase = set()
        self._baseline = len(self.provider.sent)

    async def send(self, _number: int) -> None:
        communication_id, items = await self._commit()
        self.committed[communication_id] = time.monotonic()
        self._phase.add(communication_id)
        if await relay(self.producer, items) != 1:
            raise BenchError("the relay could not enqueue a message (is Redis up?)")

    async def prepare(self, count: int) -> None:
        """Commit `count` messages without relaying them: a backlog for `release`."""
        for _ in range(count):
            communication_id, items = await self._commit()
            self._held.append((communication_id, items))

    async def release(self) -> None:
        """Relay every prepared message at once (one relay call, as a scheduler tick would)."""
        held, self._held = self._held, []
        now = time.monotonic()
        for communication_id, _items in held:
            self.committed[communication_id] = now
            self._phase.add(communication_id)
        items = [item for _id, batch in held for item in batch]
        if await relay(self.producer, items) != len(items):
            raise BenchError("the relay could not enqueue the backlog (is Redis up?)")

    async def _commit(self) -> tuple[uuid.UUID, list[outbox.OutboxItem]]:
        """One transaction that queues one email; its id and the outbox items it wrote."""
        target = self.targets[next(self.numbers) % len(self.targets)]
        tenant = target.tenant
        session = self.sessions.open(tenant.schema_name)
        try:
            async with session.begin():
                guest = await session.get(Guest, target.guest_id)
                if guest is None:
                    raise BenchError(f"guest {target.guest_id} of {tenant.slug} is gone")
                keys = await self.keyring.keys(
                    session, tenant.schema_name, versions=versions_in([guest.email_enc, guest.phone_enc])
                )
                communication = await outgoing.queue(
                    session,
                    tenant=tenant,
                    keys=keys,
                    draft=outgoing.Draft(
                        guest=guest,
                        subject="Your booking is confirmed",
                        body=f"Hi {guest.name}, your stay is confirmed. We look forward to welcoming you!",
                        channel=Channel.EMAIL,
                    ),
                    lease_seconds=self.settings.outbox_lease_seconds,
                )
            self.tenant_of[communication.id] = tenant.id
            return communication.id, outbox.take_pending(session)
        finally:
            await session.close()

    def delivered(self) -> int:
        return len(self.provider.sent) - self._baseline

    def timings(self) -> Timings:
        """This phase so far: from each commit to its provider call."""
        calls = [
            call
            for call in self.provider.sent[self._baseline :]
            if call.message.communication_id in self._phase
        ]
        return Timings(
            starts=[self.committed[call.message.communication_id] for call in calls],
            arrivals=[call.at for call in calls],
        )

    def check(self, database_url: str) -> tuple[list[str], str]:
        """Problems found (none when all is well) and a line that says what was checked."""
        problems = []
        calls = self.provider.sent
        counts = Counter(call.message.communication_id for call in calls)
        if len(calls) >= self.provider_capacity:
            problems.append("the log provider's memory filled up: the count below may be short")
        missing = set(self.committed) - set(counts)
        unknown = set(counts) - set(self.committed)
        duplicates = sum(count - 1 for count in counts.values())
        wrong_tenant = sum(
            1
            for call in calls
            if self.tenant_of.get(call.message.communication_id, call.message.tenant_id)
            != call.message.tenant_id
        )
        for count, what in (
            (len(missing), "committed message(s) never reached the provider"),
            (len(unknown), "provider call(s) for messages this run did not commit"),
            (duplicates, "duplicate provider call(s)"),
            (wrong_tenant, "provider call(s) with another tenant's id"),
        ):
            if count:
                problems.append(f"real: {count} {what}")
        statuses: Counter[str] = Counter()
        schemas = sorted({target.tenant.schema_name for target in self.targets})
        with psycopg.connect(libpq_url(database_url)) as conn:
            for schema in schemas:
                rows = conn.execute(
                    sql.SQL("SELECT status, count(*) FROM {} GROUP BY status").format(
                        sql.Identifier(schema, "communication")
                    )
                ).fetchall()
                statuses.update({status: count for status, count in rows})
            row = conn.execute("SELECT count(*) FROM public.outbox").fetchone()
            left_in_outbox = int(row[0]) if row else -1
        sent = statuses.pop(CommunicationStatus.SENT.value, 0)
        # A send whose worker died during the provider call: not a duplicate, not lost, but not
        # known delivered either (the log provider sends no delivery report to settle it).
        unknown_outcome = statuses.pop(CommunicationStatus.UNKNOWN.value, 0)
        if sent + unknown_outcome != len(self.committed) or statuses:
            problems.append(
                f"real: {sent} communication(s) sent and {unknown_outcome} unknown of "
                f"{len(self.committed)}; others: {statuses}"
            )
        if left_in_outbox:
            problems.append(f"real: {left_in_outbox} outbox row(s) left")
        summary = (
            f"{len(calls):,} provider calls for {len(self.committed):,} committed messages, one each, each "
            f"with its own tenant; {sent:,} communications `sent` and {unknown_outcome:,} `unknown` "
            f"(interrupted mid-call) in {len(schemas)} tenant schemas; "
            f"outbox empty: {left_in_outbox == 0}"
        )
        return problems, summary


Lane = FloorLane | RealLane
