"""`hospes bench`: the guest graph over HTTP against its floor, measured in the same run.

1. seed a throw-away tenant (bench.seed), 2. start a real `hospes serve` subprocess and log in,
3. check that the floor (bench.floor) returns exactly the API's JSON, 4. measure latency (one
client) and throughput (N clients) of the API and of the floor, 5. count the SQL the API issues
per request (in-process, on the engine's cursor events), 6. optionally profile guest detail,
7. print the table; the tenant is dropped and the server stopped whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import click
import httpx
import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy import event

from hospes.bench import floor
from hospes.bench.measure import Budget, Call, Stats, interleaved, sequential
from hospes.bench.profiling import profile_async, summary
from hospes.bench.seed import SeededTenant, drop_seeded, libpq_url, seed_tenant
from hospes.schema.ids import encode_id
from hospes.settings import Settings
from hospes.tenancy.database import ConnectionPolicy, Role, create_engine_sync
from hospes.tenancy.keyring import master_key_from
from hospes.tenancy.passwords import Passwords

PAGE_SIZE = 50
SERVER_START_SECONDS = 60.0
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

NOOP = "{ __typename }"

LOGIN = """
mutation Login($input: LoginInput!) { login(input: $input) { token errors { field code message } } }
"""


@dataclass(frozen=True)
class Options:
    guests: int = 1000
    requests: int = 200
    concurrency: int = 8
    warmup: int = 20
    max_seconds: float = 30.0
    profile: bool = False
    profile_requests: int = 200
    show_sql: bool = False


class BenchError(RuntimeError):
    """The benchmark cannot go on (server did not start, an answer was wrong...)."""


def _progress(message: str) -> None:
    # Progress goes to stderr, so stdout holds only the report.
    click.echo(f"[bench] {message}", err=True)


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _hospes_command() -> list[str]:
    # The `hospes` script of this interpreter's environment; `python -m hospes` is the same program.
    script = Path(sys.executable).parent / "hospes"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hospes"]


def _tail(log: IO[str], lines: int = 30) -> str:
    log.flush()
    log.seek(0)
    return "".join(log.readlines()[-lines:])


@contextlib.contextmanager
def hospes_server(
    *, database_url: str, redis_url: str, extra_env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A `hospes serve` subprocess on a free port, ready (healthz 200) when this yields its URL;
    `extra_env` adds settings of its own."""
    port = _free_port()
    env = {
        **os.environ,
        "HOSPES_DATABASE_URL": database_url,
        "HOSPES_REDIS_URL": redis_url,
        # uvicorn logs every request at INFO; a log line per request is not what we measure.
        "HOSPES_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    command = [*_hospes_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+", prefix="hospes-bench-serve-") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while True:
                if process.poll() is not None:
                    raise BenchError(f"`hospes serve` exited with {process.returncode}:\n{_tail(log)}")
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"`hospes serve` not healthy after {SERVER_START_SECONDS:.0f}s:\n{_tail(log)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base_url}/healthz", timeout=2.0, trust_env=False).status_code == 200:
                        break
                time.sleep(0.1)
            yield base_url
        finally:
            process.terminate()  # uvicorn shuts down gracefully on SIGTERM
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --------------------------------------------------------------------------- operations


def _data(response: httpx.Response, field_name: str) -> Any:
    """The operation's root field, or a BenchError that says what went wrong."""
    if response.status_code != 200:
        raise BenchError(f"HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    if body.get("errors"):
        raise BenchError(f"GraphQL errors: {body['errors']}")
    value = body["data"][field_name]
    if value is None:
        raise BenchError(f"`{field_name}` is null")
    return value


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
            _data(
                await client.post("/graphql", json={"query": GUEST_DETAIL, "variables": variables}), "guest"
            )

        return call

    def api_list(self, client: httpx.AsyncClient) -> Call:
        async def call(_number: int) -> None:
            variables = {"first": PAGE_SIZE}
            _data(await client.post("/graphql", json={"query": GUEST_LIST, "variables": variables}), "guests")

        return call

    def api_noop(self, client: httpx.AsyncClient) -> Call:
        """`{ __typename }` with the same token: the stack's fixed cost per request, no SQL."""

        async def call(_number: int) -> None:
            _data(await client.post("/graphql", json={"query": NOOP}), "__typename")

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


# --------------------------------------------------------------------------- SQL statements


@dataclass
class SqlCount:
    statements: int = 0
    checkouts: int = 0  # each one is a pre-ping round trip (pool_pre_ping=True)
    transactions: int = 0
    ends: int = 0  # COMMIT / ROLLBACK
    texts: list[str] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        # psycopg sends BEGIN on its own before a transaction's first statement.
        return self.statements + self.checkouts + self.transactions + self.ends


class SqlCounter:
    """Counts what the app's engine sends, through SQLAlchemy's engine and pool events."""

    def __init__(self, engine: sa.Engine) -> None:
        self.current = SqlCount()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        event.listen(engine.pool, "checkout", self._checkout)

    def reset(self) -> SqlCount:
        done, self.current = self.current, SqlCount()
        return done

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.current.statements += 1
        self.current.texts.append(" ".join(statement.split()))

    def _begin(self, _conn: Any) -> None:
        self.current.transactions += 1

    def _end(self, _conn: Any) -> None:
        self.current.ends += 1

    def _checkout(self, *_args: Any) -> None:
        self.current.checkouts += 1


def _typical(counts: Sequence[SqlCount]) -> SqlCount:
    # The most common shape: a request that refreshed the tenant-registry cache is the exception.
    common, _ = Counter((c.statements, c.round_trips) for c in counts).most_common(1)[0]
    return next(c for c in counts if (c.statements, c.round_trips) == common)


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    name: str
    api_latency: Stats
    api_load: Stats
    floor_latency: Stats
    floor_load: Stats
    response_bytes: int = 0
    in_process: Stats | None = None
    sql: SqlCount | None = None
    same_json: str = "not checked"


@dataclass
class Findings:
    """Everything the report prints, filled in as the run goes."""

    tenant: SeededTenant
    options: Options
    pg_version: str
    load_before: float
    load_after: float = 0.0
    results: list[Result] = field(default_factory=list)
    noop_http: Stats | None = None
    noop_in_process: Stats | None = None
    profile_lines: list[str] = field(default_factory=list)


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _p(stats: Stats) -> str:
    return f"p50 {_ms(stats.p50)} ms, p95 {_ms(stats.p95)} ms"


def _table(results: Sequence[Result], *, concurrency: int) -> str:
    header = (
        "operation",
        "p50 ms",
        "p95 ms",
        f"rps@{concurrency}",
        "floor p50",
        "floor p95",
        f"floor rps@{concurrency}",
        "p50 ratio",
        "rps ratio",
        "SQL/req",
    )
    rows = [header]
    for r in results:
        statements = f"{r.sql.statements} (+{r.sql.round_trips - r.sql.statements})" if r.sql else "?"
        rows.append(
            (
                r.name,
                _ms(r.api_latency.p50),
                _ms(r.api_latency.p95),
                f"{r.api_load.rps:.0f}",
                _ms(r.floor_latency.p50),
                _ms(r.floor_latency.p95),
                f"{r.floor_load.rps:.0f}",
                f"{r.api_latency.p50 / r.floor_latency.p50:.1f}x",
                f"{r.floor_load.rps / r.api_load.rps:.1f}x",
                statements,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _machine(findings: Findings) -> list[str]:
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    libraries = []
    for name in (
        "strawberry-graphql",
        "graphql-core",
        "starlette",
        "uvicorn",
        "SQLAlchemy",
        "psycopg",
        "httpx",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            libraries.append(f"{name} {metadata.version(name)}")
    return [
        f"machine:  {model}, {os.cpu_count()} cores ({usable} usable), "
        f"{platform.system()} {platform.release()}",
        f"software: {platform.python_implementation()} {platform.python_version()}, "
        f"PostgreSQL {findings.pg_version}",
        f"          {', '.join(libraries)}",
        f"load:     1-minute load average {findings.load_before:.2f} before the run, "
        f"{findings.load_after:.2f} after",
    ]


# --------------------------------------------------------------------------- the run


async def _login(base_url: str, tenant: SeededTenant) -> str:
    variables = {
        "input": {"tenant": tenant.slug, "email": tenant.owner_email, "password": tenant.owner_password}
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, trust_env=False) as client:
        payload = _data(await client.post("/graphql", json={"query": LOGIN, "variables": variables}), "login")
    if payload["errors"] or not payload["token"]:
        raise BenchError(f"login failed: {payload['errors']}")
    return str(payload["token"])


async def _logout(base_url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=10.0, trust_env=False
        ) as client:
            await client.post("/graphql", json={"query": "mutation { logout }"})


@contextlib.asynccontextmanager
async def _clients(base_url: str, token: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60.0, trust_env=False)
            )
            for _ in range(count)
        ]


@contextlib.asynccontextmanager
async def _connections(database_url: str, count: int) -> AsyncIterator[list[psycopg.AsyncConnection[Any]]]:
    async with contextlib.AsyncExitStack() as stack:
        connections = []
        for _ in range(count):
            # Autocommit: one statement is one round trip, the least any client can do.
            conn = await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True)
            connections.append(await stack.enter_async_context(conn))
        yield connections


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
        api = _data(response, "guest")
        own = await floor.fetch_json(conn, workload.detail_sql, {"id": workload.guest_pks[number]})
        detail_problem = detail_problem or _first_difference(api, own, "guest")
    response = await client.post("/graphql", json={"query": GUEST_LIST, "variables": {"first": PAGE_SIZE}})
    api = _data(response, "guests")
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
                result.sql = _typical(samples)
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
        _clients(base_url, token, options.concurrency) as clients,
        _connections(database_url, options.concurrency) as connections,
    ):
        detail_same, list_same, detail_bytes, list_bytes = await _check_same_json(
            workload, clients[0], connections[0]
        )
        operations = (
            ("guest detail", workload.api_detail, workload.floor_detail, detail_same, detail_bytes),
            (f"guests(first: {PAGE_SIZE})", workload.api_list, workload.floor_list, list_same, list_bytes),
        )
        for name, api, own, same, size in operations:
            _progress(f"{name}: latency, 1 client (API and floor interleaved)")
            latency = await interleaved(
                {"api": [api(clients[0])], "floor": [own(connections[0])]}, budget=budget
            )
            _progress(f"{name}: throughput, {options.concurrency} clients (API and floor interleaved)")
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
        _progress("`{ __typename }`: latency, 1 client")
        findings.noop_http = await sequential(workload.api_noop(clients[0]), budget=budget)


def _noise_warning(findings: Findings) -> list[str]:
    # Only the load before the run tells: during it the benchmark itself keeps the cores busy.
    cores = os.cpu_count() or 1
    if findings.load_before <= 0.5 * cores:
        return []
    return [
        f"WARNING: the machine was busy before the run (load average {findings.load_before:.1f} on "
        f"{cores} cores); other processes compete with the benchmark, so expect noisy numbers.",
    ]


def _server_version(database_url: str) -> str:
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def _operation_lines(result: Result, *, options: Options) -> list[str]:
    r = result
    lines = [
        f"{r.name}:",
        f"  floor JSON vs API data: {r.same_json}; API response {r.response_bytes:,} bytes",
        f"  under load ({options.concurrency} clients): API {_p(r.api_load)}; floor {_p(r.floor_load)}",
    ]
    if r.in_process is not None:
        lines.append(f"  in-process (ASGI, no HTTP/uvicorn): {_p(r.in_process)}")
    if r.sql is not None:
        lines.append(
            f"  SQL per request: {r.sql.statements} statements, {r.sql.round_trips} round trips "
            f"({r.sql.transactions} BEGIN, {r.sql.ends} COMMIT/ROLLBACK, {r.sql.checkouts} pool pre-ping)"
        )
        if options.show_sql:
            lines.extend(f"    {text[:150]}" for text in r.sql.texts)
    phases = (
        ("API latency", r.api_latency),
        ("API rps", r.api_load),
        ("floor latency", r.floor_latency),
        ("floor rps", r.floor_load),
    )
    stopped = [label for label, stats in phases if stats.stopped_by_time]
    if stopped:
        lines.append(f"  stopped by the time cap before all requests were sent: {', '.join(stopped)}")
    return lines


def _report(findings: Findings) -> str:
    options, counts, tenant = findings.options, findings.tenant.counts, findings.tenant
    lines = [
        "Hospes guest-graph benchmark: the API over HTTP vs the floor (one hand-written SQL statement",
        "per operation, through psycopg), measured in the same run.",
        "",
        *_machine(findings),
        f"data:     tenant {tenant.slug}: {counts['guest']} guests, {counts['booking']} bookings, "
        f"{counts['payment']} payments, {counts['service_request']} service requests,",
        f"          {counts['communication']} communications, {counts['property']} properties, "
        f"{counts['service']} services (seeded in {tenant.seconds:.1f}s)",
        f"requests: warm-up {options.warmup}, then {options.requests} per phase (cap "
        f"{options.max_seconds:.0f}s), API and floor interleaved in 5 rounds;",
        f"          latency with 1 client, rps with {options.concurrency} clients; API: `hospes serve` "
        "(1 uvicorn worker)",
        "          over HTTP/1.1 keep-alive (httpx); floor: psycopg async, autocommit, one connection",
        "          per client",
        *_noise_warning(findings),
        "",
        _table(findings.results, concurrency=options.concurrency),
        "",
        "p50 ratio = API p50 / floor p50; rps ratio = floor rps / API rps (both: higher is worse).",
        "SQL/req = statements the API sends per request (+ BEGIN, COMMIT and the pool's pre-ping).",
        "",
    ]
    for result in findings.results:
        lines += _operation_lines(result, options=options)
    if findings.noop_http is not None and findings.noop_in_process is not None:
        lines += [
            f"fixed cost of any request (`{NOOP}`, same token; auth, Redis session lookup, strawberry):",
            f"  over HTTP {_p(findings.noop_http)}; in-process {_p(findings.noop_in_process)}",
        ]
    if findings.profile_lines:
        lines += ["", *findings.profile_lines]
    return "\n".join(lines)


async def _bench(
    settings: Settings, *, base_url: str, database_url: str, redis_url: str, findings: Findings
) -> None:
    _progress("logging in")
    token = await _login(base_url, findings.tenant)
    try:
        await _over_http(base_url=base_url, token=token, database_url=database_url, findings=findings)
        _progress(
            "in-process: SQL per request and latency" + (", profile" if findings.options.profile else "")
        )
        await _in_process(
            settings, database_url=database_url, redis_url=redis_url, token=token, findings=findings
        )
    finally:
        await _logout(base_url, token)


def run(settings: Settings, *, database_url: str, redis_url: str, options: Options) -> str:
    """Run the whole benchmark and return the report; leaves no tenant and no server behind."""
    # httpx logs every request at INFO, alembic every migration step: they would bury the report.
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    load_before = os.getloadavg()[0]
    engine = create_engine_sync(database_url, policy=ConnectionPolicy.of(settings, role=Role.CLI))
    try:
        pg_version = _server_version(database_url)
        passwords = Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
        _progress(f"seeding a tenant with {options.guests} guests")
        tenant = seed_tenant(
            engine,
            database_url=database_url,
            guests=options.guests,
            passwords=passwords,
            master=master_key_from(settings),
        )
        findings = Findings(tenant=tenant, options=options, pg_version=pg_version, load_before=load_before)
        _progress(f"seeded {tenant.slug} in {tenant.seconds:.1f}s; starting `hospes serve`")
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
        except (httpx.HTTPError, psycopg.Error) as error:
            raise BenchError(f"{type(error).__name__}: {error}") from error
        finally:
            _progress(f"dropping {tenant.slug}")
            drop_seeded(engine, tenant)
    finally:
        engine.dispose()
    findings.load_after = os.getloadavg()[0]
    return _report(findings)
