"""What every `hospes` command shares: the settings, the servers (configured or embedded), the CLI's
own connections, and one-line failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from hospes.settings import Settings, get_settings

if TYPE_CHECKING:
    from hospes.tenancy.database import ConnectionPolicy


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str
    embedded: bool


def fail(message: str) -> None:
    raise click.ClickException(message)


@contextmanager
def open_servers(settings: Settings, *, need_redis: bool = True) -> Iterator[Servers]:
    """The configured servers, or the embedded ones under `HOSPES_DATA_DIR` when none are set."""
    from hospes.embedded import start_postgres, start_redis

    handles: list[Any] = []
    database_url = settings.database_url
    redis_url = settings.redis_url
    if database_url is None:
        database_url, handle = start_postgres(settings.data_dir)
        handles.append(handle)
    if redis_url is None and need_redis:
        redis_url, handle = start_redis(settings.data_dir)
        handles.append(handle)
    try:
        yield Servers(database_url, redis_url or "", embedded=bool(handles))
    finally:
        handles.clear()


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:  # one line per problem, no pydantic boilerplate
        problems = "; ".join(
            f"HOSPES_{'_'.join(map(str, e['loc'])).upper() or 'SETTINGS'}: {e['msg']}" for e in error.errors()
        )
        fail(f"invalid settings: {problems}")
        raise  # unreachable; keeps type checkers content


def cli_policy() -> ConnectionPolicy:
    """How the CLI's own connections are made."""
    from hospes.tenancy.database import ConnectionPolicy, Role

    return ConnectionPolicy.of(load_settings(), role=Role.CLI)


def migrate_public(database_url: str) -> None:
    from hospes.tenancy.database import create_engine_sync
    from hospes.tenancy.migrations import upgrade_public

    engine = create_engine_sync(database_url, policy=cli_policy())
    try:
        with engine.begin() as connection:
            upgrade_public(connection)
    finally:
        engine.dispose()
