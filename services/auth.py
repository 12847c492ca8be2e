"""Staff login, as the database sees it: the user an email names, and the stamp a successful login
leaves. Rate limits and the login sessions themselves (Redis, per request) stay in the API."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hospes.models.columns import utcnow
from hospes.models.tenant import StaffUser
from hospes.tenancy.passwords import Passwords


async def staff_user_by_email(session: AsyncSession, *, email: str) -> StaffUser | None:
    return await session.scalar(select(StaffUser).where(col(StaffUser.email) == email))


async def stamp_login(
    session: AsyncSession, *, passwords: Passwords, user: StaffUser, password: str
) -> str | None:
    """Stamp the login (rehashing the password if its parameters are outdated) and lock the user's
    row, returning the role read under that lock; None if the user was deactivated meanwhile."""
    values: dict[str, object] = {"last_login_at": utcnow()}
    if passwords.needs_rehash(user.password_hash):
        # argon2 is deliberately slow: keep it off the event loop.
        values["password_hash"] = await asyncio.to_thread(passwords.hash, password)
    return await session.scalar(
        sa.update(StaffUser)
        .where(col(StaffUser.id) == user.id, col(StaffUser.active).is_(True))
        .values(**values)
        .returning(col(StaffUser.role))
    )
