"""A guest's history: bookings, inquiries, messages, service requests and payments in one list,
newest first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from hospes.models.tenant import Booking, Communication, Inquiry, Payment, ServiceRequest


def _events(guest_pk: uuid.UUID) -> sa.Subquery:
    def entries(kind: str, id_column: Any, at: Any, *where: Any, join: Any = None) -> sa.Select[Any]:
        query = sa.select(sa.literal(kind).label("kind"), id_column.label("id"), at.label("at"))
        if join is not None:
            query = query.select_from(join)
        return query.where(*where)

    return sa.union_all(
        entries("booking", col(Booking.id), col(Booking.created_at), col(Booking.guest_id) == guest_pk),
        entries("inquiry", col(Inquiry.id), col(Inquiry.received_at), col(Inquiry.guest_id) == guest_pk),
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


def history_page(
    *, guest_id: uuid.UUID, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> sa.Select[Any]:
    """Up to `limit` rows (kind, id, at) of the guest's history, newest first, older than `before`
    (the at and id of the last one seen) when given. The API runs it on the request's session."""
    events = _events(guest_id)
    query = sa.select(events.c.kind, events.c.id, events.c.at)
    if before is not None:
        at, pk = before
        query = query.where(sa.tuple_(events.c.at, events.c.id) < sa.tuple_(sa.literal(at), sa.literal(pk)))
    return query.order_by(events.c.at.desc(), events.c.id.desc()).limit(limit)
