"""Running the actors: `hospes worker` in its own process, or inside `hospes dev`."""

from __future__ import annotations

import logging
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
