"""Running the actors: `hospes worker` in its own process, or inside `hospes dev`."""

from __future__ import annotations

import logging
import threading

import dramatiq
from dramatiq.asyncio import get_event_loop_thread

from settings import Settings
from tasks.actors import install
from tasks.broker import make_broker
from tasks.runtime import Runtime

log = logging.getLogger("hospes.worker")


class Worker:
    """A Dramatiq worker with our actors and runtime; `start()` returns, `stop()` waits."""

    def __init__(
        self, settings: Settings, *, database_url: str, redis_url: str, threads: int | None = None
    ) -> None:
        self.broker = make_broker(redis_url, namespace=settings.redis_namespace)
        self.runtime = Runtime.build(settings, database_url=database_url, broker=self.broker)
        install(self.broker, self.runtime)
        self._worker = dramatiq.Worker(self.broker, worker_threads=threads or settings.worker_threads)

    def start(self) -> None:
        self._worker.start()
        log.info("worker started")

    def stop(self) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            # The engine's connections belong to the actors' event loop: close them there.
            loop_thread.run_coroutine(self.runtime.close())
        self._worker.stop()
        self.broker.close()
        log.info("worker stopped")


def run_until(stop: threading.Event, worker: Worker) -> None:
    worker.start()
    try:
        stop.wait()
    finally:
        worker.stop()
