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
4. a backlog per lane: N messages committed first (the real lane's outbox rows are not relayed yet),
   then released at once (one relay call, as a scheduler tick would): the worker's own rate,
   with the producers out of the way;
5. one message in flight at a time, floor and real alternately: the latency without a backlog;
6. check that every message was delivered exactly once, then print the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable

import psycopg
import redis
from dramatiq.broker import Broker
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from hospes.bench.measure import run_clients
from hospes.bench.message_findings import Backlog, Burst, Findings, InFlight, Options, report
from hospes.bench.message_lanes import FloorLane, Lane, RealLane, Target
from hospes.bench.seed import scratch_database, tenant_keys
from hospes.bench.server import BenchError, progress, server_version
from hospes.models.tenant import Channel, Guest
from hospes.notifications.providers.log import LogProvider
from hospes.services.guest_fields import set_email, set_name
from hospes.settings import Settings
from hospes.tasks.broker import make_broker
from hospes.tasks.worker import Worker
from hospes.tenancy.crypto import encode_key, new_key
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

BACKLOG_SAMPLE_SECONDS = 0.1
DRAIN_POLL_SECONDS = 0.02
IN_FLIGHT_POLL_SECONDS = 0.001
IN_FLIGHT_WARMUP = 5


# --------------------------------------------------------------------------- set-up


def delete_namespace(redis_url: str, namespace: str) -> int:
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
        keys = tenant_keys(engine, master, schema_name=tenant.schema_name)
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


# --------------------------------------------------------------------------- phases


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


async def backlog(lane: Lane, *, count: int, max_seconds: float) -> Backlog:
    """`count` messages prepared (committed, not relayed), then released at once; the time from
    the release to the last of them arriving."""
    await lane.prepare(count)
    lane.begin()
    started = time.monotonic()
    await lane.release()
    drained = await _until(
        lambda: lane.delivered() >= count, deadline=started + max_seconds, poll=DRAIN_POLL_SECONDS
    )
    arrivals = lane.timings().arrivals
    seconds = max(arrivals) - started if arrivals else 0.0
    return Backlog(lane.name, len(arrivals), seconds, stopped_by_time=not drained)


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
            progress(f"{lane.name}: {options.messages:,} messages from {options.producers} producers")
            found = await burst(
                lane, count=options.messages, producers=options.producers, max_seconds=options.max_seconds
            )
            findings.bursts.append(found)
            progress(
                f"{lane.name}: {found.delivery.requests:,} delivered in {found.delivery.seconds:.1f}s "
                f"({found.delivery.rps:,.0f}/s)"
            )
            if found.delivery.stopped_by_time:
                return real  # what is left in Redis would skew the next phase
        if options.backlog:
            for lane in lanes:
                count = min(options.backlog, options.messages)
                progress(f"{lane.name}: a backlog of {count:,} messages, released at once")
                drained = await backlog(lane, count=count, max_seconds=options.max_seconds)
                findings.backlogs.append(drained)
                progress(f"{lane.name}: drained in {drained.seconds:.1f}s ({drained.rps:,.0f}/s)")
                if drained.stopped_by_time:
                    return real
        if options.in_flight_samples:
            for lane in lanes:
                progress(f"{lane.name}: {options.in_flight_samples} messages, one in flight")
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
        findings.pg_version = server_version(database_url)
        started = time.perf_counter()
        progress(f"creating {options.tenants} tenants with {options.guests_per_tenant} guests each")
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
            delete_namespace(redis_url, namespace)
    text = report(findings, redis_version=redis_version)
    if (
        findings.check.startswith("FAILED")
        or any(b.delivery.stopped_by_time for b in findings.bursts)
        or any(b.stopped_by_time for b in findings.backlogs)
    ):
        raise BenchError(text)
    return text
