"""The `hospes` command: dev, serve, worker, scheduler, migrate, tenant, user, apikey, keys, schema,
bench."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa
from pydantic import ValidationError

from hospes.settings import Settings, get_settings

if TYPE_CHECKING:
    from hospes.tenancy.database import ConnectionPolicy
    from hospes.tenancy.provisioning import NewTenant


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str
    embedded: bool


def _fail(message: str) -> None:
    raise click.ClickException(message)


@contextmanager
def _servers(settings: Settings, *, need_redis: bool = True) -> Iterator[Servers]:
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


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:  # one line per problem, no pydantic boilerplate
        problems = "; ".join(
            f"HOSPES_{'_'.join(map(str, e['loc'])).upper() or 'SETTINGS'}: {e['msg']}" for e in error.errors()
        )
        _fail(f"invalid settings: {problems}")
        raise  # unreachable; keeps type checkers content


def _cli_policy() -> ConnectionPolicy:
    """How the CLI's own connections are made."""
    from hospes.tenancy.database import ConnectionPolicy, Role

    return ConnectionPolicy.of(_settings(), role=Role.CLI)


def _migrate_public(database_url: str) -> None:
    from hospes.tenancy.database import create_engine_sync
    from hospes.tenancy.migrations import upgrade_public

    engine = create_engine_sync(database_url, policy=_cli_policy())
    try:
        with engine.begin() as connection:
            upgrade_public(connection)
    finally:
        engine.dispose()


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


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default HOSPES_HOST).")
@click.option("--port", default=None, type=int, help="Port (default HOSPES_PORT).")
def dev(host: str | None, port: int | None) -> None:
    """Run everything on embedded servers with a demo company: one command, nothing to set up."""
    import uvicorn

    from hospes.app import create_app
    from hospes.services import demo
    from hospes.tenancy.database import TenantSessions, create_engine_async, create_engine_sync
    from hospes.tenancy.keyring import Keyring, master_key_from
    from hospes.tenancy.migrations import migrate_all
    from hospes.tenancy.passwords import Passwords

    settings = _settings()
    master = master_key_from(settings)
    with _servers(settings) as servers:
        sync_engine = create_engine_sync(servers.database_url, policy=_cli_policy())
        results = migrate_all(sync_engine, concurrency=settings.migrate_concurrency, master_key=master)
        failed = [r for r in results if r.outcome == "failed"]
        for result in failed:
            click.echo(f"warning: tenant {result.slug} failed to migrate: {result.detail}", err=True)
        exists = _tenant_exists(sync_engine, demo.DEMO_SLUG)
        if not exists:
            engine = create_engine_async(servers.database_url, policy=_cli_policy())
            passwords = Passwords(
                time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
            )

            async def seed() -> None:
                try:
                    keyring = Keyring(master, ttl_seconds=settings.tenant_cache_seconds)
                    await demo.seed_demo(sync_engine, TenantSessions(engine), passwords, keyring)
                finally:
                    await engine.dispose()

            asyncio.run(seed())
        sync_engine.dispose()
        bind_host, bind_port = host or settings.host, port or settings.port
        where = (
            f"embedded servers in {settings.data_dir.resolve()}" if servers.embedded else "configured servers"
        )
        click.echo(
            f"\nHospes is running ({settings.env.value}, {where})\n"
            f"  GraphQL:  http://{bind_host}:{bind_port}/graphql   (open it in a browser for GraphiQL)\n"
            f'  Login:    mutation {{ login(input: {{tenant: "{demo.DEMO_SLUG}", email: "{demo.DEMO_EMAIL}", '
            f'password: "{demo.DEMO_PASSWORD}"}}) {{ token }} }}\n'
            f"  Then send the token as:  Authorization: Bearer <token>\n"
        )
        app = create_app(settings, database_url=servers.database_url, redis_url=servers.redis_url)
        # The worker and the scheduler run beside the API, so messages really go (to the log
        # provider unless credentials are configured).
        with _background_delivery(settings, servers):
            uvicorn.run(app, host=bind_host, port=bind_port, **_uvicorn_options(settings))


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every uvicorn we start shares. uvicorn never rewrites the client address from
    `X-Forwarded-For` (by default it does for loopback peers): the app reads that header itself,
    as far as `HOSPES_TRUSTED_PROXY_HOPS` allows, so with 0 hops a sender cannot pick its address."""
    return {"log_level": settings.log_level.lower(), "proxy_headers": False, "server_header": False}


@contextmanager
def _background_delivery(settings: Settings, servers: Servers) -> Iterator[None]:
    """A worker and a scheduler in threads of this process, for `hospes dev`."""
    import threading

    from hospes.tasks.worker import Worker

    worker = Worker(settings, database_url=servers.database_url, redis_url=servers.redis_url)
    stop = threading.Event()
    scheduler = threading.Thread(
        target=_run_scheduler, args=(settings, servers, stop), name="hospes-scheduler", daemon=True
    )
    worker.start()
    scheduler.start()
    try:
        yield
    finally:
        stop.set()
        scheduler.join(timeout=10)
        worker.stop()


def _run_scheduler(settings: Settings, servers: Servers, stop_flag: Any) -> None:
    """The scheduler loop until `stop_flag` (a threading.Event) is set."""
    from hospes.tasks import scheduler
    from hospes.tasks.broker import make_broker
    from hospes.tenancy.database import ConnectionPolicy, Role, create_engine_async

    async def loop() -> None:
        engine = create_engine_async(
            servers.database_url,
            policy=ConnectionPolicy.of(settings, role=Role.SCHEDULER),
            pool_size=2,
            max_overflow=2,
        )
        broker = make_broker(servers.redis_url, namespace=settings.redis_namespace)
        stop = asyncio.Event()

        async def watch() -> None:
            await asyncio.to_thread(stop_flag.wait)
            stop.set()

        watcher = asyncio.create_task(watch())
        try:
            await scheduler.run(
                engine,
                broker,
                interval_seconds=settings.scheduler_interval_seconds,
                lease_seconds=settings.outbox_lease_seconds,
                batch=settings.scheduler_batch_size,
                stop=stop,
            )
        finally:
            stop_flag.set()  # releases the watcher's thread if the loop ended on its own
            watcher.cancel()
            broker.close()
            await engine.dispose()

    asyncio.run(loop())


def _stop_on_signal() -> Any:
    """A threading.Event set by SIGINT or SIGTERM: a clean stop for the long-running commands."""
    import signal
    import threading

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@main.command()
@click.option("--threads", default=None, type=click.IntRange(1, 256), help="Default HOSPES_WORKER_THREADS.")
def worker(threads: int | None) -> None:
    """Run the message actors (Dramatiq on Redis) until interrupted."""
    from hospes.tasks.worker import Worker, run_until

    settings = _settings()
    with _servers(settings) as servers:
        stop = _stop_on_signal()
        click.echo(f"worker: {threads or settings.worker_threads} threads on queue 'messages'")
        run_until(
            stop,
            Worker(settings, database_url=servers.database_url, redis_url=servers.redis_url, threads=threads),
        )


@main.command()
def scheduler() -> None:
    """Run the loop that enqueues due work (lifecycle messages, retries, relay catch-up)."""
    settings = _settings()
    with _servers(settings) as servers:
        stop = _stop_on_signal()
        click.echo(f"scheduler: every {settings.scheduler_interval_seconds:g} s")
        _run_scheduler(settings, servers, stop)


def _tenant_exists(engine: sa.Engine, slug: str) -> bool:
    from sqlmodel import col

    from hospes.models.public import Tenant

    with engine.connect() as connection:
        return (
            connection.execute(sa.select(col(Tenant.id)).where(col(Tenant.slug) == slug)).first() is not None
        )


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default HOSPES_HOST).")
@click.option("--port", default=None, type=int, help="Port (default HOSPES_PORT).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="uvicorn worker processes.",
)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the API under uvicorn against the configured servers."""
    import uvicorn

    settings = _settings()
    with _servers(settings) as servers:
        _migrate_public(servers.database_url)
        if workers == 1:
            from hospes.app import create_app

            app = create_app(settings, database_url=servers.database_url, redis_url=servers.redis_url)
            uvicorn.run(
                app, host=host or settings.host, port=port or settings.port, **_uvicorn_options(settings)
            )
            return
        # Several processes build the app from the environment through the factory.
        import os

        os.environ["HOSPES_DATABASE_URL"] = servers.database_url
        os.environ["HOSPES_REDIS_URL"] = servers.redis_url
        uvicorn.run(
            "hospes.app:app_from_environment",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            **_uvicorn_options(settings),
        )


@main.command()
@click.option("--check", is_flag=True, help="Only report which schemas are behind; change nothing.")
def migrate(check: bool) -> None:
    """Upgrade `public`, then every tenant schema (each in its own transaction)."""
    from hospes.tenancy.database import create_engine_sync
    from hospes.tenancy.keyring import master_key_from
    from hospes.tenancy.migrations import Outcome, migrate_all

    settings = _settings()
    with _servers(settings, need_redis=False) as servers:
        engine = create_engine_sync(
            servers.database_url, policy=_cli_policy(), pool_size=settings.migrate_concurrency
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
            _fail(f"public schema failed to migrate: {str(error).splitlines()[0]}")
        finally:
            engine.dispose()
        failed = [r for r in results if r.outcome is Outcome.FAILED]
        behind = [r for r in results if r.outcome is Outcome.BEHIND]
        click.echo(
            f"{len(results)} tenant(s): {len(results) - len(failed) - len(behind)} at head, "
            f"{len(behind)} behind, {len(failed)} failed"
        )
        if failed:
            _fail("failed: " + ", ".join(r.slug for r in failed))
        if check and behind:
            sys.exit(1)


@main.group()
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
            _fail(f"{source.name} is not UTF-8 text ({error.reason} at byte {error.start})")
    if not wanted:
        _fail("name at least one tenant: SLUG… or --from-file PATH")
    if name is None and len(wanted) == 1 and source is None:
        raise click.UsageError("Missing option '--name'.")
    if name is not None and len(wanted) > 1:
        _fail("--name names one company; with several, put each name after its slug in --from-file")
    problems = check_new_tenants(wanted)
    if problems:
        for problem in problems[:-1]:
            click.echo(f"Error: {problem}", err=True)
        _fail(problems[-1])
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
    settings = _settings()
    with _servers(settings, need_redis=False) as servers:
        _migrate_public(servers.database_url)
        engine = create_engine_sync(servers.database_url, policy=_cli_policy())
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
            _fail(refused[0][1])
        if refused:
            _fail(
                f"{len(refused)} of {len(wanted)} tenants not created: "
                + ", ".join(slug for slug, _ in refused)
            )


@tenant.command("list")
def tenant_list() -> None:
    """List the registered companies."""
    from hospes.models.public import Tenant
    from hospes.tenancy.database import create_engine_sync

    settings = _settings()
    with _servers(settings, need_redis=False) as servers:
        _migrate_public(servers.database_url)
        engine = create_engine_sync(servers.database_url, policy=_cli_policy())
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(Tenant.slug, Tenant.name, Tenant.status, Tenant.created_at).order_by(Tenant.slug)  # type: ignore[call-overload]
            ).all()
        engine.dispose()
        if not rows:
            click.echo("no tenants")
        for row in rows:
            click.echo(f"{row.slug}\t{row.status}\t{row.created_at:%Y-%m-%d}\t{row.name}")


@main.group()
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

    settings = _settings()
    with _servers(settings, need_redis=False) as servers:
        _migrate_public(servers.database_url)

        async def create() -> str:
            engine = create_engine_async(servers.database_url, policy=_cli_policy())
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
            _fail(message.removeprefix("error: "))
        click.echo(message)


@main.group()
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

    settings = _settings()
    with _servers(settings, need_redis=False) as servers:
        _migrate_public(servers.database_url)

        async def create() -> tuple[str | None, str]:
            engine = create_engine_async(servers.database_url, policy=_cli_policy())
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
            _fail(message)
        click.echo(message)
        click.echo(key)


@main.group()
def keys() -> None:
    """Encryption keys."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new master key (32 random bytes, base64url) for HOSPES_MASTER_KEY."""
    click.echo(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())


@keys.command("rotate")
@click.option("--tenant", "slug", required=True, help="The company's slug.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--max-passes",
    default=5,
    show_default=True,
    type=click.IntRange(2, 100),
    help="Passes (one key cache period apart) before giving up on late writes.",
)
def keys_rotate(slug: str, batch_size: int, max_passes: int) -> None:
    """Re-encrypt one company's private data under a new data key, without downtime (old keys are
    kept, so values written during the rotation stay readable)."""
    from hospes.tenancy.crypto import CryptoError
    from hospes.tenancy.database import create_engine_sync
    from hospes.tenancy.keyring import master_key_from
    from hospes.tenancy.rotation import PassReport, RotationError, describe, rotate_tenant

    settings = _settings()
    try:
        master = master_key_from(settings)
    except CryptoError as error:
        _fail(str(error))

    def key_added(version: int) -> None:
        click.echo(
            f"added data key v{version} to tenant {slug}; waiting {settings.tenant_cache_seconds:g}s "
            "for API processes to load it"
        )

    def pass_done(report: PassReport) -> None:
        outcome = report.result
        bad = (
            f", {len(outcome.unreadable)} unreadable value(s) left as they are" if outcome.unreadable else ""
        )
        click.echo(
            f"pass {report.number}: re-encrypted {describe(outcome.rows)}; "
            f"left under older keys: {describe(report.left.rows)}{bad}"
        )

    with _servers(settings, need_redis=False) as servers:
        _migrate_public(servers.database_url)
        engine = create_engine_sync(servers.database_url, policy=_cli_policy())
        try:
            result = rotate_tenant(
                engine,
                master,
                slug=slug,
                cache_seconds=settings.tenant_cache_seconds,
                batch_size=batch_size,
                max_passes=max_passes,
                on_key_added=key_added,
                on_pass=pass_done,
            )
        except (RotationError, CryptoError) as error:
            _fail(str(error))
        finally:
            engine.dispose()
        click.echo(f"rotated tenant {slug} to data key v{result.version}: {describe(result.rows)}")
        if result.unreadable:
            listed = "; ".join(str(cell) for cell in result.unreadable[:5])
            more = f" and {len(result.unreadable) - 5} more" if len(result.unreadable) > 5 else ""
            _fail(
                f"{len(result.unreadable)} value(s) cannot be decrypted and were left as they are: "
                f"{listed}{more}"
            )
        if not result.complete:
            _fail(
                f"{result.left.total} row(s) still hold values under older data keys after {max_passes} "
                "passes (they stay readable); run the rotation again"
            )


@main.command("schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the SDL to this file instead of standard output.",
)
def schema_sdl(output: Path | None) -> None:
    """Print the GraphQL schema (SDL) that the API serves; it needs no database or Redis."""
    from hospes.schema.build import build_schema

    # No setting changes the SDL: the defaults, unvalidated, let the command run anywhere (even
    # with HOSPES_ENV=production and no servers or master key configured).
    sdl = build_schema(Settings.model_construct()).as_str() + "\n"
    if output is None:
        click.echo(sdl, nl=False)
        return
    output.write_text(sdl, encoding="utf-8")
    click.echo(f"wrote the GraphQL schema to {output}", err=True)


@main.command()
@click.argument("suite", required=False, type=click.Choice(["graph", "customers", "messages", "tenants"]))
@click.option(
    "--guests",
    default=None,
    type=click.IntRange(10, 100_000),
    help="Guests to seed [default: 1000; 100000 for customers].",
)
@click.option("--requests", default=200, show_default=True, type=click.IntRange(10), help="Per phase.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--warmup", default=20, show_default=True, type=click.IntRange(0))
@click.option(
    "--max-seconds",
    default=None,
    type=click.FloatRange(1),
    help="Cap per phase [default: 30; at least 60 for customers; 600 for messages].",
)
@click.option("--profile", is_flag=True, help="Also cProfile guest detail in-process.")
@click.option("--show-sql", is_flag=True, help="Print the statements each operation sends.")
@click.option("--customers", is_flag=True, help="The same as SUITE customers.")
@click.option(
    "--messages",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Messages per lane (messages suite).",
)
@click.option(
    "--tenants",
    default=None,
    type=click.IntRange(1, 100_000),
    help="Tenants to spread messages over [default: 10, at most 1000], or to create (tenants suite) "
    "[default: 1000].",
)
def bench(
    *,
    suite: str | None,
    guests: int | None,
    requests: int,
    concurrency: int,
    warmup: int,
    max_seconds: float | None,
    profile: bool,
    show_sql: bool,
    customers: bool,
    messages: int,
    tenants: int | None,
) -> None:
    """Benchmark against a floor measured in the same run; each suite sets up and removes its own data.

    \b
    SUITE is one of
      graph      the guest graph over HTTP against hand-written SQL (the default)
      customers  the customer list at 100,000 guests: page, name search, email lookup, OTA imports
      messages   messages through the outbox, Redis and the worker to the log provider, against
                 the same broker and worker moving empty messages
      tenants    N tenants: provisioning rate, migrate time, request latency with 1 vs N tenants,
                 and PostgreSQL backend memory after touching all of them, before and after recycling
    """
    if customers:
        if suite not in (None, "customers"):
            _fail(f"--customers asks for the customers suite, not {suite}")
        suite = "customers"
    if suite == "customers":
        _bench_customers(guests=guests or 100_000, warmup=warmup, max_seconds=max_seconds or 30.0)
        return
    from hospes.bench.guest_graph import BenchError

    settings = _settings()

    def measure(servers: Servers) -> str:
        urls = {"database_url": servers.database_url, "redis_url": servers.redis_url}
        if suite == "tenants":
            from hospes.bench import tenants as tenant_bench

            return tenant_bench.run(
                settings,
                **urls,
                options=tenant_bench.Options(
                    tenants=tenants or 1000,
                    requests=requests,
                    warmup=warmup,
                    max_seconds=max_seconds or 600.0,
                ),
            )
        if suite == "messages":
            from hospes.bench import messages as message_bench

            if (tenants or 10) > 1000:
                raise BenchError("the messages suite spreads over at most 1000 tenants")
            return message_bench.run(
                settings,
                **urls,
                options=message_bench.Options(
                    messages=messages, tenants=tenants or 10, warmup=warmup, max_seconds=max_seconds or 600.0
                ),
            )
        from hospes.bench import guest_graph

        return guest_graph.run(
            settings,
            **urls,
            options=guest_graph.Options(
                guests=guests or 1000,
                requests=requests,
                concurrency=concurrency,
                warmup=warmup,
                max_seconds=max_seconds or 30.0,
                profile=profile,
                show_sql=show_sql,
            ),
        )

    with _servers(settings) as servers:
        try:
            report = measure(servers)
        except BenchError as error:
            _fail(str(error))
        click.echo(report)


def _bench_customers(*, guests: int, warmup: int, max_seconds: float) -> None:
    from hospes.bench.customer_list import Options, run
    from hospes.bench.guest_graph import BenchError

    options = Options(guests=guests, warmup=min(warmup, 10), max_seconds=max(max_seconds, 60.0))
    settings = _settings()
    with _servers(settings) as servers:
        try:
            report = run(
                settings, database_url=servers.database_url, redis_url=servers.redis_url, options=options
            )
        except BenchError as error:
            _fail(str(error))
        click.echo(report)


if __name__ == "__main__":
    main()
