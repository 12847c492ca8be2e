"""The accounts' queries: accounts by id, by the address they log in with and by their guests,
their logins and passwords, and the registrations awaiting proof of their address."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import AccountRegistration, Guest, GuestAccount


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


async def lock_of_guest(session: AsyncSession, guest_id: uuid.UUID) -> GuestAccount | None:
    """The guest's account, locked and read afresh."""
    return await session.scalar(
        sa.select(GuestAccount)
        .where(col(GuestAccount.guest_id) == guest_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def note_login(session: AsyncSession, account_id: uuid.UUID, values: Mapping[str, Any]) -> bool:
    """Write `values` (the login time, a rehashed password) to the account unless it is disabled;
    whether it was not."""
    updated = await session.scalar(
        sa.update(GuestAccount)
        .where(col(GuestAccount.id) == account_id, col(GuestAccount.disabled_at).is_(None))
        .values(**values)
        .returning(col(GuestAccount.id))
    )
    return updated is not None


async def set_password(session: AsyncSession, account_id: uuid.UUID, password_hash: str) -> None:
    await session.execute(
        sa.update(GuestAccount).where(col(GuestAccount.id) == account_id).values(password_hash=password_hash)
    )


# --- registrations awaiting their address's proof ---------------------------------------------


async def drop_expired_registrations(session: AsyncSession) -> None:
    await session.execute(
        sa.delete(AccountRegistration).where(col(AccountRegistration.expires_at) <= sa.func.now())
    )


async def live_registration(session: AsyncSession, token_hash: str) -> AccountRegistration | None:
    """The unexpired registration whose link carries the token of `token_hash`."""
    return await session.scalar(
        sa.select(AccountRegistration).where(
            col(AccountRegistration.token_hash) == token_hash,
            col(AccountRegistration.expires_at) > sa.func.now(),
        )
    )


async def drop_registrations_of(session: AsyncSession, email_bidx: bytes) -> None:
    """End every pending registration of the address."""
    await session.execute(
        sa.delete(AccountRegistration).where(col(AccountRegistration.email_bidx) == email_bidx)
    )
