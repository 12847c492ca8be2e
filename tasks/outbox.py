"""The transactional outbox (`public.outbox`): work written in the business transaction, enqueued
after commit by the relay, or later by the scheduler when it falls due or its lease runs out.

Rows written in a session are remembered in `session.info`, so whoever commits the session (the
API request or a worker task) can relay them at once; the scheduler is the safety net."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.public import Outbox, OutboxKind

_PENDING_KEY = "hospes.outbox"


@dataclass(frozen=True)
class OutboxItem:
    """One unit of work: what to do (`kind`), for which tenant, on which row (`ref_id`)."""

    tenant_id: uuid.UUID
    kind: OutboxKind
    ref_id: uuid.UUID


def pending(session: AsyncSession) -> list[OutboxItem]:
    """The items written in this session and not yet relayed (a live list: savepoints trim it)."""
    items: list[OutboxItem] = session.info.setdefault(_PENDING_KEY, [])
    return items


def take_pending(session: AsyncSession) -> list[OutboxItem]:
    """The items to relay after a commit; the session forgets them."""
    return session.info.pop(_PENDING_KEY, [])


async def put(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    kind: OutboxKind,
    ref_id: uuid.UUID,
    due_at: datetime | None = None,
    lease_seconds: float,
) -> None:
    """Write (or move) the work for `ref_id`. Work due now is leased to the relay of this session's
    commit and remembered for it; work due later waits for the scheduler."""
    due_now = due_at is None
    claimed_until = (
        sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds) if due_now else None
    )
    statement = insert(Outbox).values(
        tenant_id=tenant_id,
        kind=kind.value,
        ref_id=ref_id,
        due_at=sa.func.now() if due_now else due_at,
        claimed_until=claimed_until,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "kind", "ref_id"],
            set_={"due_at": statement.excluded.due_at, "claimed_until": statement.excluded.claimed_until},
        )
    )
    if due_now:
        pending(session).append(OutboxItem(tenant_id, kind, ref_id))


async def retry_later(
    session: AsyncSession, *, tenant_id: uuid.UUID, kind: OutboxKind, ref_id: uuid.UUID, delay_seconds: float
) -> None:
    """Put the work back for the scheduler, `delay_seconds` from now."""
    await session.execute(
        sa.update(Outbox)
        .where(
            col(Outbox.tenant_id) == tenant_id, col(Outbox.kind) == kind.value, col(Outbox.ref_id) == ref_id
        )
        .values(
            due_at=sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, delay_seconds),
            claimed_until=None,
            attempts=col(Outbox.attempts) + 1,
        )
    )


async def done(session: AsyncSession, *, tenant_id: uuid.UUID, kind: OutboxKind, ref_id: uuid.UUID) -> None:
    """The work is finished (or moot): remove it."""
    await session.execute(
        sa.delete(Outbox).where(
            col(Outbox.tenant_id) == tenant_id, col(Outbox.kind) == kind.value, col(Outbox.ref_id) == ref_id
        )
    )


_CLAIM = sa.text(
    """
    UPDATE public.outbox AS o
       SET claimed_until = now() + make_interval(secs => :lease)
     WHERE o.id IN (
           SELECT id FROM public.outbox
            WHERE due_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
            ORDER BY due_at
            LIMIT :batch
              FOR UPDATE SKIP LOCKED)
    RETURNING o.tenant_id, o.kind, o.ref_id
    """
)


async def claim_due(session: AsyncSession, *, lease_seconds: float, batch: int) -> list[OutboxItem]:
    """Lease up to `batch` rows that are due and unclaimed (or whose lease ran out), across all
    tenants. Concurrent schedulers skip each other's rows."""
    result = await session.execute(_CLAIM, {"lease": lease_seconds, "batch": batch})
    return [OutboxItem(row.tenant_id, OutboxKind(row.kind), row.ref_id) for row in result]
