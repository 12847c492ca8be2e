"""The small steps of `.ci/fuzz` that are easier in Python than in bash.

    fuzz_support.py free-port
    fuzz_support.py create-database BASE_URL NAME   prints the new database's URL
    fuzz_support.py drop-database BASE_URL NAME
    fuzz_support.py wait-healthy BASE PID SECONDS   until /healthz answers ok, or the server died
    fuzz_support.py login BASE TENANT EMAIL         password in HOSPES_FUZZ_PASSWORD; prints a token
    fuzz_support.py seed BASE IDS_JSON              token in HOSPES_FUZZ_TOKEN; a small guest graph
    fuzz_support.py redis-clean REDIS_URL NAMESPACE
    fuzz_support.py server-errors LOG               the server's unexpected errors, by root cause

Loopback only: BASE is the `hospes serve` this run started.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


def free_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        print(probe.getsockname()[1])


def _admin_conninfo(base_url: str) -> str:
    """libpq form of HOSPES_DATABASE_URL (which may name a SQLAlchemy driver)."""
    return make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(base_url: str, name: str) -> None:
    with psycopg.connect(_admin_conninfo(base_url), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(make_url(base_url).set(database=name).render_as_string(hide_password=False))


def drop_database(base_url: str, name: str) -> None:
    with psycopg.connect(_admin_conninfo(base_url), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def wait_healthy(base: str, pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit("the server exited before it was ready (its log follows)")
        try:
            answer = httpx.get(f"{base}/healthz", timeout=2.0)
            if answer.status_code == 200 and answer.json().get("status") == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"the server was not healthy after {seconds:g} s")


def _graphql(base: str, query: str, *, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30.0
    )
    body: dict[str, Any] = answer.json()
    if answer.status_code != 200 or body.get("errors"):
        sys.exit(f"setup request failed: HTTP {answer.status_code} {body.get('errors')}")
    data: dict[str, Any] = body["data"]
    return data


def _payload(data: dict[str, Any], field: str) -> dict[str, Any]:
    payload: dict[str, Any] = data[field]
    if payload.get("errors"):
        sys.exit(f"setup {field} refused: {payload['errors']}")
    return payload


def login(base: str, tenant: str, email: str) -> None:
    data = _graphql(
        base,
        "mutation($tenant: String!, $email: String!, $password: String!) {"
        " login(input: {tenant: $tenant, email: $email, password: $password}) { token errors { code } } }",
        tenant=tenant,
        email=email,
        password=os.environ["HOSPES_FUZZ_PASSWORD"],
    )
    print(_payload(data, "login")["token"])


def seed(base: str, ids_path: str) -> None:
    """A property, a service, a guest with a booking, a payment and a service request: list
    queries return nested objects, and their ids (written to `ids_path`) feed fuzz_config.py."""
    token = os.environ["HOSPES_FUZZ_TOKEN"]

    def create(mutation: str, field: str, object_field: str, **values: Any) -> str:
        data = _graphql(
            base,
            f"mutation($input: {mutation}Input!) {{ {field}(input: $input) "
            f"{{ {object_field} {{ id }} errors {{ field code message }} }} }}",
            token=token,
            input=values,
        )
        object_id: str = _payload(data, field)[object_field]["id"]
        return object_id

    check_in = dt.date.today() + dt.timedelta(days=30)
    property_id = create(
        "CreateProperty", "createProperty", "property", name="Casa Fuzz", timezone="America/Costa_Rica"
    )
    service_id = create(
        "CreateService", "createService", "service", name="Zip-line tour", price="85.00", currency="USD"
    )
    guest_id = create(
        "CreateGuest",
        "createGuest",
        "guest",
        name="Anna Fuzz",
        email="anna@fuzz.test",
        phone="+34600111222",
        country="ES",
        language="es",
    )
    booking_id = create(
        "CreateBooking",
        "createBooking",
        "booking",
        propertyId=property_id,
        guestId=guest_id,
        checkIn=check_in.isoformat(),
        checkOut=(check_in + dt.timedelta(days=4)).isoformat(),
        adults=2,
        amount="1200.00",
        currency="USD",
    )
    create(
        "RecordPayment",
        "recordPayment",
        "payment",
        bookingId=booking_id,
        amount="600.00",
        currency="USD",
        method="card",
    )
    create(
        "CreateServiceRequest",
        "createServiceRequest",
        "serviceRequest",
        bookingId=booking_id,
        serviceId=service_id,
        date=(check_in + dt.timedelta(days=1)).isoformat(),
        people=2,
    )
    seeded = {"property": property_id, "service": service_id, "guest": guest_id, "booking": booking_id}
    Path(ids_path).write_text(json.dumps(seeded), encoding="utf-8")


def redis_clean(redis_url: str, namespace: str) -> None:
    """Every key of this run: the app's (`<ns>:…`) and its broker's (`<ns>-dramatiq:…`)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in (f"{namespace}:*", f"{namespace}-dramatiq:*"):
            batch = list(client.scan_iter(match=pattern, count=500))
            if batch:
                client.delete(*batch)
    finally:
        client.close()


_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)[ :]")
_UNEXPECTED = re.compile(r"^ERROR hospes\.\w+: (unexpected error in (?P<path>\S+)|unhandled error) \[request")


def server_errors(log: str) -> None:
    """Each unexpected error the server logged, reduced to (where, exception), counted. The
    exception is the first line after the frames of the last traceback of the record."""
    found: Counter[tuple[str, str]] = Counter()
    where: str | None = None
    last = ""
    in_frames = False
    for line in [*Path(log).read_text(encoding="utf-8", errors="replace").splitlines(), "INFO end"]:
        if _RECORD.match(line):
            if where is not None:
                found[(where, last or "(no exception: e.g. null for a non-null field)")] += 1
            started = _UNEXPECTED.match(line)
            where = (started.group("path") or "HTTP 500 outside GraphQL") if started else None
            last, in_frames = "", False
        elif where is not None:
            if line.startswith("Traceback (most recent call last)"):
                in_frames = True
            elif in_frames and not line.startswith(" "):
                last, in_frames = line[:300], False
    if not found:
        print("the server logged no unexpected error")
        return
    print(f"the server logged {sum(found.values())} unexpected error(s), by place and exception:")
    for (path, exception), count in sorted(found.items()):
        print(f"  {count:4d} x {path}: {exception}")


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "free-port":
        free_port()
    elif command == "create-database":
        create_database(*args)
    elif command == "drop-database":
        drop_database(*args)
    elif command == "wait-healthy":
        wait_healthy(args[0], int(args[1]), float(args[2]))
    elif command == "login":
        login(*args)
    elif command == "seed":
        seed(*args)
    elif command == "redis-clean":
        redis_clean(*args)
    elif command == "server-errors":
        server_errors(*args)
    else:
        sys.exit(f"unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
