"""The long-running commands: dev (everything on embedded servers), serve, worker, scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa

from hospes.cli.servers import Servers, cli_policy, load_settings, migrate_public, open_servers
from hospes.settings import Settings


@click.command()
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

    settings = load_settings()
    master = master_key_from(settings)
    with open_servers(settings) as servers:
        sync_engine = create_engine_sync(servers.database_url, policy=cli_policy())
        results = migrate_all(sync_engine, concurrency=settings.migrate_concurrency, master_key=master)
        failed = [r for r in results if r.outcome == "failed"]
        for result in failed:
            click.echo(f"warning: tenant {result.slug} failed to migrate: {result.detail}", err=True)
        exists = _tenant_exists(sync_engine, demo.DEMO_SLUG)
        if not exists:
            engine = create_engine_async(servers.database_url, policy=cli_policy())
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
            freeze_start_up()
            uvicorn.run(app, host=bind_host, port=bind_port, **_uvicorn_options(settings))


# The garbage collector once the app is built. Start-up leaves ~200k long-lived objects (the
# schema, SQLAlchemy's mappers, the imports): frozen, no collection walks them again. A list page
# allocates ~20k container objects, so with the default gen0 threshold of 700 it ran 30 young and
# 0.25 full collections per request. Measured in-process on guests(first: 50), 200 requests each:
# default 95 ms of collection per request (full ones 330 ms each); frozen 48 ms (full ones 127 ms);
# frozen with 10,000 / 20 / 100: 38 ms, 2 young collections per request and no full one at all
# (50,000 collected as rarely but paused 150 ms each). See README "Performance".
GC_THRESHOLDS = (10_000, 20, 100)


def freeze_start_up() -> None:
    """Move everything start-up built out of the collector's sight and collect less often; call
    after the app, its schema and the imports exist, before serving."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serving_app() -> Any:
    """The app of one `hospes serve --workers N` process, built from the environment, with the
    collector settled as in a single process."""
    from hospes.app import app_from_environment

    app = app_from_environment()
    freeze_start_up()
    return app


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


@click.command()
@click.option("--threads", default=None, type=click.IntRange(1, 256), help="Default HOSPES_WORKER_THREADS.")
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes, each with its own threads, event loop and connections.",
)
def worker(threads: int | None, processes: int) -> None:
    """Run the message actors (Dramatiq on Redis) until interrupted."""
    from hospes.tasks.worker import Worker, run_processes, run_until

    settings = load_settings()
    with open_servers(settings) as servers:
        stop = _stop_on_signal()
        each = threads or settings.worker_threads
        if processes == 1:
            click.echo(f"worker: {each} threads on queue 'messages'")
            run_until(
                stop,
                Worker(
                    settings, database_url=servers.database_url, redis_url=servers.redis_url, threads=threads
                ),
            )
            return
        click.echo(f"worker: {processes} processes of {each} threads each on queue 'messages'")
        status = run_processes(
            stop,
            settings,
            database_url=servers.database_url,
            redis_url=servers.redis_url,
            threads=threads,
            processes=processes,
        )
    if status:
        raise SystemExit(status)


@click.command()
def scheduler() -> None:
    """Run the loop that enqueues due work (lifecycle messages, retries, relay catch-up)."""
    settings = load_settings()
    with open_servers(settings) as servers:
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


@click.command()
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

    settings = load_settings()
    with open_servers(settings) as servers:
        migrate_public(servers.database_url)
        if workers == 1:
            from hospes.app import create_app

            app = create_app(settings, database_url=servers.database_url, redis_url=servers.redis_url)
            freeze_start_up()
            uvicorn.run(
                app, host=host or settings.host, port=port or settings.port, **_uvicorn_options(settings)
            )
            return
        # Several processes build the app from the environment through the factory.
        import os

        os.environ["HOSPES_DATABASE_URL"] = servers.database_url
        os.environ["HOSPES_REDIS_URL"] = servers.redis_url
        uvicorn.run(
            "hospes.cli.run:serving_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            **_uvicorn_options(settings),
        )
