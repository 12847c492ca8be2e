"""A guest's history: bookings, inquiries, messages, service requests and payments in one list,
newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from hospes.resolvers.context import Context
from hospes.resolvers.pagination import decode_cursor, encode_cursor, page_size
from hospes.services.history import history_page


@dataclass(frozen=True)
class Entry:
    kind: str
    pk: uuid.UUID
    at: datetime
    cursor: str


async def guest_history(
    ctx: Context, guest_pk: uuid.UUID, *, first: int | None, after: str | None
) -> tuple[list[Entry], bool]:
    """One page of the guest's history and whether more follows."""
    size = page_size(first)
    before = None
    if after is not None:
        at, pk = decode_cursor(after, ("datetime", "uuid"))
        before = (at, pk)
    rows = await ctx.rows(history_page(guest_id=guest_pk, limit=size + 1, before=before))
    entries = [Entry(row.kind, row.id, row.at, encode_cursor(row.at, row.id.hex)) for row in rows[:size]]
    return entries, len(rows) > size
