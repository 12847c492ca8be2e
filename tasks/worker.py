"""Running the actors: `hospes worker` in its own process (or N of them, `--processes`), or inside
`hospes dev`."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import AsyncIO, Middleware

from hospes.settings import Settings
from hospes.tasks.actors import install
from hospes.tasks.broker import make_broker
from hospes.tasks.runtime import Runtime

log = logging.getLogger("hospes.worker")
# How long an idle consumer waits on Redis before it looks again; Dramatiq's default (1 s) showed
# as ~0.4 s of extra latency for a message arriving on a quiet queue.
CONSUMER_TIMEOUT_MS = 100


class _CloseRuntime(Middleware):
    """Closes the runtime's connections once the worker threads have stopped, on the actors' event
    loop (they belong to it), before the AsyncIO middleware stops that loop."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self.runtime.close())


class Worker:
    """A Dramatiq worker with our actors and runtime; `start()` returns, `stop()` waits."""

    def __init__(
        self, settings: Settings, *, database_url: str, redis_url: str, threads: int | None = None
    ) -> None:
        self.broker = make_broker(redis_url, namespace=settings.redis_namespace)
        self.runtime = Runtime.build(settings, database_url=database_url, broker=self.broker)
        self.broker.add_middleware(_CloseRuntime(self.runtime), before=AsyncIO)
        install(self.broker, self.runtime)
        self._worker = dramatiq.Worker(
            self.broker,
            worker_threads=threads or settings.worker_threads,
            worker_timeout=CONSUMER_TIMEOUT_MS,
        )

    def start(self) -> None:
        self._worker.start()
        log.info("worker started")

    def stop(self) -> None:
        self._worker.stop()
        self.broker.close()
        log.info("worker stopped")


def run_until(stop: threading.Event, worker: Worker) -> None:
    worker.start()
    try:
        stop.wait()
    finally:
        worker.stop()


# How often the parent of `--processes N` looks at its children.
_WATCH_SECONDS = 0.5
_STOP_SECONDS = 30.0


def _one_process(settings: Settings, database_url: str, redis_url: str, threads: int | None) -> None:
    """A child of `run_processes`: one worker until SIGTERM or SIGINT."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    run_until(stop, Worker(settings, database_url=database_url, redis_url=redis_url, threads=threads))


def run_processes(
    stop: threading.Event,
    settings: Settings,
    *,
    database_url: str,
    redis_url: str,
    threads: int | None,
    processes: int,
) -> int:
    """`processes` worker processes (spawned: no connection or event loop is inherited), each with
    its own threads, runtime and connection pool, all consuming the same queue; exactly-once holds
    across them as across threads (the `communication` row decides, not the process). Runs until
    `stop` is set, or until a child exits on its own: then the others are stopped too and the exit
    status is 1, so that a supervisor (systemd, Docker) restarts the whole group. Returns the exit
    status."""
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(
            target=_one_process,
            args=(settings, database_url, redis_url, threads),
            name=f"hospes-worker-{number}",
        )
        for number in range(processes)
    ]
    for child in children:
        child.start()
    status = 0
    try:
        while not stop.wait(_WATCH_SECONDS):
            gone = [child for child in children if not child.is_alive()]
            if gone:
                log.error(
                    "worker process %s exited (%s); stopping the others", gone[0].name, gone[0].exitcode
                )
                status = 1
                break
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM: the child stops its worker cleanly
        for child in children:
            child.join(timeout=_STOP_SECONDS)
            if child.is_alive():
                child.kill()
                child.join()
    return status
