"""The Dramatiq actors. They take ids (the tenant's and the row's), never data, and open their own
transactions; everything they do is idempotent, because a message may arrive more than once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import dramatiq
from dramatiq.broker import Broker

from hospes.models.public import OutboxKind
from hospes.tasks.broker import ACTOR_NAMES, QUEUE
from hospes.tasks.delivery import deliver
from hospes.tasks.inquiry_reminders import send_reminder
from hospes.tasks.runtime import Runtime
from hospes.tasks.scheduled import send_scheduled

# A provider call is bounded by its own timeout; this only stops a task that hangs for another reason.
TIME_LIMIT_MS = 5 * 60 * 1000


def install(broker: Broker, runtime: Runtime) -> None:
    """Declare the actors on `broker`, bound to `runtime`."""

    async def deliver_message(tenant_id: str, communication_id: str) -> None:
        await deliver(runtime, tenant_id=uuid.UUID(tenant_id), communication_id=uuid.UUID(communication_id))

    async def send_lifecycle_message(tenant_id: str, scheduled_id: str) -> None:
        await send_scheduled(runtime, tenant_id=uuid.UUID(tenant_id), scheduled_id=uuid.UUID(scheduled_id))

    async def send_inquiry_reminder(tenant_id: str, reminder_id: str) -> None:
        await send_reminder(runtime, tenant_id=uuid.UUID(tenant_id), reminder_id=uuid.UUID(reminder_id))

    functions: dict[OutboxKind, Callable[[str, str], Awaitable[None]]] = {
        OutboxKind.DELIVER: deliver_message,
        OutboxKind.LIFECYCLE: send_lifecycle_message,
        OutboxKind.INQUIRY_REMINDER: send_inquiry_reminder,
    }
    for kind, function in functions.items():
        declare = dramatiq.actor(
            broker=broker, actor_name=ACTOR_NAMES[kind], queue_name=QUEUE, time_limit=TIME_LIMIT_MS
        )
        declare(function)
