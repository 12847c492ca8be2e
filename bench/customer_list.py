"""`hospes bench --customers`: the customer list at 100,000 guests over HTTP against its floor.

1. seed a throw-away tenant (guests and bookings only, by COPY, as bench.seed does), 2. start a real
`hospes serve` and log in, 3. per question, the API over HTTP and one hand-written SQL statement
through psycopg, interleaved, one client, sequential requests: the list page, a name search, an
email lookup, and 1,000 OTA imports (half new, half re-imports), 4. print the table; the tenant is
dropped and the server stopped whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from psycopg import sql

from hospes.bench.customer_seed import BOOKINGS_PER_GUEST, Customers, seed_customers
from hospes.bench.measure import Budget, Call, Stats, interleaved, run_clients
from hospes.bench.report import api_floor_table
from hospes.bench.seed import (
    drop_seeded,
)
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
from hospes.schema.ids import encode_id
from hospes.settings import Settings
from hospes.tenancy.database import ConnectionPolicy, Role, create_engine_sync
from hospes.tenancy.keyring import master_key_from
from hospes.tenancy.passwords import Passwords

PAGE_SIZE = 50
NAME_PREFIX = "Luc"  # Lucía: about 1 guest in 30
IMPORTS = 1000  # half new external ids, half re-imports of those
IMPORT_WARMUP = 10

GUEST_FIELDS = "totalCount edges { node { id name lastActivityAt bookingCount } }"
LIST = f"query List($first: Int!) {{ guests(first: $first) {{ {GUEST_FIELDS} }} }}"
SEARCH = (
    f"query Search($q: String!, $first: Int!) {{ guests(search: $q, first: $first) {{ {GUEST_FIELDS} }} }}"
)
IMPORT = """
mutation Import($input: ImportOtaBookingInput!) {
  importOtaBooking(input: $input) { booking { id } created errors { field code message } }
}
"""


@dataclass(frozen=True)
class Options:
    guests: int = 100_000
    requests: int = 100
    warmup: int = 10
    max_seconds: float = 60.0


# --------------------------------------------------------------------------- floors


def _page_sql(schema: str, where: sql.Composable, count: sql.Composable) -> sql.Composed:
    """One statement: the page in the API's order and the total."""
    return sql.SQL(
        "SELECT g.id, g.name, g.last_activity_at, g.booking_count, {count} AS total FROM {guest} g "
        "WHERE g.erased_at IS NULL AND {where} ORDER BY g.last_activity_at DESC, g.id DESC LIMIT %(first)s"
    ).format(count=count, guest=sql.Identifier(schema, "guest"), where=where)


def list_sql(schema: str) -> sql.Composed:
    return _page_sql(
        schema,
        sql.SQL("true"),
        sql.SQL("(SELECT live FROM {})").format(sql.Identifier(schema, "guest_tally")),
    )


def search_sql(schema: str) -> sql.Composed:
    return _page_sql(
        schema,
        sql.SQL("g.search_vector @@ to_tsquery('simple', %(q)s)"),
        # The total as its own subquery: `count(*) OVER ()` would materialise every match before LIMIT.
        sql.SQL(
            "(SELECT count(*) FROM {} c WHERE c.erased_at IS NULL "
            "AND c.search_vector @@ to_tsquery('simple', %(q)s))"
        ).format(sql.Identifier(schema, "guest")),
    )


def email_sql(schema: str) -> sql.Composed:
    return _page_sql(schema, sql.SQL("g.email_bidx = %(bidx)s"), sql.SQL("count(*) OVER ()"))


def upsert_sql(schema: str) -> sql.Composed:
    return sql.SQL(
        "INSERT INTO {booking} (id, property_id, guest_id, check_in, check_out, adults, children, amount, "
        "currency, status, source, channel, external_id, created_at) "
        "SELECT %(id)s, %(property)s, g.id, %(check_in)s, %(check_out)s, %(adults)s, 0, %(amount)s, 'USD', "
        "'confirmed', 'ota', %(channel)s, %(external_id)s, now() FROM (SELECT id FROM {guest} "
        "WHERE email_bidx = %(bidx)s AND erased_at IS NULL ORDER BY last_activity_at DESC LIMIT 1) g "
        "ON CONFLICT (channel, external_id) DO UPDATE SET property_id = EXCLUDED.property_id, "
        "check_in = EXCLUDED.check_in, check_out = EXCLUDED.check_out, adults = EXCLUDED.adults, "
        "amount = EXCLUDED.amount, status = EXCLUDED.status RETURNING id, (xmax = 0) AS created"
    ).format(booking=sql.Identifier(schema, "booking"), guest=sql.Identifier(schema, "guest"))


# --------------------------------------------------------------------------- questions


@dataclass
class Result:
    name: str
    api: Stats
    floor: Stats
    check: str
    total_seconds: tuple[float, float] | None = None  # API, floor (imports)


def _ids_and_total(data: dict[str, Any]) -> tuple[list[str], int]:
    return [edge["node"]["id"] for edge in data["edges"]], int(data["totalCount"])


async def _floor_rows(
    conn: psycopg.AsyncConnection[Any], statement: sql.Composed, params: dict[str, Any]
) -> tuple[list[str], int]:
    rows = await (await conn.execute(statement, params)).fetchall()
    if not rows:
        return [], 0
    return [encode_id("Guest", row[0]) for row in rows], int(rows[0][4])


def _import_input(index: int, *, prefix: str, data: Customers) -> tuple[str, dict[str, Any]]:
    """Request i: for i < half a new external id, else a re-import of id i - half (new amount)."""
    half = IMPORTS // 2
    number, again = (index, False) if index < half else (index - half, True)
    check_in = datetime(2027, 1, 1).date() + timedelta(days=number % 300)
    email, name = data.emails[number % len(data.emails)]
    return email, {
        "name": name,
        "channel": "airbnb",
        "external_id": f"{prefix}-{number}",
        "property": data.property_ids[number % len(data.property_ids)],
        "check_in": check_in,
        "check_out": check_in + timedelta(days=3 + (1 if again else 0)),
        "adults": 2,
        "amount": Decimal(300 + number + (50 if again else 0)),
        "again": again,
    }


async def _imports(client: httpx.AsyncClient, conn: psycopg.AsyncConnection[Any], data: Customers) -> Result:
    statement = upsert_sql(data.tenant.schema_name)
    created: dict[str, int] = {"api": 0, "floor": 0}

    def api(prefix: str, count: bool) -> Call:
        async def call(index: int) -> None:
            email, stay = _import_input(index, prefix=prefix, data=data)
            variables = {
                "input": {
                    "channel": stay["channel"],
                    "externalId": stay["external_id"],
                    "propertyId": encode_id("Property", stay["property"]),
                    "guest": {"name": stay["name"], "email": email},
                    "checkIn": stay["check_in"].isoformat(),
                    "checkOut": stay["check_out"].isoformat(),
                    "adults": stay["adults"],
                    "amount": str(stay["amount"]),
                    "currency": "USD",
                }
            }
            payload = graphql_data(
                await client.post("/graphql", json={"query": IMPORT, "variables": variables}),
                "importOtaBooking",
            )
            if payload["errors"] or payload["created"] == stay["again"]:
                raise BenchError(f"importOtaBooking {stay['external_id']}: {payload}")
            created["api"] += count and payload["created"]

        return call

    def own(prefix: str, count: bool) -> Call:
        async def call(index: int) -> None:
            email, stay = _import_input(index, prefix=prefix, data=data)
            params = {**stay, "id": uuid.uuid4(), "bidx": data.keys.blind_index(email, kind="email")}
            row = await (await conn.execute(statement, params)).fetchone()
            if row is None or bool(row[1]) == stay["again"]:
                raise BenchError(f"floor upsert {stay['external_id']}: {row}")
            created["floor"] += count and bool(row[1])

        return call

    run_id = secrets.token_hex(3)
    budget = 600.0
    await run_clients([api(f"W{run_id}", False)], requests=IMPORT_WARMUP, max_seconds=budget)
    await run_clients([own(f"W{run_id}F", False)], requests=IMPORT_WARMUP, max_seconds=budget)
    api_stats = await run_clients([api(f"B{run_id}", True)], requests=IMPORTS, max_seconds=budget)
    floor_stats = await run_clients([own(f"B{run_id}F", True)], requests=IMPORTS, max_seconds=budget)
    return Result(
        name=f"importOtaBooking x{IMPORTS}",
        api=api_stats,
        floor=floor_stats,
        check=f"created: API {created['api']}, floor {created['floor']} (of {IMPORTS}; half re-imports)",
        total_seconds=(api_stats.seconds, floor_stats.seconds),
    )


async def _questions(
    *, base_url: str, token: str, database_url: str, data: Customers, options: Options
) -> list[Result]:
    schema = data.tenant.schema_name
    budget = Budget(warmup=options.warmup, requests=options.requests, max_seconds=options.max_seconds)
    prefix_query = f"{NAME_PREFIX.lower()}:*"
    results = []
    async with http_clients(base_url, token, 1) as clients, db_connections(database_url, 1) as connections:
        client, conn = clients[0], connections[0]

        def api(query: str, variables: Any) -> Call:
            async def call(number: int) -> None:
                graphql_data(
                    await client.post("/graphql", json={"query": query, "variables": variables(number)}),
                    "guests",
                )

            return call

        def own(statement: sql.Composed, params: Any) -> Call:
            async def call(number: int) -> None:
                await (await conn.execute(statement, params(number))).fetchall()

            return call

        def email(number: int) -> str:
            return data.emails[number % len(data.emails)][0]

        questions = (
            (
                f"guests(first: {PAGE_SIZE}) by last activity",
                LIST,
                lambda n: {"first": PAGE_SIZE},
                list_sql(schema),
                lambda n: {"first": PAGE_SIZE},
            ),
            (
                f'guests(search: "{NAME_PREFIX}", first: {PAGE_SIZE})',
                SEARCH,
                lambda n: {"q": NAME_PREFIX, "first": PAGE_SIZE},
                search_sql(schema),
                lambda n: {"q": prefix_query, "first": PAGE_SIZE},
            ),
            (
                'guests(search: "<email>") (rotating)',
                SEARCH,
                lambda n: {"q": email(n), "first": PAGE_SIZE},
                email_sql(schema),
                lambda n: {"bidx": data.keys.blind_index(email(n), kind="email"), "first": PAGE_SIZE},
            ),
        )
        for name, query, variables, statement, params in questions:
            progress(f"{name}: checking, then API and floor interleaved")
            response = await client.post("/graphql", json={"query": query, "variables": variables(0)})
            api_ids, api_total = _ids_and_total(graphql_data(response, "guests"))
            floor_ids, floor_total = await _floor_rows(conn, statement, params(0))
            same = "same ids and total" if (api_ids, api_total) == (floor_ids, floor_total) else "DIFFERENT"
            check = f"{same}; {len(api_ids)} rows, totalCount {api_total:,} (floor {floor_total:,})"
            stats = await interleaved(
                {"api": [api(query, variables)], "floor": [own(statement, params)]}, budget=budget
            )
            results.append(Result(name=name, api=stats["api"], floor=stats["floor"], check=check))
        progress(f"importOtaBooking: {IMPORTS} sequential imports, then {IMPORTS} floor upserts")
        results.append(await _imports(client, conn, data))
    return results


# --------------------------------------------------------------------------- report


def _report(data: Customers, results: list[Result], *, options: Options, pg_version: str) -> str:
    counts = data.tenant.counts
    lines = [
        "Hospes customer-list benchmark: the API over HTTP (`hospes serve`, 1 worker, httpx keep-alive) vs",
        "one hand-written SQL statement per question (psycopg, autocommit), same run, 1 client, sequential.",
        f"data: tenant {data.tenant.slug}: {counts['guest']:,} guests, {counts['booking']:,} bookings "
        f"(seeded in {data.tenant.seconds:.1f}s); PostgreSQL {pg_version}",
        f"reads: warm-up {options.warmup}, then {options.requests} requests per side, interleaved in 5 "
        "rounds;",
        f"imports: {IMPORT_WARMUP} warm-up, then {IMPORTS} per side (first half new external ids, second",
        "half re-imports of them), existing guests' emails; floor = INSERT ... SELECT guest by",
        "email_bidx ON CONFLICT (channel, external_id) DO UPDATE (no guest touch, booking_count",
        "refresh or portal link).",
        "",
        *api_floor_table([(r.name, r.api, r.floor) for r in results]),
        "",
        "ratio = API / floor (higher is worse); times in ms.",
    ]
    for r in results:
        lines.append(f"{r.name}: {r.check}")
        if r.total_seconds is not None:
            api_s, floor_s = r.total_seconds
            lines.append(f"  total: API {api_s:.2f}s, floor {floor_s:.2f}s ({api_s / floor_s:.1f}x)")
        stopped = [side for side, s in (("API", r.api), ("floor", r.floor)) if s.stopped_by_time]
        if stopped:
            lines.append(f"  stopped by the time cap: {', '.join(stopped)}")
    return "\n".join(lines)


def run(settings: Settings, *, database_url: str, redis_url: str, options: Options) -> str:
    """Run the whole benchmark and return the report; leaves no tenant and no server behind."""
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    engine = create_engine_sync(database_url, policy=ConnectionPolicy.of(settings, role=Role.CLI))
    try:
        pg_version = server_version(database_url)
        passwords = Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
        progress(
            f"seeding a tenant with {options.guests:,} guests, "
            f"{options.guests * BOOKINGS_PER_GUEST:,} bookings"
        )
        data = seed_customers(
            engine,
            database_url=database_url,
            guests=options.guests,
            passwords=passwords,
            master=master_key_from(settings),
        )
        progress(f"seeded {data.tenant.slug} in {data.tenant.seconds:.1f}s; starting `hospes serve`")
        try:
            with hospes_server(database_url=database_url, redis_url=redis_url) as base_url:

                async def main() -> list[Result]:
                    token = await login(base_url, data.tenant)
                    try:
                        return await _questions(
                            base_url=base_url,
                            token=token,
                            database_url=database_url,
                            data=data,
                            options=options,
                        )
                    finally:
                        await logout(base_url, token)

                results = asyncio.run(main())
        except (httpx.HTTPError, psycopg.Error) as error:
            raise BenchError(f"{type(error).__name__}: {error}") from error
        finally:
            progress(f"dropping {data.tenant.slug}")
            drop_seeded(engine, data.tenant)
    finally:
        engine.dispose()
    return _report(data, results, options=options, pg_version=pg_version)
