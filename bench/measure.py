"""The load generator and its statistics.

An operation is an async callable taking the request number (used to rotate over objects) that
raises when the answer is wrong. Every phase is bounded twice: it stops after `requests`
requests or after `max_seconds`, whichever comes first, so a slow run still ends.

Phases that are compared (the API and its floor) run interleaved, in rounds: on a shared machine
a burst of foreign load then hits both sides alike instead of skewing one of them.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

Call = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Budget:
    warmup: int
    requests: int
    max_seconds: float


@dataclass(frozen=True)
class Stats:
    requests: int
    seconds: float
    latencies_ms: tuple[float, ...]
    stopped_by_time: bool

    def percentile(self, p: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        # 'inclusive' interpolates between observed values, the usual p50/p95 definition.
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]

    @classmethod
    def merge(cls, parts: Sequence[Stats]) -> Stats:
        return cls(
            requests=sum(part.requests for part in parts),
            seconds=sum(part.seconds for part in parts),
            latencies_ms=tuple(ms for part in parts for ms in part.latencies_ms),
            stopped_by_time=any(part.stopped_by_time for part in parts),
        )

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else float("nan")


class _Counter:
    """Hands out request numbers until the budget is spent (one event loop: no lock needed)."""

    def __init__(self, *, limit: int, deadline: float) -> None:
        self.limit = limit
        self.deadline = deadline
        self.issued = 0
        self.stopped_by_time = False

    def next(self) -> int | None:
        if self.issued >= self.limit:
            return None
        if time.perf_counter() >= self.deadline:
            self.stopped_by_time = True
            return None
        self.issued += 1
        return self.issued - 1


async def _worker(call: Call, counter: _Counter, latencies: list[float]) -> None:
    while (number := counter.next()) is not None:
        started = time.perf_counter()
        await call(number)
        latencies.append((time.perf_counter() - started) * 1000.0)


async def run_clients(calls: Sequence[Call], *, requests: int, max_seconds: float) -> Stats:
    """`len(calls)` clients, each sending its next request as soon as the previous one returns."""
    counter = _Counter(limit=requests, deadline=time.perf_counter() + max_seconds)
    latencies: list[float] = []
    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:  # the first failure cancels the other clients
            for call in calls:
                group.create_task(_worker(call, counter, latencies))
    except ExceptionGroup as failures:
        # Report the first failure as itself: callers handle a BenchError, not a group of them.
        raise failures.exceptions[0] from None
    return Stats(
        requests=len(latencies),
        seconds=time.perf_counter() - started,
        latencies_ms=tuple(latencies),
        stopped_by_time=counter.stopped_by_time,
    )


async def interleaved(
    phases: Mapping[str, Sequence[Call]], *, budget: Budget, rounds: int = 5
) -> dict[str, Stats]:
    """Run each phase (a set of clients) for `budget`, in `rounds` alternating slices.

    The warm-up runs first for every phase; with several clients it also opens every client's
    connection (and the server's pooled database connections) before the clock starts."""
    for calls in phases.values():
        warmup = budget.warmup if len(calls) == 1 else max(budget.warmup, 2 * len(calls))
        await run_clients(calls, requests=warmup, max_seconds=budget.max_seconds)
    per_round = max(1, -(-budget.requests // rounds))  # ceiling division
    parts: dict[str, list[Stats]] = {name: [] for name in phases}
    for _ in range(rounds):
        for name, calls in phases.items():
            done = sum(part.requests for part in parts[name])
            slice_ = await run_clients(
                calls,
                requests=min(per_round, budget.requests - done),
                max_seconds=budget.max_seconds / rounds,
            )
            parts[name].append(slice_)
    return {name: Stats.merge(found) for name, found in parts.items()}


async def sequential(call: Call, *, budget: Budget) -> Stats:
    """One client, one request at a time: the latency an unloaded server gives."""
    await run_clients([call], requests=budget.warmup, max_seconds=budget.max_seconds)
    return await run_clients([call], requests=budget.requests, max_seconds=budget.max_seconds)
