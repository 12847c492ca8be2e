"""The outbox relay: after a commit, enqueue the work that commit wrote.

A relay failure (Redis down) loses nothing: the rows stay in the outbox, and once their lease
runs out the scheduler enqueues them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from dramatiq.broker import Broker

from hospes.tasks.broker import message_for
from hospes.tasks.outbox import OutboxItem

log = logging.getLogger("hospes.relay")


def enqueue_all(broker: Broker, items: Sequence[OutboxItem]) -> int:
    """Enqueue `items`; returns how many went. Stops at the first failure (the broker is likely
    down) and leaves the rest to the scheduler."""
    sent = 0
    for item in items:
        try:
            broker.enqueue(message_for(item))
        except Exception as error:  # any broker failure: the outbox keeps the work
            log.warning(
                "relay could not enqueue %d of %d item(s) (%s); the scheduler will catch up",
                len(items) - sent,
                len(items),
                type(error).__name__,
            )
            break
        sent += 1
    return sent


async def relay(broker: Broker | None, items: Sequence[OutboxItem]) -> int:
    """`enqueue_all` off the event loop (the broker's Redis client is synchronous)."""
    if broker is None or not items:
        return 0
    return await asyncio.to_thread(enqueue_all, broker, items)
