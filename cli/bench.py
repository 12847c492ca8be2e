"""`hospes bench`: the benchmark suites against a floor measured in the same run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from hospes.cli.servers import Servers, fail, load_settings, open_servers

if TYPE_CHECKING:
    from hospes.bench.seed import SeededTenant


def _bookings(_ctx: Any, _param: Any, value: str) -> tuple[int, ...]:
    """`5,50,200` → (5, 50, 200): rising counts from 5 (what a seeded guest has) up to 1000."""
    try:
        counts = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter("comma-separated whole numbers, such as 5,50,200") from None
    if counts[0] != 5 or list(counts) != sorted(set(counts)) or counts[-1] > 1000:
        raise click.BadParameter("rising counts that start at 5 and end at most at 1000, such as 5,50,200")
    return counts


@click.command()
@click.argument(
    "suite", required=False, type=click.Choice(["graph", "customers", "messages", "tenants", "inquiries"])
)
@click.option(
    "--guests",
    default=None,
    type=click.IntRange(10, 100_000),
    help="Guests to seed [default: 1000; 100000 for customers].",
)
@click.option("--requests", default=200, show_default=True, type=click.IntRange(10), help="Per phase.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--warmup", default=20, show_default=True, type=click.IntRange(0))
@click.option(
    "--max-seconds",
    default=None,
    type=click.FloatRange(1),
    help="Cap per phase [default: 30; at least 60 for customers; 600 for messages].",
)
@click.option("--profile", is_flag=True, help="Also cProfile guest detail in-process.")
@click.option(
    "--peer/--no-peer",
    default=True,
    show_default=True,
    help="graph: also Hospes, the floor and PostGraphile 4 (when node is here) side by side.",
)
@click.option(
    "--peer-seconds",
    default=8.0,
    show_default=True,
    type=click.FloatRange(0.2),
    help="graph: seconds per side and phase in the side-by-side part.",
)
@click.option(
    "--peer-bookings",
    default="5,50,200",
    show_default=True,
    callback=_bookings,
    help="graph: bookings of the guests whose detail shows the cost growth (the first is 5).",
)
@click.option("--show-sql", is_flag=True, help="Print the statements each operation sends.")
@click.option("--customers", is_flag=True, help="The same as SUITE customers.")
@click.option(
    "--messages",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Messages per lane (messages suite).",
)
@click.option(
    "--tenants",
    default=None,
    type=click.IntRange(1, 100_000),
    help="Tenants to spread messages over [default: 10, at most 1000], or to create (tenants suite) "
    "[default: 1000].",
)
def bench(
    *,
    suite: str | None,
    guests: int | None,
    requests: int,
    concurrency: int,
    warmup: int,
    max_seconds: float | None,
    profile: bool,
    peer: bool,
    peer_seconds: float,
    peer_bookings: tuple[int, ...],
    show_sql: bool,
    customers: bool,
    messages: int,
    tenants: int | None,
) -> None:
    """Benchmark against a floor measured in the same run; each suite sets up and removes its own data.

    \b
    SUITE is one of
      graph      the guest graph over HTTP against hand-written SQL (the default)
      customers  the customer list at 100,000 guests: page, name search, email lookup, OTA imports
      messages   messages through the outbox, Redis and the worker to the log provider, against
                 the same broker and worker moving empty messages
      tenants    N tenants: provisioning rate, migrate time, request latency with 1 vs N tenants,
                 and PostgreSQL backend memory after touching all of them, before and after recycling
      inquiries  the pipeline at 20,000 inquiries and 100,000 guests (stage counts, the NEW page)
                 against SQL, and 1,000 reminders falling due at once against empty messages
    """
    if customers:
        if suite not in (None, "customers"):
            fail(f"--customers asks for the customers suite, not {suite}")
        suite = "customers"
    if suite == "customers":
        _bench_customers(guests=guests or 100_000, warmup=warmup, max_seconds=max_seconds or 30.0)
        return
    from hospes.bench.server import BenchError

    settings = load_settings()

    def measure(servers: Servers) -> str:
        urls = {"database_url": servers.database_url, "redis_url": servers.redis_url}
        if suite == "tenants":
            from hospes.bench import tenants as tenant_bench

            return tenant_bench.run(
                settings,
                **urls,
                options=tenant_bench.Options(
                    tenants=tenants or 1000,
                    requests=requests,
                    warmup=warmup,
                    max_seconds=max_seconds or 600.0,
                ),
            )
        if suite == "inquiries":
            from hospes.bench import inquiries as inquiry_bench

            return inquiry_bench.run(
                settings,
                **urls,
                options=inquiry_bench.Options(
                    guests=guests or 100_000,
                    requests=requests,
                    warmup=warmup,
                    max_seconds=max_seconds or 60.0,
                ),
            )
        if suite == "messages":
            from hospes.bench import messages as message_bench

            if (tenants or 10) > 1000:
                raise BenchError("the messages suite spreads over at most 1000 tenants")
            return message_bench.run(
                settings,
                **urls,
                options=message_bench.Options(
                    messages=messages, tenants=tenants or 10, warmup=warmup, max_seconds=max_seconds or 600.0
                ),
            )
        from hospes.bench import graph_peer, guest_graph
        from hospes.bench.peer_findings import PeerOptions

        def with_peer(base_url: str, tenant: SeededTenant) -> str:
            if not peer:
                return ""
            return graph_peer.run(
                data_dir=settings.data_dir,
                database_url=servers.database_url,
                base_url=base_url,
                tenant=tenant,
                options=PeerOptions(
                    concurrency=concurrency,
                    seconds=peer_seconds,
                    warmup=warmup,
                    detail_bookings=peer_bookings,
                ),
            )

        return guest_graph.run(
            settings,
            **urls,
            then=with_peer,
            options=guest_graph.Options(
                guests=guests or 1000,
                requests=requests,
                concurrency=concurrency,
                warmup=warmup,
                max_seconds=max_seconds or 30.0,
                profile=profile,
                show_sql=show_sql,
            ),
        )

    with open_servers(settings) as servers:
        try:
            report = measure(servers)
        except BenchError as error:
            fail(str(error))
        click.echo(report)


def _bench_customers(*, guests: int, warmup: int, max_seconds: float) -> None:
    from hospes.bench.customer_list import Options, run
    from hospes.bench.server import BenchError

    options = Options(guests=guests, warmup=min(warmup, 10), max_seconds=max(max_seconds, 60.0))
    settings = load_settings()
    with open_servers(settings) as servers:
        try:
            report = run(
                settings, database_url=servers.database_url, redis_url=servers.redis_url, options=options
            )
        except BenchError as error:
            fail(str(error))
        click.echo(report)
