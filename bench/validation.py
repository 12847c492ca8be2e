"""How long the API takes to accept or refuse hostile requests before any resolver runs.

`python -m hospes.bench.validation` builds the real schema (production settings, an anonymous caller,
so introspection is refused and suggestions hidden; `--development` for the other side) and, per
request body, runs the view's JSON decoding and checks, then `Schema.execute` (parsing, limits,
validation, the variables' text; the documents select only `__typename` or are refused, so
execution adds next to nothing). It reports wall time, CPU time, and the longest the event loop
was kept from other work (a task waking every millisecond beside it). Each case is stopped after
`--limit` seconds. Needs no database: nothing here reaches a resolver that uses one.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from types import FrameType

from cross_web import HTTPException
from graphql import GraphQLError

from hospes.app import decode_request_json
from hospes.schema.build import build_schema
from hospes.schema.errors import ErrorCode
from hospes.settings import Environment, Settings


def fragment_doubling(levels: int) -> str:
    """`F1` spreads `F2` twice, `F2` spreads `F3` twice…: 2**levels fields once expanded."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(1, levels)]
    return "{ ...F1 } " + " ".join(fragments) + f" fragment F{levels} on Query {{ __typename }}"


def wide_fragments(fields: int, spreads: int) -> str:
    """One fragment of many fields, spread many times in one selection."""
    body = " ".join("__typename" for _ in range(fields))
    return "{ " + " ".join("...W" for _ in range(spreads)) + f" }} fragment W on Query {{ {body} }}"


def side_by_side(count: int, body: Callable[[int], str]) -> str:
    """`count` distinct fragments, all spread in one selection (merged with each other)."""
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = " ".join(f"fragment F{i} on Query {{ {body(i)} }}" for i in range(count))
    return f"{{ {spreads} }} {fragments}"


def unknown_fields(i: int) -> str:
    return " ".join(f"x{i}_{j}" for j in range(30))


def nested_duplicates(outer: int, inner: int) -> str:
    """Same-named fields inside same-named fields: their selections merge into one."""
    guests = " ".join("guest { id }" for _ in range(inner))
    return "{ " + " ".join(f'booking(id: "x") {{ {guests} }}' for _ in range(outer)) + " }"


def misspelt_fields(count: int) -> str:
    """Unknown fields close to real names: each error computes suggestions (when shown)."""
    return "{ " + " ".join("bookinx" for _ in range(count)) + " }"


def same_named_fields(count: int) -> str:
    return "{ " + " ".join("__typename" for _ in range(count)) + " }"


def same_named_objects(count: int) -> str:
    return "{ " + " ".join('booking(id: "x") { id }' for _ in range(count)) + " }"


def conflicting_arguments(count: int) -> str:
    return "{ " + " ".join(f'booking(id: "{i}") {{ id }}' for i in range(count)) + " }"


def alias_flood(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def deep_nesting(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"guest {{ bookings {{ {inner} }} }}"
    return f'{{ booking(id: "x") {{ {inner} }} }}'


def long_identifier(length: int) -> str:
    return "{ " + "a" * length + " }"


def many_operations(count: int) -> str:
    return " ".join(f"query Q{i} {{ __typename }}" for i in range(count))


def many_directives(count: int) -> str:
    return "{ __typename " + " ".join("@skip(if: false)" for _ in range(count)) + " }"


def many_variables(count: int) -> str:
    declared = ", ".join(f"$v{i}: Int" for i in range(count))
    return f"query({declared}) {{ __typename }}"


def fragment_chain(length: int) -> str:
    """F0 spreads F1 spreads F2…: long but linear."""
    fragments = " ".join(f"fragment F{i} on Query {{ __typename ...F{i + 1} }}" for i in range(length))
    return f"{{ ...F0 }} {fragments} fragment F{length} on Query {{ __typename }}"


def body(query: str, variables: object = None) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def nested_lists(levels: int) -> bytes:
    return b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * levels + b"]" * levels + b"}}"


def cases() -> Iterator[tuple[str, bytes]]:
    yield "{ __typename } (the machine's noise floor)", body("{ __typename }")
    for name, query in documents():
        yield name, body(query)
    yield "variables nested 5000 deep", nested_lists(5000)
    yield "variables nested 30 deep", nested_lists(30)
    # The largest bodies the default HOSPES_MAX_REQUEST_BYTES (256 KiB) lets through.
    yield "variables: 63,000 empty lists", body("{ __typename }", {"v": [[]] * 63_000})
    yield "variables: 42,000 short strings", body("{ __typename }", {"v": ["ab"] * 42_000})
    yield "variables: one 250 kB string", body("{ __typename }", {"v": "a" * 250_000})


def documents() -> Iterator[tuple[str, str]]:
    for levels in (16, 20, 40, 100):
        yield f"fragment doubling, {levels} levels", fragment_doubling(levels)
    yield "wide fragment 500 fields x 500 spreads", wide_fragments(500, 500)
    yield "fragment chain of 1000", fragment_chain(1000)
    yield "1000 fragments side by side", side_by_side(1000, lambda _: "__typename")
    yield "100 fragments side by side, each a booking", side_by_side(100, lambda _: 'booking(id: "x") { id }')
    yield "100 fragments side by side, 30 fields each", side_by_side(100, unknown_fields)
    yield "2000 same-named fields", same_named_fields(2000)
    yield "500 same-named object fields", same_named_objects(500)
    yield "100 same-named object fields", same_named_objects(100)
    yield "400 same-named fields, different args", conflicting_arguments(400)
    yield "10 bookings of 10 guests each", nested_duplicates(10, 10)
    yield "alias flood 1000", alias_flood(1000)
    yield "alias flood 20000 (over the token cap)", alias_flood(20_000)
    yield "nesting 25 levels (50 fields)", deep_nesting(25)
    yield "nesting to the parser's cap (~200)", deep_nesting(100)
    yield "one identifier of 10 kB", long_identifier(10_000)
    yield "one identifier of 200 kB", long_identifier(200_000)
    yield "1000 misspelt fields", misspelt_fields(1000)
    yield "1000 operations", many_operations(1000)
    yield "1000 directives on one field", many_directives(1000)
    yield "1000 variables", many_variables(1000)


class _Stopped(BaseException):
    """Raised by the timer; a BaseException so no `except Exception` in the stack swallows it."""


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stopped


async def _longest_stall(work: Awaitable[str]) -> tuple[float, str]:
    """Runs `work` beside a task that wakes every millisecond; the longest the loop kept that task
    waiting past its wake-up is how long `work` blocked the event loop."""
    longest = 0.0
    done = False

    async def heartbeat() -> None:
        nonlocal longest
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            longest = max(longest, time.perf_counter() - before - 0.001)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)  # let the heartbeat start
    try:
        outcome = await work
    finally:
        done = True
        await beat
    return longest * 1000, outcome


def timed(run: Callable[[], tuple[float, str]], *, limit: float) -> tuple[float, float, float, str]:
    """Wall, CPU and longest event-loop stall in milliseconds (CPU time is what the work costs on
    a shared machine; the stall is what other requests wait)."""
    # The collector is held off while measuring: a full collection of a large heap pauses every
    # thread, whatever triggered it, and would hide the costs measured here.
    gc.collect()
    gc.disable()
    previous = signal.signal(signal.SIGALRM, _stop)
    signal.setitimer(signal.ITIMER_REAL, limit)
    wall, cpu = time.perf_counter(), time.process_time()
    stall, outcome = float("nan"), "stopped"
    try:
        stall, outcome = run()
    except _Stopped:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        gc.enable()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, stall, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=20.0, help="seconds before a case is stopped")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case; the median is shown")
    parser.add_argument(
        "--development", action="store_true", help="as in development: suggestions and introspection on"
    )
    args = parser.parse_args()
    env = Environment.DEVELOPMENT if args.development else Environment.PRODUCTION
    # Production refuses to start without servers; this bench never connects to them.
    settings = Settings(
        env=env, database_url="postgresql://unused", redis_url="redis://unused", master_key="-"
    )
    schema = build_schema(settings)
    loop = asyncio.new_event_loop()

    async def request(raw: bytes) -> str:
        try:
            body = decode_request_json(raw)  # on the loop, as in the view
        except HTTPException as error:
            return f"refused {error.status_code}"
        assert isinstance(body, dict)
        result = await schema.execute(body["query"], variable_values=body.get("variables"))
        return _codes(result.errors or [])

    def check(raw: bytes) -> tuple[float, str]:
        return loop.run_until_complete(_longest_stall(request(raw)))

    print(f"{'request':<48} {'bytes':>7} {'wall ms':>8} {'cpu ms':>8} {'stall ms':>9}  outcome")
    worst = [0.0, 0.0, 0.0]
    for name, raw in cases():
        runs = [timed(partial(check, raw), limit=args.limit) for _ in range(args.repeat)]
        case = [statistics.median(float(run[i]) for run in runs) for i in range(3)]
        worst = [max(a, b) for a, b in zip(worst, case, strict=True)]
        print(f"{name:<48} {len(raw):>7} {case[0]:>8.1f} {case[1]:>8.1f} {case[2]:>9.1f}  {runs[-1][3]}")
    print(f"worst median: {worst[0]:.1f} ms wall, {worst[1]:.1f} ms CPU, {worst[2]:.1f} ms event-loop stall")


def _codes(errors: list[GraphQLError]) -> str:
    if not errors:
        return "accepted"
    codes = {str((error.extensions or {}).get("code", ErrorCode.BAD_USER_INPUT.value)) for error in errors}
    return "refused " + ",".join(sorted(codes))


if __name__ == "__main__":
    main()
