"""The guest graph bench: what it is asked (Options), what it found (Findings), and the report."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata

from hospes.bench.measure import Stats
from hospes.bench.report import ms, text_table
from hospes.bench.seed import SeededTenant
from hospes.bench.sql_count import SqlCount

# The operation whose cost every request pays (auth, session lookup, strawberry); the report names it.
NOOP = "{ __typename }"


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


def _p(stats: Stats) -> str:
    return f"p50 {ms(stats.p50)} ms, p95 {ms(stats.p95)} ms"


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
                ms(r.api_latency.p50),
                ms(r.api_latency.p95),
                f"{r.api_load.rps:.0f}",
                ms(r.floor_latency.p50),
                ms(r.floor_latency.p95),
                f"{r.floor_load.rps:.0f}",
                f"{r.api_latency.p50 / r.floor_latency.p50:.1f}x",
                f"{r.floor_load.rps / r.api_load.rps:.1f}x",
                statements,
            )
        )
    return "\n".join(text_table(rows))


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


def _noise_warning(findings: Findings) -> list[str]:
    # Only the load before the run tells: during it the benchmark itself keeps the cores busy.
    cores = os.cpu_count() or 1
    if findings.load_before <= 0.5 * cores:
        return []
    return [
        f"WARNING: the machine was busy before the run (load average {findings.load_before:.1f} on "
        f"{cores} cores); other processes compete with the benchmark, so expect noisy numbers.",
    ]


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


def report(findings: Findings) -> str:
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
