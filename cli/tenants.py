"""`hospes tenant`: create and list companies."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa

from hospes.cli.servers import cli_policy, fail, load_settings, migrate_public, open_servers

if TYPE_CHECKING:
    from hospes.tenancy.provisioning import NewTenant


@click.group()
def tenant() -> None:
    """Manage tenants (companies)."""


def _wanted_tenants(slugs: tuple[str, ...], *, name: str | None, source: Any) -> list[NewTenant]:
    """The tenants `tenant create` was asked for, all checked; refuses the whole list on any problem."""
    from hospes.tenancy.provisioning import NewTenant, check_new_tenants, read_tenant_lines

    wanted = [
        NewTenant(slug=slug, name=slug if name is None else name, origin=f"argument {slug!r}")
        for slug in slugs
    ]
    if source is not None:
        try:
            wanted += read_tenant_lines(source, source="stdin" if source.name == "<stdin>" else source.name)
        except UnicodeDecodeError as error:
            fail(f"{source.name} is not UTF-8 text ({error.reason} at byte {error.start})")
    if not wanted:
        fail("name at least one tenant: SLUG… or --from-file PATH")
    if name is None and len(wanted) == 1 and source is None:
        raise click.UsageError("Missing option '--name'.")
    if name is not None and len(wanted) > 1:
        fail("--name names one company; with several, put each name after its slug in --from-file")
    problems = check_new_tenants(wanted)
    if problems:
        for problem in problems[:-1]:
            click.echo(f"Error: {problem}", err=True)
        fail(problems[-1])
    return wanted


@tenant.command("create")
@click.argument("slugs", nargs=-1)
@click.option("--name", default=None, help="The company's display name (required with one SLUG).")
@click.option(
    "--from-file",
    "source",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Also create the tenants listed in this file ('-' for standard input): one slug per line, "
    "optionally followed by the company's name; blank lines and '#' comments are skipped.",
)
def tenant_create(slugs: tuple[str, ...], name: str | None, source: Any) -> None:
    """Register companies and provision their schemas, each all or nothing, in one process.

    Every SLUG (and line of the file) is checked before anything is created. With one SLUG,
    --name names the company; with several, each is named after its slug or its file line."""
    from hospes.tenancy.database import create_engine_sync
    from hospes.tenancy.provisioning import ProvisioningError, create_tenant

    # Eight lines of migration steps per tenant would bury the one line each that matters.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    wanted = _wanted_tenants(slugs, name=name, source=source)
    settings = load_settings()
    with open_servers(settings, need_redis=False) as servers:
        migrate_public(servers.database_url)
        engine = create_engine_sync(servers.database_url, policy=cli_policy())
        refused: list[tuple[str, str]] = []
        try:
            for new in wanted:
                try:
                    created = create_tenant(engine, slug=new.slug, name=new.name)
                except (ProvisioningError, sa.exc.SQLAlchemyError) as error:
                    # Taken (the first company is kept) or failed (rolled back): the others go on.
                    if len(wanted) == 1 and not isinstance(error, ProvisioningError):
                        raise  # reported as before: one line naming the database problem
                    reason = (
                        str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    )
                    refused.append((new.slug, reason))
                    if len(wanted) > 1:
                        click.echo(f"not created: {new.slug}: {reason}", err=True)
                    continue
                click.echo(f"created tenant {created.slug} (schema {created.schema_name})")
        finally:
            engine.dispose()
        if len(wanted) == 1 and refused:
            fail(refused[0][1])
        if refused:
            fail(
                f"{len(refused)} of {len(wanted)} tenants not created: "
                + ", ".join(slug for slug, _ in refused)
            )


@tenant.command("list")
def tenant_list() -> None:
    """List the registered companies."""
    from hospes.models.public import Tenant
    from hospes.tenancy.database import create_engine_sync

    settings = load_settings()
    with open_servers(settings, need_redis=False) as servers:
        migrate_public(servers.database_url)
        engine = create_engine_sync(servers.database_url, policy=cli_policy())
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(Tenant.slug, Tenant.name, Tenant.status, Tenant.created_at).order_by(Tenant.slug)  # type: ignore[call-overload]
            ).all()
        engine.dispose()
        if not rows:
            click.echo("no tenants")
        for row in rows:
            click.echo(f"{row.slug}\t{row.status}\t{row.created_at:%Y-%m-%d}\t{row.name}")
