"""Finding accounts: by id, by the address they log in with, by their guests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Guest, GuestAccount


async def by_id(session: AsyncSession, account_id: uuid.UUID | None) -> GuestAccount | None:
    return await session.scalar(sa.select(GuestAccount).where(col(GuestAccount.id) == account_id))


async def by_address(session: AsyncSession, email_bidx: bytes) -> GuestAccount | None:
    """The account logging in with `email_bidx`, disabled or not."""
    return await session.scalar(sa.select(GuestAccount).where(col(GuestAccount.email_bidx) == email_bidx))


async def with_guest_by_address(
    session: AsyncSession, email_bidx: bytes
) -> tuple[GuestAccount, Guest] | None:
    """The account logging in with `email_bidx` (disabled or not) and its guest, in one statement."""
    row = (
        await session.execute(
            sa.select(GuestAccount, Guest)
            .join(Guest, col(Guest.id) == col(GuestAccount.guest_id))
            .where(col(GuestAccount.email_bidx) == email_bidx)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def of_guests(session: AsyncSession, guest_ids: Sequence[uuid.UUID]) -> list[GuestAccount | None]:
    """The account of each of `guest_ids`, in their order (None for a guest without one)."""
    rows = (
        await session.scalars(sa.select(GuestAccount).where(col(GuestAccount.guest_id).in_(guest_ids)))
    ).all()
    found = {row.guest_id: row for row in rows}
    return [found.get(guest_id) for guest_id in guest_ids]


async def address_taken(session: AsyncSession, email_bidx: bytes, *, besides: uuid.UUID) -> bool:
    """Whether an account other than `besides` logs in with `email_bidx`."""
    taken = await session.scalar(
        sa.select(col(GuestAccount.id)).where(
            col(GuestAccount.email_bidx) == email_bidx, col(GuestAccount.id) != besides
        )
    )
    return taken is not None


async def address_or_guest_taken(session: AsyncSession, email_bidx: bytes, guest_id: uuid.UUID) -> bool:
    """Whether an account logs in with `email_bidx` or belongs to the guest already."""
    taken = await session.scalar(
        sa.select(col(GuestAccount.id)).where(
            sa.or_(col(GuestAccount.email_bidx) == email_bidx, col(GuestAccount.guest_id) == guest_id)
        )
    )
    return taken is not None
