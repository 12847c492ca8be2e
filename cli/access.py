"""`hospes user` and `hospes apikey`: the logins and partner keys of a company."""

from __future__ import annotations

import asyncio

import click

from hospes.cli.servers import cli_policy, fail, load_settings, migrate_public, open_servers


@click.group()
def user() -> None:
    """Manage staff users."""


@user.command("create")
@click.option("--tenant", "slug", required=True, help="The company's slug.")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--role", type=click.Choice(["owner", "manager", "agent"]), default="agent", show_default=True)
@click.option("--name", default=None)
def user_create(slug: str, email: str, password: str, role: str, name: str | None) -> None:
    """Create a staff login for a company."""
    from hospes.models.tenant import StaffRole
    from hospes.services.rejections import Rejection
    from hospes.services.staff import create_staff_user
    from hospes.tenancy.database import TenantSessions, create_engine_async
    from hospes.tenancy.passwords import Passwords
    from hospes.tenancy.registry import TenantRegistry

    settings = load_settings()
    with open_servers(settings, need_redis=False) as servers:
        migrate_public(servers.database_url)

        async def create() -> str:
            engine = create_engine_async(servers.database_url, policy=cli_policy())
            try:
                registry = TenantRegistry(engine, ttl_seconds=0)
                found = await registry.by_slug(slug)
                if found is None:
                    return f"error: unknown tenant {slug!r}"
                passwords = Passwords(
                    time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
                )
                async with (
                    TenantSessions(engine).open(found.schema_name) as session,
                    session.begin(),
                ):
                    outcome = await create_staff_user(
                        session,
                        passwords=passwords,
                        email=email,
                        password=password,
                        role=StaffRole(role),
                        name=name,
                    )
                    if isinstance(outcome, Rejection):
                        problem = outcome.errors[0]
                        return f"error: {problem.field}: {problem.message}"
                    return f"created {role} {outcome.email} in {slug}"
            finally:
                await engine.dispose()

        message = asyncio.run(create())
        if message.startswith("error: "):
            fail(message.removeprefix("error: "))
        click.echo(message)


@click.group()
def apikey() -> None:
    """Partner API keys."""


@apikey.command("create")
@click.option("--tenant", "slug", required=True, help="The company's slug.")
@click.option("--name", required=True, help="Who the key is for, e.g. 'channel manager'.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help="A scope the key grants (repeat for several): guests:read, guests:write, bookings:read, "
    "bookings:write, messages:read, messages:send, inquiries:read, inquiries:write.",
)
def apikey_create(slug: str, name: str, scopes: tuple[str, ...]) -> None:
    """Issue an API key for a company and print it; it is shown only this once."""
    from hospes.resolvers.access import create_api_key
    from hospes.services.rejections import Rejection
    from hospes.tenancy.database import TenantSessions, create_engine_async
    from hospes.tenancy.registry import TenantRegistry

    settings = load_settings()
    with open_servers(settings, need_redis=False) as servers:
        migrate_public(servers.database_url)

        async def create() -> tuple[str | None, str]:
            engine = create_engine_async(servers.database_url, policy=cli_policy())
            try:
                found = await TenantRegistry(engine, ttl_seconds=0).by_slug(slug)
                if found is None:
                    return None, f"unknown tenant {slug!r}"
                async with (
                    TenantSessions(engine).open(found.schema_name) as session,
                    session.begin(),
                ):
                    outcome = await create_api_key(
                        session, tenant_id=found.id, name=name, scopes=scopes, actor=None
                    )
                    if isinstance(outcome, Rejection):
                        problem = outcome.errors[0]
                        return None, f"{problem.field}: {problem.message}"
                    return outcome.key, (
                        f"created API key {outcome.row.prefix} ({name}) in {slug} with scopes "
                        f"{', '.join(outcome.row.scopes)}; it is shown only once:"
                    )
            finally:
                await engine.dispose()

        key, message = asyncio.run(create())
        if key is None:
            fail(message)
        click.echo(message)
        click.echo(key)
