"""The `hospes` command: dev, serve, worker, scheduler, migrate, tenant, user, apikey, keys, schema,
bench. Each group of commands lives in its own module; this one assembles them."""

from __future__ import annotations

import logging
from typing import Any

import click

from hospes.cli.access import apikey, user
from hospes.cli.bench import bench
from hospes.cli.keys import keys
from hospes.cli.migrate import migrate
from hospes.cli.run import dev, scheduler, serve, worker
from hospes.cli.schema_sdl import schema_sdl
from hospes.cli.tenants import tenant
from hospes.settings import get_settings


class _Commands(click.Group):
    """The `hospes` group: a server that cannot be reached is one line of error, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from sqlalchemy.exc import OperationalError

        try:
            return super().invoke(ctx)
        except OperationalError as error:
            # psycopg's own first line names the server and the reason (no such database, refused).
            reason = str(error.orig).strip().splitlines()[0] if error.orig else "unreachable"
            raise click.ClickException(f"cannot use the database: {reason}") from None
        except RedisConnectionError as error:
            raise click.ClickException(f"cannot use Redis: {error}") from None


@click.group(cls=_Commands)
def main() -> None:
    """Hospes: the guest-management API for property managers."""
    try:
        level = get_settings().log_level.upper()
    except ValueError:
        level = "INFO"  # the command itself reports the bad setting
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for command in (dev, serve, worker, scheduler, migrate, tenant, user, apikey, keys, schema_sdl, bench):
    main.add_command(command)

__all__ = ["main"]
