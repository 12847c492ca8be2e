"""`hospes bench tenants`: what many tenants cost on one PostgreSQL.

1. a scratch database (dropped afterwards);
2. provisioning: N tenants through ONE `hospes tenant create --from-file` process (tenants/s,
   process start included, as an operator sees it);
3. `hospes migrate` over the N tenants, all at head (the deploy-time check);
4. a partner API key (guests:read) per tenant, then a `hospes serve` subprocess: the customer list
   page, one request at a time, against tenant 1 only and rotated over all N tenants, interleaved
   in rounds so foreign load on the machine hits both alike (p50/p95 and their ratio);
5. PostgreSQL backend memory of that server's connections (RSS from /proc, PostgreSQL being local):
   with only tenant 1 touched, after touching all N, and from a second server that recycles pooled
   connections (`HOSPES_DB_POOL_RECYCLE_SECONDS`) once the recycle age has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hospes.bench.measure import Budget, Call, Stats, interleaved
from hospes.bench.seed import libpq_url, scratch_database
from hospes.bench.server import (
    BenchError,
    graphql_data,
    hospes_command,
    hospes_server,
    progress,
    server_version,
)
from hospes.models.public import ApiKey, Tenant
from hospes.settings import Settings
from hospes.tenancy import tokens
from hospes.tenancy.database import ConnectionPolicy, Role, create_engine_sync

GUEST_LIST = "query { guests(first: 10) { totalCount edges { node { id name } } } }"
RECYCLE_SECONDS = 2
# The partner limit (600 a minute per key) would answer RATE_LIMITED to the one-tenant phase: the
# bench measures the read path, not the limiter.
SERVER_ENV = {"HOSPES_API_KEY_LIMIT_PER_MINUTE": "100000000"}
# The bench's own look at pg_stat_activity goes through the maintenance database, so no connection
# of the bench itself is ever counted among the API's backends.
ADMIN_DATABASE = "postgres"


@dataclass(frozen=True)
class Options:
    tenants: int = 1000
    requests: int = 200  # per latency phase; the all-tenants phase sends at least one per tenant
    warmup: int = 20
    max_seconds: float = 600.0  # per latency phase


@dataclass(frozen=True)
class Backends:
    """The API's PostgreSQL backends at one moment: pid -> (VmRSS, RssAnon) in kB."""

    memory_kb: dict[int, tuple[int, int]]

    @property
    def count(self) -> int:
        return len(self.memory_kb)

    @property
    def rss_mb(self) -> float:
        return sum(rss for rss, _ in self.memory_kb.values()) / 1024

    @property
    def private_mb(self) -> float:
        return sum(anon for _, anon in self.memory_kb.values()) / 1024

    @property
    def largest_private_mb(self) -> float:
        return max((anon for _, anon in self.memory_kb.values()), default=0) / 1024


@dataclass
class Findings:
    options: Options
    pg_version: str = "?"
    scratch_database: str = "?"
    provision_seconds: float = 0.0
    migrate_seconds: float = 0.0
    one_tenant: Stats | None = None
    all_tenants: Stats | None = None
    memory: dict[str, Backends] = field(default_factory=dict)
    recycled: str = "not measured"


# --------------------------------------------------------------------------- set-up


def _run_hospes(database_url: str, *args: str, stdin: str | None = None) -> float:
    """Run `hospes ARGS` against the scratch database; returns its wall time in seconds."""
    env = {**os.environ, "HOSPES_DATABASE_URL": database_url, "HOSPES_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    done = subprocess.run(
        [*hospes_command(), *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"`hospes {' '.join(args)}` exited with {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds


def _issue_keys(settings: Settings, database_url: str) -> list[str]:
    """One partner key per tenant (guests:read), in tenant order; only their digests are stored."""
    engine = create_engine_sync(database_url, policy=ConnectionPolicy.of(settings, role=Role.CLI))
    try:
        with engine.begin() as connection:
            tenant_ids = connection.execute(sa.select(Tenant.id).order_by(Tenant.slug)).scalars().all()  # type: ignore[call-overload]
            keys, rows = [], []
            for tenant_id in tenant_ids:
                prefix, key = tokens.new_api_key()
                keys.append(key)
                rows.append(
                    {
                        "tenant_id": tenant_id,
                        "name": "bench",
                        "prefix": prefix,
                        "key_hash": tokens.digest(key),
                        "scopes": ["guests:read"],
                    }
                )
            connection.execute(sa.insert(ApiKey), rows)
        return keys
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- memory


def _proc_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, RssAnon) of a local process in kB, or None when it is gone or not readable."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    found[key] = int(value.split()[0])
    except OSError:
        return None
    return (found["VmRSS"], found["RssAnon"]) if len(found) == 2 else None


def api_backends(database_url: str) -> Backends:
    """The client backends connected to the scratch database (only the API server is), narrowed to
    `application_name = 'hospes-api'` when the server sets it."""
    url = make_url(libpq_url(database_url))
    admin = url.set(database=ADMIN_DATABASE).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, application_name FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
            (url.database,),
        ).fetchall()
    if any(name == "hospes-api" for _, name in rows):
        rows = [(pid, name) for pid, name in rows if name == "hospes-api"]
    memory = {pid: kb for pid, _ in rows if (kb := _proc_kb(pid)) is not None}
    return Backends(memory)


# --------------------------------------------------------------------------- requests


def _guest_list(client: httpx.AsyncClient, keys: Sequence[str]) -> Call:
    """Each call reads the next tenant's customer list (its own counter: phases run in slices)."""
    turn = itertools.count()

    async def call(_number: int) -> None:
        key = keys[next(turn) % len(keys)]
        response = await client.post("/graphql", json={"query": GUEST_LIST}, headers={"X-Api-Key": key})
        graphql_data(response, "guests")

    return call


async def _touch(client: httpx.AsyncClient, keys: Sequence[str], *, times: int = 1) -> None:
    call = _guest_list(client, keys)
    for number in range(times * len(keys)):
        await call(number)


@contextlib.asynccontextmanager
async def _client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, trust_env=False) as client:
        yield client


async def _latency_and_growth(
    base_url: str, *, database_url: str, keys: Sequence[str], findings: Findings
) -> None:
    options = findings.options
    async with _client(base_url) as client:
        await _touch(client, keys[:1], times=max(options.warmup, 1))
        findings.memory["fresh: tenant 1 only"] = api_backends(database_url)
        budget = Budget(
            warmup=options.warmup, requests=max(options.requests, len(keys)), max_seconds=options.max_seconds
        )
        progress(f"latency: {budget.requests} requests to tenant 1 vs spread over {len(keys)} tenants")
        stats = await interleaved(
            {"one": [_guest_list(client, keys[:1])], "all": [_guest_list(client, keys)]}, budget=budget
        )
        findings.one_tenant, findings.all_tenants = stats["one"], stats["all"]
        await _touch(client, keys)  # every tenant on the backends, whatever the time cap cut
        findings.memory[f"after touching all {len(keys)} tenants"] = api_backends(database_url)


async def _recycling(base_url: str, *, database_url: str, keys: Sequence[str], findings: Findings) -> None:
    async with _client(base_url) as client:
        await _touch(client, keys)
        grown = api_backends(database_url)
        findings.memory[f"recycling server, all {len(keys)} touched"] = grown
        await asyncio.sleep(RECYCLE_SECONDS + 1)
        await _touch(client, keys[:1], times=10)  # checkouts past the recycle age replace connections
        after = api_backends(database_url)
        findings.memory[f"recycling server, {RECYCLE_SECONDS + 1}s later + tenant 1"] = after
    kept = set(grown.memory_kb) & set(after.memory_kb)
    findings.recycled = (
        "yes: none of the grown backends is left"
        if not kept
        else f"no: {len(kept)} of {grown.count} grown backends still serve (HOSPES_DB_POOL_RECYCLE_SECONDS "
        "not honoured by this build); a recycled connection starts as the 'fresh' backend above"
    )


# --------------------------------------------------------------------------- report


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _report(findings: Findings) -> str:
    options = findings.options
    n = options.tenants
    lines = [
        f"Hospes tenants benchmark: {n:,} tenants on one PostgreSQL ({findings.pg_version}), "
        f"scratch database {findings.scratch_database} (dropped)",
        f"provisioning: {n:,} tenants by one `hospes tenant create --from-file` in "
        f"{findings.provision_seconds:.1f}s = {n / findings.provision_seconds:,.1f} tenants/s "
        f"({1000 * findings.provision_seconds / n:,.0f} ms each, process start included)",
        f"migrate:      `hospes migrate` over {n:,} tenants at head in {findings.migrate_seconds:.2f}s",
    ]
    one, spread = findings.one_tenant, findings.all_tenants
    if one is not None and spread is not None:
        lines += [
            "latency:      customer list page (`guests(first: 10)`, API key), one client, "
            "one request at a time",
            f"  tenant 1 only:         p50 {_ms(one.p50)}  p95 {_ms(one.p95)}  ({one.requests} requests)",
            f"  spread over {n:,} tenants: p50 {_ms(spread.p50)}  p95 {_ms(spread.p95)}  ({spread.requests} "
            "requests)",
            f"  ratio (spread / one):  p50 {spread.p50 / one.p50:.2f}x  p95 {spread.p95 / one.p95:.2f}x",
        ]
    lines.append("backend memory (the API server's PostgreSQL backends, from /proc; private = RssAnon):")
    for label, backends in findings.memory.items():
        lines.append(
            f"  {label}: {backends.count} backends, private {backends.private_mb:,.1f} MB "
            f"(largest {backends.largest_private_mb:,.1f} MB), RSS {backends.rss_mb:,.1f} MB"
        )
    lines.append(f"recycled:     {findings.recycled}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run


def _measure(settings: Settings, *, database_url: str, redis_url: str, findings: Findings) -> None:
    n = findings.options.tenants
    with tempfile.TemporaryDirectory(prefix="hospes-bench-tenants-") as folder:
        listing = Path(folder) / "tenants.txt"
        listing.write_text(
            "".join(f"bench-{index:05d} Bench company {index}\n" for index in range(1, n + 1)),
            encoding="utf-8",
        )
        progress(f"provisioning {n:,} tenants in one `hospes tenant create --from-file`")
        findings.provision_seconds = _run_hospes(
            database_url, "tenant", "create", "--from-file", str(listing)
        )
    progress(f"`hospes migrate` over {n:,} tenants")
    findings.migrate_seconds = _run_hospes(database_url, "migrate")
    keys = _issue_keys(settings, database_url)
    progress("`hospes serve`: latency and backend memory")
    with hospes_server(database_url=database_url, redis_url=redis_url, extra_env=SERVER_ENV) as base_url:
        asyncio.run(_latency_and_growth(base_url, database_url=database_url, keys=keys, findings=findings))
    progress(f"`hospes serve` with HOSPES_DB_POOL_RECYCLE_SECONDS={RECYCLE_SECONDS}")
    recycling = {**SERVER_ENV, "HOSPES_DB_POOL_RECYCLE_SECONDS": str(RECYCLE_SECONDS)}
    with hospes_server(database_url=database_url, redis_url=redis_url, extra_env=recycling) as base_url:
        asyncio.run(_recycling(base_url, database_url=database_url, keys=keys, findings=findings))


def run(settings: Settings, *, database_url: str, redis_url: str, options: Options) -> str:
    """Run the benchmark in a scratch database (dropped afterwards) and return the report."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    findings = Findings(options=options, pg_version=server_version(database_url))
    try:
        with scratch_database(database_url) as scratch_url:
            findings.scratch_database = make_url(scratch_url).database or "?"
            _measure(settings, database_url=scratch_url, redis_url=redis_url, findings=findings)
    except (httpx.HTTPError, psycopg.Error) as error:
        raise BenchError(f"{type(error).__name__}: {error}") from error
    return _report(findings)
