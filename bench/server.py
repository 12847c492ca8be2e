"""What several benches share: a real `hospes serve` subprocess, GraphQL over HTTP to it (log in,
clients, answers checked), direct database connections for the floor, and progress lines."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import click
import httpx
import psycopg

from hospes.bench.seed import SeededTenant, libpq_url

SERVER_START_SECONDS = 60.0


LOGIN = """
mutation Login($input: LoginInput!) { login(input: $input) { token errors { field code message } } }
"""


class BenchError(RuntimeError):
    """The benchmark cannot go on (server did not start, an answer was wrong...)."""


def progress(message: str) -> None:
    # Progress goes to stderr, so stdout holds only the report.
    click.echo(f"[bench] {message}", err=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def hospes_command() -> list[str]:
    # The `hospes` script of this interpreter's environment; `python -m hospes` is the same program.
    script = Path(sys.executable).parent / "hospes"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hospes"]


def log_tail(log: IO[str], lines: int = 30) -> str:
    log.flush()
    log.seek(0)
    return "".join(log.readlines()[-lines:])


@contextlib.contextmanager
def hospes_server(
    *, database_url: str, redis_url: str, extra_env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A `hospes serve` subprocess on a free port, ready (healthz 200) when this yields its URL;
    `extra_env` adds settings of its own."""
    port = free_port()
    env = {
        **os.environ,
        "HOSPES_DATABASE_URL": database_url,
        "HOSPES_REDIS_URL": redis_url,
        # uvicorn logs every request at INFO; a log line per request is not what we measure.
        "HOSPES_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    command = [*hospes_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+", prefix="hospes-bench-serve-") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while True:
                if process.poll() is not None:
                    raise BenchError(f"`hospes serve` exited with {process.returncode}:\n{log_tail(log)}")
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"`hospes serve` not healthy after {SERVER_START_SECONDS:.0f}s:\n{log_tail(log)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base_url}/healthz", timeout=2.0, trust_env=False).status_code == 200:
                        break
                time.sleep(0.1)
            yield base_url
        finally:
            process.terminate()  # uvicorn shuts down gracefully on SIGTERM
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def graphql_data(response: httpx.Response, field_name: str) -> Any:
    """The operation's root field, or a BenchError that says what went wrong."""
    if response.status_code != 200:
        raise BenchError(f"HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    if body.get("errors"):
        raise BenchError(f"GraphQL errors: {body['errors']}")
    value = body["data"][field_name]
    if value is None:
        raise BenchError(f"`{field_name}` is null")
    return value


async def login(base_url: str, tenant: SeededTenant) -> str:
    variables = {
        "input": {"tenant": tenant.slug, "email": tenant.owner_email, "password": tenant.owner_password}
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, trust_env=False) as client:
        payload = graphql_data(
            await client.post("/graphql", json={"query": LOGIN, "variables": variables}), "login"
        )
    if payload["errors"] or not payload["token"]:
        raise BenchError(f"login failed: {payload['errors']}")
    return str(payload["token"])


async def logout(base_url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=10.0, trust_env=False
        ) as client:
            await client.post("/graphql", json={"query": "mutation { logout }"})


@contextlib.asynccontextmanager
async def http_clients(base_url: str, token: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60.0, trust_env=False)
            )
            for _ in range(count)
        ]


@contextlib.asynccontextmanager
async def db_connections(database_url: str, count: int) -> AsyncIterator[list[psycopg.AsyncConnection[Any]]]:
    async with contextlib.AsyncExitStack() as stack:
        connections = []
        for _ in range(count):
            # Autocommit: one statement is one round trip, the least any client can do.
            conn = await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True)
            connections.append(await stack.enter_async_context(conn))
        yield connections


def server_version(database_url: str) -> str:
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"
