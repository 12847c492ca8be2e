"""A guest's history: bookings, messages, service requests and payments in one list, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from hospes.models.tenant import Booking, Communication, Payment, ServiceRequest
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import decode_cursor, encode_cursor, page_size


@dataclass(frozen=True)
class Entry:
    kind: str
    pk: uuid.UUID
    at: datetime
    cursor: str


def _events(guest_pk: uuid.UUID) -> sa.Subquery:
    def entries(kind: str, id_column: Any, at: Any, *where: Any, join: Any = None) -> sa.Select[Any]:
        query = sa.select(sa.literal(kind).label("kind"), id_column.label("id"), at.label("at"))
        if join is not None:
            query = query.select_from(join)
        return query.where(*where)

    return sa.union_all(
        entries("booking", col(Booking.id), col(Booking.created_at), col(Booking.guest_id) == guest_pk),
        entries(
            "message",
            col(Communication.id),
            col(Communication.created_at),
            col(Communication.guest_id) == guest_pk,
        ),
        entries(
            "service_request",
            col(ServiceRequest.id),
            col(ServiceRequest.created_at),
            col(ServiceRequest.guest_id) == guest_pk,
        ),
        entries(
            "payment",
            col(Payment.id),
            sa.func.coalesce(col(Payment.paid_at), col(Payment.created_at)),
            col(Booking.guest_id) == guest_pk,
            join=sa.join(Payment, Booking, col(Payment.booking_id) == col(Booking.id)),
        ),
    ).subquery("history")


async def guest_history(
    ctx: Context, guest_pk: uuid.UUID, *, first: int | None, after: str | None
) -> tuple[list[Entry], bool]:
    """One page of the guest's history and whether more follows."""
    size = page_size(first)
    events = _events(guest_pk)
    query = sa.select(events.c.kind, events.c.id, events.c.at)
    if after is not None:
        at, pk = decode_cursor(after, ("datetime", "uuid"))
        query = query.where(sa.tuple_(events.c.at, events.c.id) < sa.tuple_(sa.literal(at), sa.literal(pk)))
    rows = await ctx.rows(query.order_by(events.c.at.desc(), events.c.id.desc()).limit(size + 1))
    entries = [Entry(row.kind, row.id, row.at, encode_cursor(row.at, row.id.hex)) for row in rows[:size]]
    return entries, len(rows) > size
