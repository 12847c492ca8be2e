"""`hospes bench messages`: messages through the real outbox, broker, worker and log provider, against
the same broker and worker moving empty messages (the floor), measured in the same run.

1. a scratch database (`hospes_bench_<hex>`, dropped afterwards) with the public migrations, the
   tenants and a few guests each with an email; settings without provider credentials, so the log
   provider takes every email; a Redis namespace of its own (`bench-messages-<hex>`, deleted after);
2. one `tasks.worker.Worker` in this process (real actors, real database, its own threads and event
   loop); its broker also carries the floor's no-op async actor, on a queue of its own;
3. warm-up, then two bursts of N messages from P concurrent producers (asyncio tasks):
   - floor: enqueue a message that carries only its enqueue time; the no-op actor notes its arrival;
   - real: one short transaction per message that loads a guest and calls `outgoing.queue` (as
     `sendMessage` does), commit, note the time, relay the outbox items (`tasks.relay.relay`, as the
     API does after commit); latency = the log provider's call time - the commit time;
4. one message in flight at a time, floor and real alternately: the latency without a backlog;
5. check that every message was delivered exactly once, then print the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import platform
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

import dramatiq
import psycopg
import redis
from dramatiq.broker import Broker
from psycopg import sql
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from hospes.bench.guest_graph import BenchError, _progress, _server_version
from hospes.bench.measure import Stats, run_clients
from hospes.bench.seed import _tenant_keys, libpq_url, scratch_database
from hospes.models.tenant import Channel, CommunicationStatus, Guest
from hospes.notifications import outgoing
from hospes.notifications.providers.log import LogProvider
from hospes.services.guest_fields import set_email, set_name
from hospes.settings import Settings
from hospes.tasks import outbox
from hospes.tasks.broker import make_broker
from hospes.tasks.relay import relay
from hospes.tasks.worker import Worker
from hospes.tenancy.crypto import encode_key, new_key, versions_in
from hospes.tenancy.database import (
    ConnectionPolicy,
    Role,
    TenantSessions,
    create_engine_async,
    create_engine_sync,
    tenant_sync_session,
)
from hospes.tenancy.keyring import Keyring, master_key_from
from hospes.tenancy.migrations import upgrade_public
from hospes.tenancy.provisioning import create_tenant
from hospes.tenancy.registry import TenantRef

FLOOR_QUEUE = "bench-floor"
FLOOR_ACTOR = "bench.floor"
BACKLOG_SAMPLE_SECONDS = 0.1
DRAIN_POLL_SECONDS = 0.02
IN_FLIGHT_POLL_SECONDS = 0.001
IN_FLIGHT_WARMUP = 5
MIN_TIMED_ARRIVALS = 500


@dataclass(frozen=True)
class Options:
    messages: int = 10_000
    tenants: int = 10
    guests_per_tenant: int = 5
    producers: int = 4
    warmup: int = 20
    in_flight_samples: int = 200
    max_seconds: float = 600.0  # per phase


@dataclass(frozen=True)
class Target:
    """Who one message goes to."""

    tenant: TenantRef
    guest_id: uuid.UUID


# --------------------------------------------------------------------------- set-up


def _delete_namespace(redis_url: str, namespace: str) -> int:
    """Remove every Redis key of this run (the namespace is unique to it); returns how many."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5.0, socket_connect_timeout=5.0)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


def create_targets(engine: Engine, settings: Settings, *, options: Options) -> list[Target]:
    """The public migrations, `options.tenants` tenants and their guests (email only, transactional
    mail reaches everyone with an address); targets in round-robin order over the tenants."""
    with engine.begin() as connection:
        upgrade_public(connection)
    master = master_key_from(settings)
    run_id = secrets.token_hex(3)
    per_tenant: list[list[Target]] = []
    for number in range(options.tenants):
        slug = f"bench-{run_id}-{number}"
        tenant = create_tenant(engine, slug=slug, name=f"Benchmark {slug}")
        keys = _tenant_keys(engine, master, schema_name=tenant.schema_name)
        guests = []
        with tenant_sync_session(engine, tenant.schema_name) as session, session.begin():
            for index in range(options.guests_per_tenant):
                guest = Guest(id=uuid.uuid4(), name="", language="en", preferred_channel=Channel.EMAIL.value)
                set_name(guest, f"Guest {index} of {slug}")
                set_email(guest, keys, f"guest{index}@{slug}.bench.test")
                session.add(guest)
                guests.append(Target(tenant, guest.id))
        per_tenant.append(guests)
    # Message i goes to tenant i mod T, to that tenant's guests in turn.
    return [guests[index] for index in range(options.guests_per_tenant) for guests in per_tenant]


# --------------------------------------------------------------------------- the two lanes


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

    def begin(self) -> None:
        self._phase = set()
        self._baseline = len(self.provider.sent)

    async def send(self, _number: int) -> None:
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
            self.committed[communication.id] = time.monotonic()
            self.tenant_of[communication.id] = tenant.id
            self._phase.add(communication.id)
            if await relay(self.producer, outbox.take_pending(session)) != 1:
                raise BenchError("the relay could not enqueue a message (is Redis up?)")
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


# --------------------------------------------------------------------------- phases


@dataclass
class Burst:
    lane: str
    delivery: Stats  # requests = delivered, seconds = first commit/enqueue -> last arrival
    producers: Stats  # the producers' own time per message (transaction + relay, or enqueue)
    peak_backlog: int
    # Deliveries per second once the producers were done: the worker without them competing for
    # the two cores and the GIL of this one process.
    worker_alone_rps: float


@dataclass
class InFlight:
    lane: str
    stats: Stats


@dataclass
class Findings:
    options: Options
    worker_threads: int
    pg_version: str
    load_before: float
    bursts: list[Burst] = field(default_factory=list)
    in_flight: list[InFlight] = field(default_factory=list)
    check: str = ""
    setup_seconds: float = 0.0


async def _until(condition: Callable[[], bool], *, deadline: float, poll: float) -> bool:
    """Wait until `condition()` holds; False when the deadline came first."""
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll)
    return True


async def burst(lane: Lane, *, count: int, producers: int, max_seconds: float) -> Burst:
    """`count` messages from `producers` concurrent producers, then wait until the worker has
    delivered every one that was sent. The backlog (sent, not yet delivered) is sampled meanwhile."""
    lane.begin()
    deadline = time.monotonic() + max_seconds
    sent = 0
    peak = 0

    async def send(number: int) -> None:
        nonlocal sent
        await lane.send(number)
        sent += 1

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, sent - lane.delivered())
            await asyncio.sleep(BACKLOG_SAMPLE_SECONDS)

    watcher = asyncio.create_task(watch())
    try:
        produced = await run_clients([send] * producers, requests=count, max_seconds=max_seconds)
        produced_at = time.monotonic()
        drained = await _until(lambda: lane.delivered() >= sent, deadline=deadline, poll=DRAIN_POLL_SECONDS)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    timings = lane.timings()
    return Burst(
        lane=lane.name,
        delivery=timings.stats(stopped_by_time=produced.stopped_by_time or not drained),
        producers=produced,
        peak_backlog=peak,
        worker_alone_rps=timings.rate_after(produced_at),
    )


def _more_than(lane: Lane, count: int) -> Callable[[], bool]:
    return lambda: lane.delivered() > count


async def one_in_flight(lane: Lane, *, samples: int, warmup: int, max_seconds: float) -> InFlight:
    """`samples` messages, each sent once the previous one was delivered: the latency without a
    backlog, the consumer's idle polling included. `warmup` unmeasured ones first, so the
    consumer is not asleep from the phase before (Dramatiq's Redis consumer polls with backoff)."""
    deadline = time.monotonic() + max_seconds
    stopped = False
    for number in range(warmup + samples):
        if number == warmup:
            lane.begin()
        before = lane.delivered()
        await lane.send(number)
        if not await _until(_more_than(lane, before), deadline=deadline, poll=IN_FLIGHT_POLL_SECONDS):
            stopped = True
            break
    return InFlight(lane.name, lane.timings().stats(stopped_by_time=stopped))


# --------------------------------------------------------------------------- report


def _duration(ms: float) -> str:
    if math.isnan(ms):  # nothing was measured
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def _per_second(value: float) -> str:
    return "- (too few messages left to time)" if math.isnan(value) else f"{value:,.0f}/s"


def _ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}x"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


_LABELS = {
    "floor": "floor: empty message -> no-op async actor",
    "real": "real: queue+commit -> relay -> deliver -> log provider",
}


def _burst_table(findings: Findings) -> str:
    by_lane = {found.lane: found.delivery for found in findings.bursts}
    rows: list[tuple[str, ...]] = [("", "delivered", "seconds", "msg/s", "p50", "p95")]
    for found in findings.bursts:
        stats = found.delivery
        rows.append(
            (
                _LABELS[found.lane],
                f"{stats.requests:,}",
                f"{stats.seconds:.1f}",
                f"{stats.rps:,.0f}",
                _duration(stats.p50),
                _duration(stats.p95),
            )
        )
    if {"floor", "real"} <= by_lane.keys():
        floor, real = by_lane["floor"], by_lane["real"]
        rows.append(
            (
                "ratio (throughput floor/real, latency real/floor)",
                "",
                "",
                _ratio(floor.rps / real.rps),
                _ratio(real.p50 / floor.p50),
                _ratio(real.p95 / floor.p95),
            )
        )
    return _table(rows)


def _in_flight_table(findings: Findings) -> str:
    by_lane = {found.lane: found.stats for found in findings.in_flight}
    rows: list[tuple[str, ...]] = [("", "messages", "p50", "p95")]
    for found in findings.in_flight:
        stats = found.stats
        rows.append((_LABELS[found.lane], f"{stats.requests:,}", _duration(stats.p50), _duration(stats.p95)))
    if {"floor", "real"} <= by_lane.keys():
        floor, real = by_lane["floor"], by_lane["real"]
        rows.append(("ratio real/floor", "", _ratio(real.p50 / floor.p50), _ratio(real.p95 / floor.p95)))
    return _table(rows)


def _bottleneck(found: Burst) -> list[str]:
    """Who set the pace of a burst: the worker (a backlog built up) or the producers."""
    produced, delivered = found.producers, found.delivery
    if produced.rps > 1.1 * delivered.rps and found.peak_backlog > 0.05 * produced.requests:
        verdict = "the worker was the bottleneck"
    elif found.peak_backlog <= 0.05 * produced.requests:
        verdict = "the producers set the pace (the backlog stayed small)"
    else:
        verdict = "producers and worker went at about the same pace"
    return [
        f"  {found.lane}: producers sent {produced.requests:,} in {produced.seconds:.1f}s "
        f"({produced.rps:,.0f}/s, {_duration(produced.p50)} p50 each), peak backlog {found.peak_backlog:,}: "
        f"{verdict}",
        f"    worker alone, once the producers were done: {_per_second(found.worker_alone_rps)}",
    ]


def _machine(findings: Findings, *, redis_version: str) -> list[str]:
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    libraries = []
    for name in ("dramatiq", "redis", "SQLAlchemy", "psycopg"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            libraries.append(f"{name} {metadata.version(name)}")
    return [
        f"machine:  {model}, {os.cpu_count()} cores; {platform.python_implementation()} "
        f"{platform.python_version()}, PostgreSQL {findings.pg_version}, Redis {redis_version}",
        f"          {', '.join(libraries)}; 1-minute load {findings.load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after",
    ]


def _report(findings: Findings, *, redis_version: str) -> str:
    options = findings.options
    lines = [
        "Hospes messages benchmark: the real outbox, Redis broker (Dramatiq) and worker, delivering through",
        "the log provider, against the same broker and worker moving empty messages to a no-op async actor,",
        "same run, same process.",
        f"set-up:   scratch database, {options.tenants} tenants x {options.guests_per_tenant} guests "
        f"with an email ({findings.setup_seconds:.1f}s); worker: {findings.worker_threads} threads, "
        "one event loop",
        f"load:     {options.producers} producers (asyncio tasks), round-robin over the tenants; real: one "
        "transaction per message",
        "          (load guest, outgoing.queue, commit) then the relay, as the API does; floor: enqueue only",
        "latency:  real = log provider call - commit; floor = actor start - enqueue "
        f"(warm-up: {options.warmup} per lane)",
        *_machine(findings, redis_version=redis_version),
        "",
        f"burst: {options.messages:,} messages per lane, as fast as the producers go",
        _burst_table(findings),
    ]
    lines += [line for found in findings.bursts for line in _bottleneck(found)]
    lines += [
        "  burst latency is mostly time queued behind earlier messages: it grows with the number of",
        "  messages and with how far the producers outrun the worker; the pipeline's own latency follows.",
    ]
    if findings.in_flight:
        lines += [
            "",
            f"one message in flight: {options.in_flight_samples} per lane, each sent once the previous one "
            "was delivered",
            _in_flight_table(findings),
        ]
    stopped = [found.lane for found in findings.bursts if found.delivery.stopped_by_time]
    stopped += [f"{found.lane} (in flight)" for found in findings.in_flight if found.stats.stopped_by_time]
    if stopped:
        lines.append(f"stopped by the time cap ({options.max_seconds:.0f}s per phase): {', '.join(stopped)}")
    lines += ["", f"check: {findings.check}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run


async def _measure(
    settings: Settings,
    *,
    database_url: str,
    floor: FloorLane,
    producer: Broker,
    provider: LogProvider,
    provider_capacity: int,
    targets: list[Target],
    findings: Findings,
) -> RealLane:
    options = findings.options
    # The producers' own engine, as the API has its own: the worker's belongs to its event loop.
    engine = create_engine_async(
        database_url,
        policy=ConnectionPolicy.of(settings, role=Role.API),
        pool_size=options.producers,
        max_overflow=options.producers,
    )
    try:
        real = RealLane(
            settings=settings,
            sessions=TenantSessions(engine, statement_timeout_ms=settings.db_statement_timeout_ms),
            keyring=Keyring(master_key_from(settings), ttl_seconds=settings.tenant_cache_seconds),
            producer=producer,
            provider=provider,
            provider_capacity=provider_capacity,
            targets=targets,
        )
        lanes: list[Lane] = [floor, real]
        for lane in lanes:
            # Warm-up just before the burst: caches, pooled connections, and a consumer that is
            # polling, not sleeping in its idle backoff from the phase before.
            warm = await burst(lane, count=options.warmup, producers=options.producers, max_seconds=60.0)
            if warm.delivery.stopped_by_time or warm.delivery.requests < options.warmup:
                raise BenchError(f"warm-up: {lane.name} messages were not delivered within 60s")
            _progress(f"{lane.name}: {options.messages:,} messages from {options.producers} producers")
            found = await burst(
                lane, count=options.messages, producers=options.producers, max_seconds=options.max_seconds
            )
            findings.bursts.append(found)
            _progress(
                f"{lane.name}: {found.delivery.requests:,} delivered in {found.delivery.seconds:.1f}s "
                f"({found.delivery.rps:,.0f}/s)"
            )
            if found.delivery.stopped_by_time:
                return real  # what is left in Redis would skew the next phase
        if options.in_flight_samples:
            for lane in lanes:
                _progress(f"{lane.name}: {options.in_flight_samples} messages, one in flight")
                findings.in_flight.append(
                    await one_in_flight(
                        lane,
                        samples=options.in_flight_samples,
                        warmup=min(options.warmup, IN_FLIGHT_WARMUP),
                        max_seconds=options.max_seconds,
                    )
                )
        return real
    finally:
        await engine.dispose()


def _wait_for_outbox(engine: Engine, *, max_seconds: float) -> None:
    """Let the last deliveries record their outcome: a message counts as delivered at its provider
    call, its row is marked `sent` (and its outbox row deleted) a transaction later."""
    deadline = time.monotonic() + max_seconds
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            if not connection.exec_driver_sql("SELECT count(*) FROM public.outbox").scalar_one():
                return
            connection.rollback()  # a fresh snapshot for the next look
            time.sleep(0.05)


def _measure_in(
    settings: Settings, *, database_url: str, redis_url: str, options: Options, findings: Findings
) -> None:
    """Set up the scratch database, run the worker, measure and check; leaves the worker stopped."""
    engine = create_engine_sync(database_url, policy=ConnectionPolicy.of(settings, role=Role.CLI))
    try:
        findings.pg_version = _server_version(database_url)
        started = time.perf_counter()
        _progress(f"creating {options.tenants} tenants with {options.guests_per_tenant} guests each")
        targets = create_targets(engine, settings, options=options)
        findings.setup_seconds = time.perf_counter() - started
        worker = Worker(settings, database_url=database_url, redis_url=redis_url)
        findings.worker_threads = settings.worker_threads
        # Room for every message twice over, so that a duplicate delivery could not push one out.
        capacity = 2 * (options.messages + 2 * options.warmup + options.in_flight_samples) + 1000
        provider = LogProvider(capacity=capacity)
        # Set before the worker starts: the runtime hands it to each tenant's providers on first use.
        worker.runtime.log_provider = provider
        producer = make_broker(
            redis_url, namespace=settings.redis_namespace, socket_timeout=settings.relay_timeout_seconds
        )
        floor = FloorLane(producer=producer, worker_broker=worker.broker)
        running = False
        try:
            worker.start()
            running = True
            real = asyncio.run(
                _measure(
                    settings,
                    database_url=database_url,
                    floor=floor,
                    producer=producer,
                    provider=provider,
                    provider_capacity=capacity,
                    targets=targets,
                    findings=findings,
                )
            )
            _wait_for_outbox(engine, max_seconds=30.0)
            problems, summary = real.check(database_url)
            problems += floor.check()
            findings.check = summary if not problems else "FAILED: " + "; ".join(problems)
        finally:
            if running:
                worker.stop()
            else:
                worker.broker.close()
            producer.close()
    finally:
        engine.dispose()


def run(settings: Settings, *, database_url: str, redis_url: str, options: Options) -> str:
    """Run the benchmark on a scratch database and a Redis namespace of its own, both removed
    afterwards; returns the report, or raises BenchError (with the report) when a check failed."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The log provider logs one line per message at INFO: 10,000 lines on stderr are not what we measure.
    logging.getLogger("hospes.messages").setLevel(logging.WARNING)
    namespace = f"bench-messages-{secrets.token_hex(4)}"
    findings = Findings(options=options, worker_threads=0, pg_version="?", load_before=os.getloadavg()[0])
    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=5.0, socket_connect_timeout=5.0)
        with contextlib.closing(client):
            redis_version = str(client.info("server").get("redis_version", "?"))
        with scratch_database(database_url) as scratch_url:
            bench_settings = settings.model_copy(
                update={
                    "database_url": scratch_url,
                    "redis_url": redis_url,
                    "redis_namespace": namespace,
                    # A key of its own for a database of its own: nothing read from the data folder.
                    "master_key": SecretStr(encode_key(new_key())),
                    # No provider credentials, whatever the environment says: the log provider sends.
                    "sendgrid_api_key": None,
                    "twilio_account_sid": None,
                    "twilio_auth_token": None,
                }
            )
            _measure_in(
                bench_settings,
                database_url=scratch_url,
                redis_url=redis_url,
                options=options,
                findings=findings,
            )
    except (psycopg.Error, redis.RedisError) as error:
        raise BenchError(f"{type(error).__name__}: {error}") from error
    finally:
        with contextlib.suppress(redis.RedisError):
            _delete_namespace(redis_url, namespace)
    report = _report(findings, redis_version=redis_version)
    if findings.check.startswith("FAILED") or any(b.delivery.stopped_by_time for b in findings.bursts):
        raise BenchError(report)
    return report
