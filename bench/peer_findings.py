"""The peer section of `hospes bench graph`: what it is asked, what it found, and its report:
p50 / p95 / requests per second per side and the issue's ratios (Hospes / PostGraphile req/s,
Hospes / floor p50, p95 / p50 on list pages), and the cost of each extra booking."""

from __future__ import annotations

from dataclasses import dataclass, field

from hospes.bench.measure import Stats
from hospes.bench.report import ms, text_table

SIDES = ("hospes", "floor", "postgraphile")


@dataclass(frozen=True)
class PeerOptions:
    concurrency: int = 8
    seconds: float = 8.0  # per side and phase, split over the rounds
    rounds: int = 4
    warmup: int = 20
    detail_bookings: tuple[int, ...] = (5, 50, 200)
    list_sizes: tuple[int, ...] = (10, 50, 100)


@dataclass
class PeerFindings:
    missing: str | None = None  # why PostGraphile did not run
    same_data: dict[str, str] = field(default_factory=dict)
    # (operation, "latency" | "load") → side → figures
    phases: dict[tuple[str, str], dict[str, Stats]] = field(default_factory=dict)


def _ratio(top: float | None, bottom: float | None, suffix: str = "") -> str:
    if top is None or bottom is None or bottom == 0:
        return "—"
    return f"{top / bottom:.2f}{suffix}"


def _rows(findings: PeerFindings, concurrency: int) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("operation", "side", "p50 ms", "p95 ms", "p95/p50", "rps", "clients")]
    for (operation, kind), sides in findings.phases.items():
        for side in SIDES:
            stats = sides.get(side)
            if stats is None:
                continue
            clients = "1" if kind == "latency" else str(concurrency)
            p95_p50 = f"{stats.p95 / stats.p50:.2f}"
            rows.append((operation, side, ms(stats.p50), ms(stats.p95), p95_p50, f"{stats.rps:.0f}", clients))
    return rows


def _get(findings: PeerFindings, operation: str, kind: str, side: str) -> Stats | None:
    return findings.phases.get((operation, kind), {}).get(side)


def _targets(findings: PeerFindings) -> list[str]:
    def rps(operation: str, side: str) -> float | None:
        stats = _get(findings, operation, "load", side)
        return stats.rps if stats else None

    def p50(operation: str, side: str) -> float | None:
        stats = _get(findings, operation, "latency", side)
        return stats.p50 if stats else None

    detail, page = "guest detail", "guests(first: 50)"
    detail_rps = _ratio(rps(detail, "hospes"), rps(detail, "postgraphile"))
    page_rps = _ratio(rps(page, "hospes"), rps(page, "postgraphile"))
    figures = [
        ("guest detail requests/s, Hospes / PostGraphile", detail_rps, "≥ 1.0"),
        (
            "guest detail p50, Hospes / SQL floor",
            _ratio(p50(detail, "hospes"), p50(detail, "floor"), "x"),
            "≤ 3x",
        ),
        (
            "guests(first: 50) p50, Hospes / SQL floor",
            _ratio(p50(page, "hospes"), p50(page, "floor"), "x"),
            "≤ 1.5x",
        ),
        ("guests(first: 50) requests/s, Hospes / PostGraphile", page_rps, "≥ 1.2"),
    ]
    lines = [f"{'figure (the issue targets)':<54}{'measured':>8}   target"]
    lines += [f"{label:<54}{value:>8}   {target}" for label, value, target in figures]
    for kind in ("latency", "load"):
        stats = _get(findings, page, kind, "hospes")
        if stats is not None:
            label = f"p95 / p50 on list pages, Hospes ({'1 client' if kind == 'latency' else 'loaded'})"
            lines.append(f"{label:<54}{stats.p95 / stats.p50:>8.2f}   ≤ 1.5")
    return lines


def _growth(findings: PeerFindings, options: PeerOptions) -> list[str]:
    sizes = options.detail_bookings
    if len(sizes) < 2:
        return []
    first, last = f"guest detail, {sizes[0]} bookings", f"guest detail, {sizes[-1]} bookings"
    extra = sizes[-1] - sizes[0]
    lines = [f"cost of each extra booking in guest detail (p50 at {sizes[-1]} - at {sizes[0]}, / {extra}):"]
    for side in SIDES:
        low, high = _get(findings, first, "latency", side), _get(findings, last, "latency", side)
        if low is not None and high is not None:
            lines.append(f"  {side:<13} {(high.p50 - low.p50) / extra:.3f} ms")
    return lines


def report(findings: PeerFindings, options: PeerOptions) -> str:
    lines = [
        "",
        "Side by side with the peer: Hospes, the SQL floor and PostGraphile 4 on the same tenant, one",
        "keep-alive HTTP client (httpx) and direct psycopg connections, no answer parsed, the sides",
        f"alternating in {options.rounds} rounds of {options.seconds / options.rounds:.1f} s per side and"
        " phase.",
    ]
    if findings.missing:
        lines.append(f"PostGraphile: not run ({findings.missing}); Hospes and the floor only.")
    for name, verdict in findings.same_data.items():
        lines.append(f"PostGraphile vs Hospes, {name}: {verdict}")
    lines += [
        "",
        *text_table(_rows(findings, options.concurrency), left=2),
        "",
        *_targets(findings),
        "",
        *_growth(findings, options),
    ]
    return "\n".join(lines)
