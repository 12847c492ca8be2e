"""The scheduler loop (`hospes scheduler`): claims due outbox rows across all tenants with
`FOR UPDATE SKIP LOCKED` and enqueues them. It is also the relay's safety net: work whose relay
failed (Redis down at commit) or whose worker died becomes due again when its lease runs out.
Several schedulers may run at once; they skip each other's rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from dramatiq.broker import Broker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hospes.tasks import outbox
from hospes.tasks.relay import enqueue_all

log = logging.getLogger("hospes.scheduler")


class BrokerUnavailable(Exception):
    pass


async def tick(engine: AsyncEngine, broker: Broker, *, lease_seconds: float, batch: int) -> int:
    """Claim and enqueue one batch of due work; returns how many were enqueued. If the broker
    fails, the claims are rolled back, so the work is due again at the next tick."""
    try:
        async with AsyncSession(engine) as session, session.begin():
            items = await outbox.claim_due(session, lease_seconds=lease_seconds, batch=batch)
            if not items:
                return 0
            sent = await asyncio.to_thread(enqueue_all, broker, items)
            if sent < len(items):
                raise BrokerUnavailable
            return sent
    except BrokerUnavailable:
        return 0


async def run(
    engine: AsyncEngine,
    broker: Broker,
    *,
    interval_seconds: float,
    lease_seconds: float,
    batch: int,
    stop: asyncio.Event,
) -> None:
    """Tick until `stop` is set; a full batch is followed at once by the next one."""
    log.info("scheduler started")
    while not stop.is_set():
        try:
            enqueued = await tick(engine, broker, lease_seconds=lease_seconds, batch=batch)
        except Exception:  # the database may be restarting: log, wait, try again
            log.exception("scheduler tick failed")
            enqueued = 0
        if enqueued:
            log.info("enqueued %d due item(s)", enqueued)
        if enqueued < batch:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
    log.info("scheduler stopped")
