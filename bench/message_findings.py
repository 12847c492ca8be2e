"""The messages bench: what it is asked (Options), what it found (Findings), and the report."""

from __future__ import annotations

import contextlib
import math
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata

from hospes.bench.measure import Stats
from hospes.bench.report import text_table


@dataclass(frozen=True)
class Options:
    messages: int = 10_000
    tenants: int = 10
    guests_per_tenant: int = 5
    producers: int = 4
    warmup: int = 20
    in_flight_samples: int = 200
    backlog: int = 1000  # at most `messages`
    max_seconds: float = 600.0  # per phase


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
class Backlog:
    """A backlog released at once: how fast the worker drains it, the producers out of the way."""

    lane: str
    delivered: int
    seconds: float  # release -> last arrival
    stopped_by_time: bool

    @property
    def rps(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else float("nan")


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
    backlogs: list[Backlog] = field(default_factory=list)
    check: str = ""
    setup_seconds: float = 0.0


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
    return "\n".join(text_table(rows))


def _backlog_table(findings: Findings) -> str:
    by_lane = {found.lane: found for found in findings.backlogs}
    rows: list[tuple[str, ...]] = [("", "delivered", "seconds", "msg/s")]
    for found in findings.backlogs:
        rows.append(
            (_LABELS[found.lane], f"{found.delivered:,}", f"{found.seconds:.1f}", f"{found.rps:,.0f}")
        )
    if {"floor", "real"} <= by_lane.keys():
        floor, real = by_lane["floor"], by_lane["real"]
        rows.append(("ratio real/floor (throughput)", "", "", f"{real.rps / floor.rps:.2f}"))
    return "\n".join(text_table(rows))


def _in_flight_table(findings: Findings) -> str:
    by_lane = {found.lane: found.stats for found in findings.in_flight}
    rows: list[tuple[str, ...]] = [("", "messages", "p50", "p95")]
    for found in findings.in_flight:
        stats = found.stats
        rows.append((_LABELS[found.lane], f"{stats.requests:,}", _duration(stats.p50), _duration(stats.p95)))
    if {"floor", "real"} <= by_lane.keys():
        floor, real = by_lane["floor"], by_lane["real"]
        rows.append(("ratio real/floor", "", _ratio(real.p50 / floor.p50), _ratio(real.p95 / floor.p95)))
    return "\n".join(text_table(rows))


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


def report(findings: Findings, *, redis_version: str) -> str:
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
    if findings.backlogs:
        lines += [
            "",
            f"backlog: {findings.backlogs[0].delivered:,} messages per lane committed first (real: not "
            "relayed), then released at once;",
            "the worker drains them with the producers out of the way (from the release to the last arrival)",
            _backlog_table(findings),
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
    stopped += [f"{found.lane} (backlog)" for found in findings.backlogs if found.stopped_by_time]
    if stopped:
        lines.append(f"stopped by the time cap ({options.max_seconds:.0f}s per phase): {', '.join(stopped)}")
    lines += ["", f"check: {findings.check}"]
    return "\n".join(lines)
