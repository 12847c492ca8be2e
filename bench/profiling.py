"""cProfile of an in-process operation, summarised by layer (strawberry, graphql-core, SQLAlchemy
ORM, psycopg, the event loop...) and by function.

Self time (tottime) is what each layer costs; a C builtin (`len`, `isinstance`, `dict.get`...) is
charged to the layers that called it, in proportion, so the layer totals add up to the run.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sysconfig
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

_REPO = str(Path(__file__).resolve().parent.parent)
_STDLIB = sysconfig.get_paths()["stdlib"]
# First match wins: more specific paths first.
_LAYERS = (
    ("/strawberry/", "strawberry (schema glue, extensions, HTTP view)"),
    ("/graphql/", "graphql-core (parse, validate, execute)"),
    ("/sqlalchemy/orm/", "SQLAlchemy ORM (session, loading, identity map)"),
    ("/sqlalchemy/", "SQLAlchemy core (compile, engine, pool, results)"),
    ("/sqlmodel/", "SQLModel"),
    ("/psycopg/", "psycopg"),
    ("/pydantic", "pydantic"),
    ("/starlette/", "Starlette (middleware, request)"),
    ("/httpx/", "httpx + httpcore (the bench's client)"),
    ("/httpcore/", "httpx + httpcore (the bench's client)"),
    ("/anyio/", "anyio"),
    ("/redis/", "redis client (session lookup)"),
    (f"{_REPO}/bench/", "the bench itself"),
    (_REPO, "Hospes code (app, tenancy, resolvers, schema)"),
    ("/asyncio/", "asyncio event loop"),
    ("/json/", "json (stdlib)"),
    (_STDLIB, "other stdlib (python)"),
)
_WAITING = "waiting on sockets (PostgreSQL, Redis): epoll"

Func = tuple[str, int, str]


def _layer(func: Func) -> str | None:
    """The layer of a Python function; None for a C builtin (charged to its callers)."""
    filename, _, name = func
    if filename == "~":
        return _WAITING if "epoll" in name or "select" in name else None
    for marker, layer in _LAYERS:
        if marker in filename:
            return layer
    return "other"


def _callers_layer(stats: dict[Func, Any], func: Func, depth: int = 0) -> dict[str, float]:
    """Shares of `func`'s self time per calling layer (builtins calling builtins are followed)."""
    callers: dict[Func, tuple[Any, ...]] = stats[func][4]
    shares: dict[str, float] = defaultdict(float)
    for caller, edge in callers.items():
        edge_time = float(edge[2])  # the callee's self time spent under this caller
        layer = _layer(caller)
        if layer is None and depth < 5 and caller in stats:
            upstream = _callers_layer(stats, caller, depth + 1)
            total = sum(upstream.values()) or 1.0
            for sub_layer, share in upstream.items():
                shares[sub_layer] += edge_time * share / total
        else:
            shares[layer or "builtins"] += edge_time
    return shares


def by_layer(profile: pstats.Stats) -> list[tuple[str, float]]:
    """(layer, self seconds), largest first."""
    stats: dict[Func, Any] = profile.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tottime, _ct, _callers) in stats.items():
        layer = _layer(func)
        if layer is not None:
            totals[layer] += tottime
            continue
        shares = _callers_layer(stats, func)
        weight = sum(shares.values())
        if weight <= 0:
            totals["builtins"] += tottime
            continue
        for caller_layer, share in shares.items():
            totals[caller_layer] += tottime * share / weight
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


def _short(func: Func) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    for marker in ("site-packages/", f"{_REPO}/", f"{_STDLIB}/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{line}({name})"


def top_functions(profile: pstats.Stats, *, key: str, limit: int) -> list[tuple[str, int, float, float]]:
    """(function, calls, self seconds, cumulative seconds) for the top `limit` by `key`."""
    stats: dict[Func, Any] = profile.stats  # type: ignore[attr-defined]
    index = {"tottime": 2, "cumtime": 3}[key]
    ranked = sorted(stats.items(), key=lambda item: item[1][index], reverse=True)[:limit]
    return [(_short(func), int(row[1]), float(row[2]), float(row[3])) for func, row in ranked]


# Phases whose cumulative time is meaningful: plain functions that never suspend. (A coroutine's
# cumulative time in cProfile counts only its slices between suspensions, so none is listed.)
_PHASES = (
    ("GraphQL parse", "graphql/language/parser.py", "parse"),
    ("GraphQL validate (with the depth/alias limiters)", "graphql/validation/validate.py", "validate"),
    ("SQLAlchemy compile / statement-cache lookup", "sqlalchemy/sql/elements.py", "_compile_w_cache"),
    ("SQLAlchemy ORM hydration (rows -> model objects)", "sqlalchemy/orm/loading.py", "instances"),
    ("Hospes from_row (model objects -> Strawberry types)", f"{_REPO}/schema/", "from_row"),
    ("response JSON encoding", "strawberry/http/base.py", "encode_json"),
)


def _calls(stats: dict[Func, Any], marker: str, name: str) -> tuple[int, float]:
    """(calls, cumulative seconds) of the functions called `name` in files matching `marker`."""
    found = [row for func, row in stats.items() if marker in func[0] and func[2] == name]
    return sum(int(row[1]) for row in found), sum(float(row[3]) for row in found)


def summary(profile: pstats.Stats, *, requests: int, wall: float) -> list[str]:
    """The printed profile: phases, self time by layer, top functions by self time."""
    stats: dict[Func, Any] = profile.stats  # type: ignore[attr-defined]
    per_request = wall / requests
    fields, _ = _calls(stats, "graphql/execution/executor.py", "execute_field")
    lines = [
        f"  profiled wall time {per_request * 1000:.1f} ms/request (cProfile inflates it; shares are what "
        f"count); GraphQL fields executed: {fields / requests:.0f}/request",
        "  phases (cumulative)                                       ms/request   share",
    ]
    for label, marker, name in _PHASES:
        _, seconds = _calls(stats, marker, name)
        lines.append(f"    {label:<55} {seconds * 1000 / requests:8.2f}  {100 * seconds / wall:5.1f}%")
    lines.append("  self time by layer (C builtins charged to their callers)  ms/request   share")
    for layer, seconds in by_layer(profile):
        if seconds / wall >= 0.005:
            lines.append(f"    {layer:<55} {seconds * 1000 / requests:8.2f}  {100 * seconds / wall:5.1f}%")
    lines.append("  top functions by self time                     ms/request  calls/request")
    for name, calls, tottime, _cumtime in top_functions(profile, key="tottime", limit=20):
        lines.append(f"    {tottime * 1000 / requests:8.2f}  {calls / requests:8.1f}  {name}")
    return lines


async def profile_async(run: Callable[[], Awaitable[None]]) -> pstats.Stats:
    """Profile everything the event loop thread does while `run` runs."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        await run()
    finally:
        profiler.disable()
    return pstats.Stats(profiler, stream=io.StringIO())
