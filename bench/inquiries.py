"""`hospes bench inquiries`: the inquiry pipeline at 20,000 inquiries and 100,000 guests, and 1,000
reminders falling due at once, each against a floor measured in the same run.

1. a scratch database (dropped afterwards): the customer bench's tenant (100,000 guests with their
   bookings, by COPY) and 20,000 inquiries across the five stages, 1,000 of them with a reminder;
2. a real `hospes serve`; per question, the API over HTTP and one hand-written SQL statement
   through psycopg, interleaved, one client: `inquiryStageCounts` and the first page of
   `inquiries(stage: NEW)`; both must give the same answer;
3. a worker and a scheduler in this process (real actors, the log provider): the 1,000 reminders
   fall due in one transaction; the time until the last one is at the provider, against 1,000
   empty messages through the same broker and worker (the messages bench's floor);
4. the report; the database and the Redis namespace are removed whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

from hospes.bench.customer_seed import Customers, seed_customers
from hospes.bench.inquiry_seed import Inquiries, fall_due, seed_inquiries
from hospes.bench.measure import Budget, Call, Stats, interleaved
from hospes.bench.message_lanes import FloorLane
from hospes.bench.messages import burst, delete_namespace
from hospes.bench.report import api_floor_table
from hospes.bench.seed import libpq_url, scratch_database
from hospes.bench.server import (
    BenchError,
    db_connections,
    graphql_data,
    hospes_server,
    http_clients,
    login,
    logout,
    progress,
    server_version,
)
from hospes.notifications.providers.log import LogProvider
from hospes.schema.ids import encode_id
from hospes.settings import Settings
from hospes.tasks import scheduler
from hospes.tasks.broker import make_broker
from hospes.tasks.worker import Worker
from hospes.tenancy.database import ConnectionPolicy, Role, create_engine_async, create_engine_sync
from hospes.tenancy.keyring import master_key_from
from hospes.tenancy.passwords import Passwords

PAGE_SIZE = 50
POLL_SECONDS = 0.01

COUNTS = "query Counts { inquiryStageCounts { stage count needsAction } }"
PAGE = """
query Page($first: Int!) {
  inquiries(stage: NEW, first: $first) {
    totalCount edges { node { id needsAction lastActivityAt guest { name } } }
  }
}
"""


@dataclass(frozen=True)
class Options:
    guests: int = 100_000
    inquiries: int = 20_000
    reminders: int = 1_000
    requests: int = 200
    warmup: int = 20
    max_seconds: float = 60.0


@dataclass
class Read:
    name: str
    api: Stats
    floor: Stats
    check: str


@dataclass
class Reminders:
    count: int
    seconds: float
    floor_seconds: float
    check: str


# --------------------------------------------------------------------------- floors


def counts_sql(schema: str) -> sql.Composed:
    return sql.SQL(
        "SELECT stage, count(*), count(*) FILTER (WHERE needs_action) FROM {} GROUP BY stage"
    ).format(sql.Identifier(schema, "inquiry"))


def page_sql(schema: str) -> sql.Composed:
    """The first page of NEW inquiries in the pipeline's order, with the guest's name and the total."""
    return sql.SQL(
        "SELECT i.id, i.needs_action, i.last_activity_at, g.name, "
        "(SELECT count(*) FROM {inquiry} WHERE stage = 'new') AS total "
        "FROM {inquiry} i JOIN {guest} g ON g.id = i.guest_id WHERE i.stage = 'new' "
        "ORDER BY i.needs_action DESC, i.last_activity_at DESC, i.id DESC LIMIT %(first)s"
    ).format(inquiry=sql.Identifier(schema, "inquiry"), guest=sql.Identifier(schema, "guest"))


# --------------------------------------------------------------------------- reads


def _counts_check(api: list[dict[str, Any]], floor: list[tuple[Any, ...]]) -> str:
    from_api = {row["stage"].lower(): (row["count"], row["needsAction"]) for row in api}
    from_floor = {stage: (count, waiting) for stage, count, waiting in floor}
    same = all(from_api.get(stage, (0, 0)) == counts for stage, counts in from_floor.items())
    return f"{'same counts' if same else 'DIFFERENT'}: {from_api}"


def _page_check(api: dict[str, Any], floor: list[tuple[Any, ...]]) -> str:
    api_ids = [edge["node"]["id"] for edge in api["edges"]]
    floor_ids = [encode_id("Inquiry", row[0]) for row in floor]
    total = int(floor[0][4]) if floor else 0
    same = api_ids == floor_ids and api["totalCount"] == total
    return (
        f"{'same ids, order and total' if same else 'DIFFERENT'}; {len(api_ids)} rows, totalCount {total:,}"
    )


async def _reads(
    *, base_url: str, token: str, database_url: str, schema: str, options: Options
) -> list[Read]:
    budget = Budget(warmup=options.warmup, requests=options.requests, max_seconds=options.max_seconds)
    results = []
    async with http_clients(base_url, token, 1) as clients, db_connections(database_url, 1) as connections:
        client, conn = clients[0], connections[0]

        async def ask(query: str, field: str) -> Any:
            response = await client.post("/graphql", json={"query": query, "variables": {"first": PAGE_SIZE}})
            return graphql_data(response, field)

        async def fetch(statement: sql.Composed) -> list[tuple[Any, ...]]:
            return await (await conn.execute(statement, {"first": PAGE_SIZE})).fetchall()

        questions = (
            ("inquiryStageCounts", COUNTS, "inquiryStageCounts", counts_sql(schema), _counts_check),
            (f"inquiries(stage: NEW, first: {PAGE_SIZE})", PAGE, "inquiries", page_sql(schema), _page_check),
        )
        for name, query, field, statement, check in questions:
            progress(f"{name}: checking, then API and floor interleaved")
            verdict = check(await ask(query, field), await fetch(statement))

            def api(query: str = query, field: str = field) -> Call:
                async def call(_number: int) -> None:
                    await ask(query, field)

                return call

            def own(statement: sql.Composed = statement) -> Call:
                async def call(_number: int) -> None:
                    await fetch(statement)

                return call

            stats = await interleaved({"api": [api()], "floor": [own()]}, budget=budget)
            results.append(Read(name=name, api=stats["api"], floor=stats["floor"], check=verdict))
    return results


# --------------------------------------------------------------------------- reminders


async def _until_sent(provider: LogProvider, count: int, *, max_seconds: float) -> float | None:
    started = time.monotonic()
    while len(provider.sent) < count:
        if time.monotonic() - started > max_seconds:
            return None
        await asyncio.sleep(POLL_SECONDS)
    return max(call.at for call in provider.sent) - started


def _reminder_outcome(database_url: str, schema: str) -> str:
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT r.status, count(*), count(DISTINCT c.id), count(*) FILTER (WHERE c.status = 'sent') "
                "FROM {reminder} r LEFT JOIN {communication} c ON c.id = r.communication_id GROUP BY r.status"
            ).format(
                reminder=sql.Identifier(schema, "inquiry_reminder"),
                communication=sql.Identifier(schema, "communication"),
            )
        ).fetchall()
    return ", ".join(
        f"{status}: {count} ({messages} messages, {sent} at the provider)"
        for status, count, messages, sent in rows
    )


async def _reminders(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str,
    data: Customers,
    seeded: Inquiries,
    options: Options,
) -> Reminders:
    """The worker and scheduler of this process deliver the reminders, then the floor's empty messages."""
    worker = Worker(settings, database_url=database_url, redis_url=redis_url)
    provider = LogProvider(capacity=4 * options.reminders + 100)
    worker.runtime.log_provider = provider
    producer = make_broker(redis_url, namespace=settings.redis_namespace)
    floor = FloorLane(producer=producer, worker_broker=worker.broker)
    engine = create_engine_async(
        database_url, policy=ConnectionPolicy.of(settings, role=Role.SCHEDULER), pool_size=2, max_overflow=2
    )
    stop = asyncio.Event()
    worker.start()
    loop = asyncio.create_task(
        scheduler.run(
            engine,
            producer,
            interval_seconds=0.05,
            lease_seconds=settings.outbox_lease_seconds,
            batch=settings.scheduler_batch_size,
            stop=stop,
        )
    )
    try:
        with psycopg.connect(libpq_url(database_url)) as conn:
            tenant_id = conn.execute(
                "SELECT id FROM public.tenant WHERE slug = %s", (data.tenant.slug,)
            ).fetchone()
        if tenant_id is None:
            raise BenchError(f"tenant {data.tenant.slug} is missing")
        progress(f"{len(seeded.reminder_ids):,} reminders fall due at once")
        due = fall_due(database_url, schema=data.tenant.schema_name, tenant_id=tenant_id[0])
        seconds = await _until_sent(provider, due, max_seconds=options.max_seconds * 5)
        if seconds is None:
            raise BenchError(f"only {len(provider.sent)} of {due} reminders reached the provider in time")
        await asyncio.sleep(1.0)  # a duplicate would show up now
        duplicates = len(provider.sent) - due
        progress(f"floor: {due:,} empty messages through the same broker and worker")
        warm = await burst(floor, count=options.warmup, producers=1, max_seconds=60.0)
        if warm.delivery.requests < options.warmup:
            raise BenchError("floor warm-up messages were not delivered")
        found = await burst(floor, count=due, producers=1, max_seconds=options.max_seconds * 5)
        check = _reminder_outcome(database_url, data.tenant.schema_name)
        if duplicates:
            check = f"FAILED: {duplicates} extra provider call(s); {check}"
        return Reminders(count=due, seconds=seconds, floor_seconds=found.delivery.seconds, check=check)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await loop
        await engine.dispose()
        worker.stop()
        producer.close()


# --------------------------------------------------------------------------- report


def _report(
    data: Customers, seeded: Inquiries, reads: list[Read], reminders: Reminders, *, pg_version: str
) -> str:
    table = api_floor_table([(r.name, r.api, r.floor) for r in reads])
    stages = ", ".join(
        f"{stage} {count:,} ({seeded.needs_action[stage]:,} need action)"
        for stage, count in seeded.counts.items()
    )
    ratio = reminders.seconds / reminders.floor_seconds if reminders.floor_seconds else float("nan")
    lines = [
        "Hospes inquiries benchmark: the API over HTTP (`hospes serve`, 1 worker, httpx keep-alive) vs one",
        "hand-written SQL statement per question (psycopg, autocommit), same run, 1 client, sequential;",
        "reminders through the scheduler, the worker and the log provider vs empty messages (same broker",
        "and worker).",
        f"data: {data.tenant.counts['guest']:,} guests, {sum(seeded.counts.values()):,} inquiries: {stages}; "
        f"seeded in {data.tenant.seconds + seeded.seconds:.1f}s; PostgreSQL {pg_version}",
        "",
        *table,
        "",
        "ratio = API / floor (higher is worse); times in ms.",
        *(f"{r.name}: {r.check}" for r in reads),
        "",
        f"{reminders.count:,} reminders falling due at once: all at the provider in {reminders.seconds:.2f}s "
        f"({reminders.count / reminders.seconds:,.0f}/s); floor ({reminders.count:,} empty messages) "
        f"{reminders.floor_seconds:.2f}s; ratio {ratio:.1f}x",
        f"reminders: {reminders.check}",
    ]
    return "\n".join(lines)


def run(settings: Settings, *, database_url: str, redis_url: str, options: Options) -> str:
    """Run the benchmark in a scratch database and a Redis namespace of its own; returns the report."""
    for noisy in ("httpx", "alembic", "hospes.messages", "hospes.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    namespace = f"bench-inquiries-{secrets.token_hex(4)}"
    try:
        with scratch_database(database_url) as scratch_url:
            bench_settings = settings.model_copy(
                update={
                    "database_url": scratch_url,
                    "redis_namespace": namespace,
                    # The log provider takes every message, whatever the environment configures.
                    "sendgrid_api_key": None,
                    "twilio_account_sid": None,
                    "twilio_auth_token": None,
                }
            )
            engine = create_engine_sync(
                scratch_url, policy=ConnectionPolicy.of(bench_settings, role=Role.CLI)
            )
            try:
                pg_version = server_version(scratch_url)
                progress(f"seeding {options.guests:,} guests, then {options.inquiries:,} inquiries")
                data = seed_customers(
                    engine,
                    database_url=scratch_url,
                    guests=options.guests,
                    passwords=Passwords(
                        time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
                    ),
                    master=master_key_from(settings),
                )
                seeded = seed_inquiries(
                    scratch_url, data, inquiries=options.inquiries, reminders=options.reminders
                )
            finally:
                engine.dispose()
            progress("starting `hospes serve`")
            with hospes_server(database_url=scratch_url, redis_url=redis_url) as base_url:

                async def reads() -> list[Read]:
                    token = await login(base_url, data.tenant)
                    try:
                        return await _reads(
                            base_url=base_url,
                            token=token,
                            database_url=scratch_url,
                            schema=data.tenant.schema_name,
                            options=options,
                        )
                    finally:
                        await logout(base_url, token)

                read_results = asyncio.run(reads())
            reminder_results = asyncio.run(
                _reminders(
                    bench_settings,
                    database_url=scratch_url,
                    redis_url=redis_url,
                    data=data,
                    seeded=seeded,
                    options=options,
                )
            )
    except (httpx.HTTPError, psycopg.Error, redis.RedisError) as error:
        raise BenchError(f"{type(error).__name__}: {error}") from error
    finally:
        with contextlib.suppress(redis.RedisError):
            delete_namespace(redis_url, namespace)
    text = _report(data, seeded, read_results, reminder_results, pg_version=pg_version)
    if "DIFFERENT" in text or reminder_results.check.startswith("FAILED"):
        raise BenchError(text)
    return text
