"""`hospes bench`: the guest graph over HTTP against its floor, measured in the same run.

1. seed a throw-away tenant (bench.seed), 2. start a real `hospes serve` subprocess and log in,
3. check that the floor (bench.floor) returns exactly the API's JSON, 4. measure latency (one
client) and throughput (N clients) of the API and of the floor, 5. count the SQL the API issues
per request (in-process, on the engine's cursor events), 6. optionally profile guest detail,
7. print the table; the tenant is dropped and the server stopped whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from psycopg import sql

from hospes.bench import floor
from hospes.bench.graph_findings import NOOP, Findings, Options, Result, report
from hospes.bench.measure import Budget, Call, interleaved, sequential
from hospes.bench.profiling import profile_async, summary
from hospes.bench.seed import SeededTenant, drop_seeded, seed_tenant
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
from hospes.bench.sql_count import SqlCounter, typical
from hospes.schema.ids import encode_id
from hospes.settings import Settings
from hospes.tenancy.database import ConnectionPolicy, Role, create_engine_sync
from hospes.tenancy.keyring import master_key_from
from hospes.tenancy.passwords import Passwords

PAGE_SIZE = 50
# Every client talks to a server on this machine: no proxy from the environment may get in between
# (trust_env=False on each httpx client).

# The two operations. bench.floor returns exactly this `data` from one SQL statement each.
# They select no encrypted field (contact data, notes, message subjects and bodies: all of
# tenancy/encrypted_columns.py): those are stored AES-GCM encrypted and only the API can decrypt
# them, so a floor in SQL could not return the same JSON. Leaving them out keeps the floor
# comparable, like for like.
GUEST_DETAIL = """
query GuestDetail($id: ID!) {
  guest(id: $id) {
    id name country language preferredChannel smsOptIn marketingEmailConsent
    registeredAt lastActivityAt erasedAt bookingCount
    bookings {
      id checkIn checkOut adults children amount currency status source channel externalId
      createdAt cancelledAt
      stayGuest { name }
      property { id name timezone }
      payments { id amount currency method status paidAt createdAt }
      serviceRequests { id date people price currency status service { id name price currency } }
    }
    communications {
      id channel direction templateKey messageClass status createdAt sentAt
    }
    payments { id amount currency method status paidAt createdAt }
    serviceRequests { id date people price currency status createdAt }
  }
}
"""

GUEST_LIST = """
query GuestList($first: Int!) {
  guests(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id name country language lastActivityAt
        bookings {
          id checkIn checkOut status amount currency
          payments { id amount currency method status paidAt createdAt }
        }
      }
    }
  }
}
"""


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Workload:
    """What each operation asks for; request number i picks guest i (mod n), so requests rotate."""

    guest_pks: tuple[uuid.UUID, ...]
    guest_ids: tuple[str, ...]
    detail_sql: sql.Composed
    list_sql: sql.Composed

    @classmethod
    def build(cls, tenant: SeededTenant) -> Workload:
        pks = list(tenant.guest_ids)
        random.Random(7).shuffle(pks)  # not in insertion order: neighbours share no pages
        return cls(
            guest_pks=tuple(pks),
            guest_ids=tuple(encode_id("Guest", pk) for pk in pks),
            detail_sql=floor.guest_detail_sql(tenant.schema_name),
            list_sql=floor.guest_list_sql(tenant.schema_name),
        )

    def api_detail(self, client: httpx.AsyncClient) -> Call:
        async def call(number: int) -> None:
            variables = {"id": self.guest_ids[number % len(self.guest_ids)]}
            graphql_data(
                await client.post("/graphql", json={"query": GUEST_DETAIL, "variables": variables}), "guest"
            )

        return call

    def api_list(self, client: httpx.AsyncClient) -> Call:
        async def call(_number: int) -> None:
            variables = {"first": PAGE_SIZE}
            graphql_data(
                await client.post("/graphql", json={"query": GUEST_LIST, "variables": variables}), "guests"
            )

        return call

    def api_noop(self, client: httpx.AsyncClient) -> Call:
        """`{ __typename }` with the same token: the stack's fixed cost per request, no SQL."""

        async def call(_number: int) -> None:
            graphql_data(await client.post("/graphql", json={"query": NOOP}), "__typename")

        return call

    def floor_detail(self, conn: psycopg.AsyncConnection[Any]) -> Call:
        async def call(number: int) -> None:
            await floor.fetch_json(
                conn, self.detail_sql, {"id": self.guest_pks[number % len(self.guest_pks)]}
            )

        return call

    def floor_list(self, conn: psycopg.AsyncConnection[Any]) -> Call:
        async def call(_number: int) -> None:
            await floor.fetch_json(conn, self.list_sql, {"first": PAGE_SIZE})

        return call


def _first_difference(left: Any, right: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, or None."""
    pairs: list[tuple[Any, Any, str]] = []
    if isinstance(left, dict) and isinstance(right, dict):
        missing = sorted(set(left) ^ set(right))
        if missing:
            return f"{path}.{missing[0]}: only in {'the API' if missing[0] in left else 'the floor'}"
        pairs = [(left[key], right[key], f"{path}.{key}") for key in sorted(left)]
    elif isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items in the API, {len(right)} in the floor"
        pairs = [(a, b, f"{path}[{i}]") for i, (a, b) in enumerate(zip(left, right, strict=True))]
    elif left != right:
        return f"{path}: API {left!r}, floor {right!r}"
    for a, b, where in pairs:
        found = _first_difference(a, b, where)
        if found:
            return found
    return None


# --------------------------------------------------------------------------- the run


async def _check_same_json(
    workload: Workload, client: httpx.AsyncClient, conn: psycopg.AsyncConnection[Any]
) -> tuple[str, str, int, int]:
    """Compare the API's data with the floor's for a few guests and the list page."""
    detail_problem = None
    detail_bytes = 0
    for number in range(3):
        variables = {"id": workload.guest_ids[number]}
        response = await client.post("/graphql", json={"query": GUEST_DETAIL, "variables": variables})
        detail_bytes = len(response.content)
        api = graphql_data(response, "guest")
        own = await floor.fetch_json(conn, workload.detail_sql, {"id": workload.guest_pks[number]})
        detail_problem = detail_problem or _first_difference(api, own, "guest")
    response = await client.post("/graphql", json={"query": GUEST_LIST, "variables": {"first": PAGE_SIZE}})
    api = graphql_data(response, "guests")
    own = await floor.fetch_json(conn, workload.list_sql, {"first": PAGE_SIZE})
    list_problem = _first_difference(api, own, "guests")
    return (
        "identical" if detail_problem is None else f"DIFFERENT at {detail_problem}",
        "identical" if list_problem is None else f"DIFFERENT at {list_problem}",
        detail_bytes,
        len(response.content),
    )


async def _in_process(
    settings: Settings, *, database_url: str, redis_url: str, token: str, findings: Findings
) -> None:
    """The same app in this process (ASGI, no HTTP, no uvicorn): the SQL each request sends, the
    latency without the HTTP hop, and the optional profile."""
    from hospes.app import create_app

    options = findings.options
    workload = Workload.build(findings.tenant)
    app = create_app(settings, database_url=database_url, redis_url=redis_url)
    resources = app.state.resources
    counter = SqlCounter(resources.engine.sync_engine)
    budget = Budget(warmup=options.warmup, requests=min(options.requests, 100), max_seconds=15.0)
    try:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            detail = workload.api_detail(client)
            for result, call in zip(findings.results, (detail, workload.api_list(client)), strict=True):
                await call(0)  # fills the tenant-registry cache and opens a pooled connection
                samples = []
                for number in range(1, 6):
                    counter.reset()
                    await call(number)
                    samples.append(counter.reset())
                result.sql = typical(samples)
                result.in_process = await sequential(call, budget=budget)
            findings.noop_in_process = await sequential(workload.api_noop(client), budget=budget)
            if options.profile:
                findings.profile_lines = await _profile(detail, requests=options.profile_requests)
    finally:
        await resources.redis.aclose()
        await resources.engine.dispose()


async def _profile(call: Call, *, requests: int) -> list[str]:
    async def run() -> None:
        for number in range(requests):
            await call(number)

    await run()  # warm, so the profile shows the steady state
    started = time.perf_counter()
    stats = await profile_async(run)
    wall = time.perf_counter() - started
    header = f"profile: guest detail in-process (ASGI), {requests} sequential requests under cProfile"
    return [header, *summary(stats, requests=requests, wall=wall)]


async def _over_http(*, base_url: str, token: str, database_url: str, findings: Findings) -> None:
    """The API over HTTP and the floor, interleaved, latency then throughput, per operation."""
    options = findings.options
    workload = Workload.build(findings.tenant)
    budget = Budget(warmup=options.warmup, requests=options.requests, max_seconds=options.max_seconds)
    async with (
        http_clients(base_url, token, options.concurrency) as clients,
        db_connections(database_url, options.concurrency) as connections,
    ):
        detail_same, list_same, detail_bytes, list_bytes = await _check_same_json(
            workload, clients[0], connections[0]
        )
        operations = (
            ("guest detail", workload.api_detail, workload.floor_detail, detail_same, detail_bytes),
            (f"guests(first: {PAGE_SIZE})", workload.api_list, workload.floor_list, list_same, list_bytes),
        )
        for name, api, own, same, size in operations:
            progress(f"{name}: latency, 1 client (API and floor interleaved)")
            latency = await interleaved(
                {"api": [api(clients[0])], "floor": [own(connections[0])]}, budget=budget
            )
            progress(f"{name}: throughput, {options.concurrency} clients (API and floor interleaved)")
            load = await interleaved(
                {"api": [api(c) for c in clients], "floor": [own(c) for c in connections]}, budget=budget
            )
            findings.results.append(
                Result(
                    name=name,
                    api_latency=latency["api"],
                    api_load=load["api"],
                    floor_latency=latency["floor"],
                    floor_load=load["floor"],
                    response_bytes=size,
                    same_json=same,
                )
            )
        progress("`{ __typename }`: latency, 1 client")
        findings.noop_http = await sequential(workload.api_noop(clients[0]), budget=budget)


async def _bench(
    settings: Settings, *, base_url: str, database_url: str, redis_url: str, findings: Findings
) -> None:
    progress("logging in")
    token = await login(base_url, findings.tenant)
    try:
        await _over_http(base_url=base_url, token=token, database_url=database_url, findings=findings)
        progress(
            "in-process: SQL per request and latency" + (", profile" if findings.options.profile else "")
        )
        await _in_process(
            settings, database_url=database_url, redis_url=redis_url, token=token, findings=findings
        )
    finally:
        await logout(base_url, token)


def run(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str,
    options: Options,
    then: Callable[[str, SeededTenant], str] | None = None,
) -> str:
    """Run the whole benchmark and return the report; leaves no tenant and no server behind.
    `then(base_url, tenant)`, if given, runs last against the same server and tenant (it may
    change the tenant's data) and its report is appended."""
    # httpx logs every request at INFO, alembic every migration step: they would bury the report.
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    load_before = os.getloadavg()[0]
    engine = create_engine_sync(database_url, policy=ConnectionPolicy.of(settings, role=Role.CLI))
    try:
        pg_version = server_version(database_url)
        passwords = Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
        progress(f"seeding a tenant with {options.guests} guests")
        tenant = seed_tenant(
            engine,
            database_url=database_url,
            guests=options.guests,
            passwords=passwords,
            master=master_key_from(settings),
        )
        findings = Findings(tenant=tenant, options=options, pg_version=pg_version, load_before=load_before)
        progress(f"seeded {tenant.slug} in {tenant.seconds:.1f}s; starting `hospes serve`")
        try:
            with hospes_server(database_url=database_url, redis_url=redis_url) as base_url:
                asyncio.run(
                    _bench(
                        settings,
                        base_url=base_url,
                        database_url=database_url,
                        redis_url=redis_url,
                        findings=findings,
                    )
                )
                appended = then(base_url, tenant) if then is not None else ""
        except (httpx.HTTPError, psycopg.Error) as error:
            raise BenchError(f"{type(error).__name__}: {error}") from error
        finally:
            progress(f"dropping {tenant.slug}")
            drop_seeded(engine, tenant)
    finally:
        engine.dispose()
    findings.load_after = os.getloadavg()[0]
    return report(findings) + ("\n" + appended if appended else "")
