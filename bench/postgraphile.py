"""The peer for `hospes bench graph`: PostGraphile 4, installed from npm into a cache folder under
the data dir (reused across runs), serving the bench tenant's schema, and the two operations in
its own naming.

PostGraphile compiles a whole GraphQL selection into one SQL statement that builds the JSON in
PostgreSQL: the design the issue measures Hospes against. Its answers differ in shape (raw UUIDs,
lower-case enum values, `nodes` lists, no `payments` on a guest: they are the guest's bookings'
payments, which the same query already selects), so `same_data` compares what the answers hold,
not their bytes.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from hospes.bench.seed import libpq_url
from hospes.bench.server import BenchError, free_port, log_tail, progress
from hospes.schema.ids import decode_id

PACKAGE = "postgraphile@4"
START_SECONDS = 60.0

DETAIL = """
query GuestDetail($id: UUID!) {
  guestById(id: $id) {
    id name country language preferredChannel smsOptIn marketingEmailConsent
    createdAt lastActivityAt erasedAt bookingCount
    bookingsByGuestId(orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes {
      id checkIn checkOut adults children amount currency status source channel externalId
      createdAt cancelledAt stayGuestName
      propertyByPropertyId { id name timezone }
      paymentsByBookingId(orderBy: [CREATED_AT_DESC, ID_DESC]) {
        nodes { id amount currency method status paidAt createdAt }
      }
      serviceRequestsByBookingId(orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes {
        id serviceDate people price currency status serviceByServiceId { id name price currency }
      } }
    } }
    communicationsByGuestId(orderBy: [CREATED_AT_DESC, ID_DESC]) {
      nodes { id channel direction templateKey messageClass status createdAt sentAt }
    }
    serviceRequestsByGuestId(orderBy: [CREATED_AT_DESC, ID_DESC]) {
      nodes { id serviceDate people price currency status createdAt }
    }
  }
}
"""

LIST = """
query GuestList($first: Int!) {
  allGuests(first: $first, orderBy: [LAST_ACTIVITY_AT_DESC, ID_DESC], condition: {erasedAt: null}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id name country language lastActivityAt
      bookingsByGuestId(orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes {
        id checkIn checkOut status amount currency
        paymentsByBookingId(orderBy: [CREATED_AT_DESC, ID_DESC]) {
          nodes { id amount currency method status paidAt createdAt }
        }
      } }
    } }
  }
}
"""


def missing_node() -> str | None:
    """Why the peer cannot run here, or None when `node` and `npm` are on the PATH."""
    absent = [name for name in ("node", "npm") if shutil.which(name) is None]
    return f"{' and '.join(absent)} not found on the PATH" if absent else None


def installed(cache: Path) -> Path:
    """PostGraphile's entry script, installed into `cache` by npm on the first run only."""
    script = cache / "node_modules" / "postgraphile" / "cli.js"
    if script.exists():
        return script
    cache.mkdir(parents=True, exist_ok=True)
    progress(f"installing {PACKAGE} from npm into {cache}")
    done = subprocess.run(
        [
            shutil.which("npm") or "npm",
            "install",
            "--prefix",
            str(cache),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            PACKAGE,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not script.exists():
        raise BenchError(f"npm install {PACKAGE} failed: {(done.stderr or done.stdout)[-500:]}")
    return script


@contextlib.contextmanager
def postgraphile_server(script: Path, *, database_url: str, schema_name: str) -> Iterator[str]:
    """PostGraphile serving one schema on a free port; yields its GraphQL URL once it answers."""
    port = free_port()
    node = shutil.which("node") or "node"
    command = [node, str(script), "--connection", libpq_url(database_url), "--schema", schema_name]
    command += ["--host", "127.0.0.1", "--port", str(port), "--disable-query-log", "--disable-graphiql"]
    url = f"http://127.0.0.1:{port}/graphql"
    with tempfile.TemporaryFile("w+", prefix="hospes-bench-postgraphile-") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                if process.poll() is not None:
                    raise BenchError(f"PostGraphile exited with {process.returncode}:\n{log_tail(log)}")
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"PostGraphile not answering after {START_SECONDS:.0f}s:\n{log_tail(log)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    answer = httpx.post(url, json={"query": "{ __typename }"}, timeout=2.0, trust_env=False)
                    if answer.status_code == 200:
                        break
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --------------------------------------------------------------------------- same data


def _uuid(type_name: str, value: str) -> uuid.UUID:
    found = decode_id(type_name, value)
    if found is None:
        raise BenchError(f"not a {type_name} id: {value!r}")
    return found


def detail_content(answer: dict[str, Any], *, peer: bool) -> dict[str, Any]:
    """What a guest detail answer holds, side-independent: the guest's name and booking count, and
    the ids of its bookings, payments, service requests and messages in their order."""
    if peer:
        bookings = answer["bookingsByGuestId"]["nodes"]
        return {
            "name": answer["name"],
            "bookingCount": answer["bookingCount"],
            "bookings": [uuid.UUID(b["id"]) for b in bookings],
            "payments": sorted(
                uuid.UUID(p["id"]) for b in bookings for p in b["paymentsByBookingId"]["nodes"]
            ),
            "requests": [uuid.UUID(r["id"]) for r in answer["serviceRequestsByGuestId"]["nodes"]],
            "messages": [uuid.UUID(m["id"]) for m in answer["communicationsByGuestId"]["nodes"]],
        }
    return {
        "name": answer["name"],
        "bookingCount": answer["bookingCount"],
        "bookings": [_uuid("Booking", b["id"]) for b in answer["bookings"]],
        "payments": sorted(_uuid("Payment", p["id"]) for p in answer["payments"]),
        "requests": [_uuid("ServiceRequest", r["id"]) for r in answer["serviceRequests"]],
        "messages": [_uuid("Communication", m["id"]) for m in answer["communications"]],
    }


def list_content(answer: dict[str, Any], *, peer: bool) -> dict[str, Any]:
    """What a list page holds: the total, whether more follow, and each guest's id and bookings'
    and payments' ids, in page order."""
    nodes = [edge["node"] for edge in answer["edges"]]
    if peer:
        guests = [
            (
                uuid.UUID(n["id"]),
                [
                    (uuid.UUID(b["id"]), [uuid.UUID(p["id"]) for p in b["paymentsByBookingId"]["nodes"]])
                    for b in n["bookingsByGuestId"]["nodes"]
                ],
            )
            for n in nodes
        ]
    else:
        guests = [
            (
                _uuid("Guest", n["id"]),
                [
                    (_uuid("Booking", b["id"]), [_uuid("Payment", p["id"]) for p in b["payments"]])
                    for b in n["bookings"]
                ],
            )
            for n in nodes
        ]
    return {
        "totalCount": answer["totalCount"],
        "hasNextPage": answer["pageInfo"]["hasNextPage"],
        "guests": guests,
    }
