"""`hospes bench graph`, the peer section: Hospes, its SQL floor and PostGraphile 4 (when node is
here) on the same tenant, driven by one keep-alive HTTP client and direct connections that do not
parse answers, the three sides alternating in slices (bench.measure.interleaved), with the cost
growth of guest detail (5, 50, 200 bookings) and of the list (`first` 10, 50, 100).

The guests with 50 and 200 bookings are made from the seeded graph by moving donor guests'
bookings (with their payments and service requests) to them; the donors leave the rotation.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader

from hospes.bench import floor, postgraphile
from hospes.bench.guest_graph import GUEST_DETAIL, GUEST_LIST
from hospes.bench.measure import Budget, Call, interleaved
from hospes.bench.peer_findings import PeerFindings, PeerOptions, report
from hospes.bench.seed import SeededTenant, libpq_url
from hospes.bench.seed_data import BOOKINGS_PER_GUEST
from hospes.bench.server import BenchError, graphql_data, login, logout, progress
from hospes.schema.ids import encode_id

# --------------------------------------------------------------------------- the data


def grow_guests(database_url: str, tenant: SeededTenant, sizes: Sequence[int]) -> tuple[list[uuid.UUID], int]:
    """One guest per size in `sizes` with that many bookings, made by moving other guests'
    bookings to it; returns those guests and how many guests at the end of the list gave theirs."""
    targets = list(tenant.guest_ids[: len(sizes)])
    donors = list(reversed(tenant.guest_ids[len(sizes) :]))
    used = 0
    table = {
        name: sql.Identifier(tenant.schema_name, name) for name in ("booking", "service_request", "guest")
    }
    with psycopg.connect(libpq_url(database_url)) as conn:
        for target, size in zip(targets, sizes, strict=True):
            wanted = -(-(size - BOOKINGS_PER_GUEST) // BOOKINGS_PER_GUEST)
            if used + wanted > len(donors) - len(targets):
                raise BenchError(f"too few guests to give one {size} bookings")
            givers = donors[used : used + wanted]
            used += wanted
            moved = conn.execute(
                sql.SQL(
                    "UPDATE {booking} SET guest_id = %(to)s WHERE id IN (SELECT id FROM {booking}"
                    " WHERE guest_id = ANY(%(from)s) ORDER BY id LIMIT %(n)s) RETURNING id"
                ).format(**table),
                {"to": target, "from": givers, "n": size - BOOKINGS_PER_GUEST},
            ).fetchall()
            conn.execute(
                sql.SQL(
                    "UPDATE {service_request} SET guest_id = %(to)s WHERE booking_id = ANY(%(ids)s)"
                ).format(**table),
                {"to": target, "ids": [row[0] for row in moved]},
            )
        conn.execute(
            sql.SQL(
                "UPDATE {guest} g SET booking_count = (SELECT count(*) FROM {booking} b"
                " WHERE b.guest_id = g.id AND b.status <> 'cancelled')"
            ).format(**table)
        )
    return targets, used


# --------------------------------------------------------------------------- the calls


def http_call(client: httpx.AsyncClient, url: str, bodies: Sequence[bytes], headers: dict[str, str]) -> Call:
    """POST one of `bodies` (JSON encoded once, before measuring); the answer is not parsed."""
    headers = {**headers, "Content-Type": "application/json"}

    async def call(number: int) -> None:
        response = await client.post(url, content=bodies[number % len(bodies)], headers=headers)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise BenchError(f"{url}: HTTP {response.status_code}: {response.text[:300]}")

    return call


def floor_call(
    conn: psycopg.AsyncConnection[Any], statement: sql.Composed, params: Sequence[dict[str, Any]]
) -> Call:
    """One floor statement; its JSON arrives as text (a json loader that does not parse)."""

    async def call(number: int) -> None:
        cursor = await conn.execute(statement, params[number % len(params)])
        row = await cursor.fetchone()
        if row is None or row[0] is None:
            raise BenchError("the floor found nothing")

    return call


def _bodies(query: str, variables: Sequence[dict[str, Any]]) -> list[bytes]:
    return [httpx.Request("POST", "/", json={"query": query, "variables": v}).content for v in variables]


@dataclass(frozen=True)
class Sides:
    client: httpx.AsyncClient
    hospes_url: str
    token: str
    peer_url: str | None
    connections: Sequence[psycopg.AsyncConnection[Any]]
    schema_name: str

    def detail(self, pks: Sequence[uuid.UUID], clients: int) -> dict[str, list[Call]]:
        auth = {"Authorization": f"Bearer {self.token}"}
        ours = _bodies(GUEST_DETAIL, [{"id": encode_id("Guest", pk)} for pk in pks])
        statement = floor.guest_detail_sql(self.schema_name)
        phases = {
            "hospes": [http_call(self.client, self.hospes_url, ours, auth) for _ in range(clients)],
            "floor": [
                floor_call(c, statement, [{"id": pk} for pk in pks]) for c in self.connections[:clients]
            ],
        }
        if self.peer_url:
            theirs = _bodies(postgraphile.DETAIL, [{"id": str(pk)} for pk in pks])
            phases["postgraphile"] = [
                http_call(self.client, self.peer_url, theirs, {}) for _ in range(clients)
            ]
        return phases

    def page(self, first: int, clients: int) -> dict[str, list[Call]]:
        auth = {"Authorization": f"Bearer {self.token}"}
        statement = floor.guest_list_sql(self.schema_name)
        phases = {
            "hospes": [
                http_call(self.client, self.hospes_url, _bodies(GUEST_LIST, [{"first": first}]), auth)
                for _ in range(clients)
            ],
            "floor": [floor_call(c, statement, [{"first": first}]) for c in self.connections[:clients]],
        }
        if self.peer_url:
            theirs = _bodies(postgraphile.LIST, [{"first": first}])
            phases["postgraphile"] = [
                http_call(self.client, self.peer_url, theirs, {}) for _ in range(clients)
            ]
        return phases

    async def same_data(self, pk: uuid.UUID, first: int) -> dict[str, str]:
        """Whether PostGraphile's answers hold what Hospes' do (the floor's JSON is checked
        byte for byte against Hospes' by the first part of the bench)."""
        if not self.peer_url:
            return {}
        auth = {"Authorization": f"Bearer {self.token}"}
        detail_id = encode_id("Guest", pk)
        checks = {
            "guest detail": (
                (GUEST_DETAIL, {"id": detail_id}, "guest"),
                (postgraphile.DETAIL, {"id": str(pk)}, "guestById"),
                postgraphile.detail_content,
            ),
            f"guests(first: {first})": (
                (GUEST_LIST, {"first": first}, "guests"),
                (postgraphile.LIST, {"first": first}, "allGuests"),
                postgraphile.list_content,
            ),
        }
        found = {}
        for name, (
            (query, variables, root),
            (peer_query, peer_variables, peer_root),
            content,
        ) in checks.items():
            ours = graphql_data(
                await self.client.post(
                    self.hospes_url, json={"query": query, "variables": variables}, headers=auth
                ),
                root,
            )
            theirs = graphql_data(
                await self.client.post(
                    self.peer_url, json={"query": peer_query, "variables": peer_variables}
                ),
                peer_root,
            )
            same = content(ours, peer=False) == content(theirs, peer=True)
            found[name] = "same data" if same else "DIFFERENT data"
        return found


# --------------------------------------------------------------------------- the run


async def measure(
    *,
    database_url: str,
    hospes_url: str,
    token: str,
    peer_url: str | None,
    tenant: SeededTenant,
    growth: Sequence[uuid.UUID],
    donors: int,
    options: PeerOptions,
    findings: PeerFindings,
) -> None:
    """Every phase, the sides interleaved; fills `findings.phases`."""
    budget = Budget(warmup=options.warmup, requests=10**9, max_seconds=options.seconds)
    rotation = tenant.guest_ids[len(growth) : len(tenant.guest_ids) - donors] or tenant.guest_ids[:1]
    limits = httpx.Limits(
        max_connections=options.concurrency * 2, max_keepalive_connections=options.concurrency * 2
    )
    async with httpx.AsyncClient(timeout=60.0, trust_env=False, limits=limits) as client:
        connections = []
        try:
            for _ in range(options.concurrency):
                conn = await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True)
                conn.adapters.register_loader("json", TextLoader)  # the answer stays text
                connections.append(conn)
            sides = Sides(client, f"{hospes_url}/graphql", token, peer_url, connections, tenant.schema_name)
            findings.same_data = await sides.same_data(rotation[0], 50)
            phases: list[tuple[str, str, dict[str, list[Call]]]] = [
                ("guest detail", "latency", sides.detail(rotation, 1)),
                ("guest detail", "load", sides.detail(rotation, options.concurrency)),
                ("guests(first: 50)", "latency", sides.page(50, 1)),
                ("guests(first: 50)", "load", sides.page(50, options.concurrency)),
            ]
            for pk, size in zip(growth, options.detail_bookings, strict=True):
                phases.append((f"guest detail, {size} bookings", "latency", sides.detail([pk], 1)))
            for first in options.list_sizes:
                if first != 50:
                    phases.append((f"guests(first: {first})", "latency", sides.page(first, 1)))
            for operation, kind, calls in phases:
                clients = len(calls["hospes"])
                progress(f"peer: {operation}, {clients} client(s), {' / '.join(calls)} alternating")
                findings.phases[(operation, kind)] = await interleaved(
                    calls, budget=budget, rounds=options.rounds
                )
        finally:
            for conn in connections:
                await conn.close()


def peer_cache(data_dir: Path) -> Path:
    return data_dir / "bench" / "postgraphile"


async def _logged_in(base_url: str, tenant: SeededTenant, **kwargs: Any) -> None:
    token = await login(base_url, tenant)
    try:
        await measure(hospes_url=base_url, token=token, tenant=tenant, **kwargs)
    finally:
        await logout(base_url, token)


def run(
    *, data_dir: Path, database_url: str, base_url: str, tenant: SeededTenant, options: PeerOptions
) -> str:
    """The peer section against a running `hospes serve` and its seeded tenant; PostGraphile runs
    when node is here (installed on first use into the cache under `data_dir`)."""
    findings = PeerFindings(missing=postgraphile.missing_node())
    progress(f"peer: guests with {', '.join(map(str, options.detail_bookings))} bookings")
    growth, donors = grow_guests(database_url, tenant, options.detail_bookings)
    with contextlib.ExitStack() as stack:
        peer_url = None
        if findings.missing is None:
            script = postgraphile.installed(peer_cache(data_dir))
            progress("peer: starting PostGraphile")
            peer_url = stack.enter_context(
                postgraphile.postgraphile_server(
                    script, database_url=database_url, schema_name=tenant.schema_name
                )
            )
        else:
            progress(f"peer: PostGraphile not run ({findings.missing})")
        asyncio.run(
            _logged_in(
                base_url,
                tenant,
                database_url=database_url,
                peer_url=peer_url,
                growth=growth,
                donors=donors,
                options=options,
                findings=findings,
            )
        )
    return report(findings, options)
