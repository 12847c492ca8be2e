"""The Dramatiq broker on Redis, and the messages that name our actors.

Actors are referred to by name (`messages.deliver`, `messages.send_scheduled`), so the API and the
scheduler can enqueue without importing the worker's code."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, AsyncIO, Callbacks, CurrentMessage, Pipelines, ShutdownNotifications
from dramatiq.middleware.time_limit import TimeLimit

from hospes.models.public import OutboxKind
from hospes.tasks.outbox import OutboxItem

QUEUE = "messages"
ACTOR_NAMES = {
    OutboxKind.DELIVER: "messages.deliver",
    OutboxKind.LIFECYCLE: "messages.send_scheduled",
    OutboxKind.INQUIRY_REMINDER: "inquiries.send_reminder",
}


def make_broker(redis_url: str, *, namespace: str, socket_timeout: float = 5.0) -> RedisBroker:
    """A Redis broker under `<namespace>-dramatiq`. Dramatiq's Retries middleware is left out on
    purpose: retries live in the outbox (PostgreSQL, with a due time), not in worker memory."""
    middleware = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        CurrentMessage(),
        AsyncIO(),
    ]
    # Our own client, so that a Redis that is down fails fast instead of hanging a request.
    client = redis.Redis.from_url(
        redis_url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
    )
    broker = RedisBroker(client=client, namespace=f"{namespace}-dramatiq", middleware=middleware)
    broker.declare_queue(QUEUE)
    return broker


def message_for(item: OutboxItem) -> dramatiq.Message[None]:
    """The Dramatiq message that performs one outbox item."""
    return dramatiq.Message(
        queue_name=QUEUE,
        actor_name=ACTOR_NAMES[item.kind],
        args=(str(item.tenant_id), str(item.ref_id)),
        kwargs={},
        options={},
    )
