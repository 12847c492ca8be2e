"""Every connection says which Hospes process made it (`application_name`), and pooled connections
are replaced after `HOSPES_DB_POOL_RECYCLE_SECONDS`, so no backend keeps growing for ever."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hospes.app import create_app
from hospes.settings import Settings
from tests.conftest import Servers

_WAITING_CLI = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'hospes-cli' AND wait_event_type = 'Lock'"
)


def _backend_pid(client: TestClient) -> int:
    """The backend of the connection the app's own pool hands out next."""
    engine = client.app.state.resources.engine  # type: ignore[attr-defined]

    async def read() -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())

    assert client.portal is not None
    return client.portal.call(read)


@pytest.fixture
def app_client(settings: Settings, servers: Servers) -> Iterator[TestClient]:
    # One pooled connection, so consecutive reads share it unless it is recycled.
    own = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_recycle_seconds": 1})
    with TestClient(
        create_app(own, database_url=servers.database_url, redis_url=servers.redis_url)
    ) as client:
        yield client


def test_api_connections_are_named_hospes_api(app_client: TestClient, sync_engine: sa.Engine) -> None:
    pid = _backend_pid(app_client)

    with sync_engine.connect() as connection:
        name = connection.execute(
            sa.text("SELECT application_name FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar_one()

    assert name == "hospes-api"


def test_pooled_connection_is_replaced_after_the_recycle_period(app_client: TestClient) -> None:
    first = _backend_pid(app_client)
    assert _backend_pid(app_client) == first  # kept while young

    time.sleep(1.5)

    assert _backend_pid(app_client) != first


def test_cli_connections_are_named_hospes_cli(settings: Settings, sync_engine: sa.Engine) -> None:
    # Holding the lock `public` migrates under keeps the command's connection waiting, in view.
    with sync_engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('public'))"))
        environment = {
            **os.environ,
            "HOSPES_DATABASE_URL": settings.database_url or "",
            "HOSPES_REDIS_URL": settings.redis_url or "",
        }
        command = subprocess.Popen(
            [sys.executable, "-c", "from cli import main; main()", "tenant", "list"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            seen = 0
            deadline = time.monotonic() + 30
            while not seen and command.poll() is None and time.monotonic() < deadline:
                with sync_engine.connect() as observer:
                    seen = observer.execute(_WAITING_CLI).scalar_one()
                time.sleep(0.05)
        finally:
            holder.rollback()
            returncode = command.wait(timeout=60)

    assert seen == 1
    assert returncode == 0
