"""`hospes migrate`: public, then every tenant schema."""

from __future__ import annotations

import sys
from typing import Any

import click

from hospes.cli.servers import cli_policy, fail, load_settings, open_servers


@click.command()
@click.option("--check", is_flag=True, help="Only report which schemas are behind; change nothing.")
def migrate(check: bool) -> None:
    """Upgrade `public`, then every tenant schema (each in its own transaction)."""
    from hospes.tenancy.database import create_engine_sync
    from hospes.tenancy.keyring import master_key_from
    from hospes.tenancy.migrations import Outcome, migrate_all

    settings = load_settings()
    with open_servers(settings, need_redis=False) as servers:
        engine = create_engine_sync(
            servers.database_url, policy=cli_policy(), pool_size=settings.migrate_concurrency
        )

        def report(index: int, total: int, result: Any) -> None:
            detail = f" ({result.detail})" if result.detail else ""
            click.echo(f"[{index}/{total} {result.schema_name}] {result.outcome.value}{detail}")

        try:
            results = migrate_all(
                engine,
                concurrency=settings.migrate_concurrency,
                check=check,
                master_key=master_key_from(settings),
                on_result=report,
            )
        except Exception as error:
            fail(f"public schema failed to migrate: {str(error).splitlines()[0]}")
        finally:
            engine.dispose()
        failed = [r for r in results if r.outcome is Outcome.FAILED]
        behind = [r for r in results if r.outcome is Outcome.BEHIND]
        click.echo(
            f"{len(results)} tenant(s): {len(results) - len(failed) - len(behind)} at head, "
            f"{len(behind)} behind, {len(failed)} failed"
        )
        if failed:
            fail("failed: " + ", ".join(r.slug for r in failed))
        if check and behind:
            sys.exit(1)
