"""Staff users of a company."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.columns import NAME_MAX
from models.tenant import StaffRole, StaffUser
from resolvers import validation as check
from resolvers.validation import Problems, Rejection
from schema.errors import UserErrorCode
from tenancy.passwords import Passwords, password_problem


async def create_staff_user(
    session: AsyncSession,
    *,
    passwords: Passwords,
    email: str,
    password: str,
    role: StaffRole,
    name: str | None = None,
) -> StaffUser | Rejection:
    """Add a staff user to the session's tenant; emails are unique per tenant, case-insensitively."""
    problems = Problems()
    clean_email = check.email(problems, "email", email, required=True)
    clean_name = check.text(problems, "name", name, max_length=NAME_MAX)
    weakness = password_problem(password)
    if weakness:
        problems.add("password", UserErrorCode.INVALID, weakness)
    if problems or clean_email is None:
        return problems.rejection()
    taken = await session.scalar(sa.select(col(StaffUser.id)).where(col(StaffUser.email) == clean_email))
    if taken is not None:
        problems.add("email", UserErrorCode.DUPLICATE, "A staff user with this email exists.")
        return problems.rejection()
    user = StaffUser(
        email=clean_email,
        name=clean_name,
        role=role.value,
        password_hash=await asyncio.to_thread(passwords.hash, password),
    )
    session.add(user)
    await session.flush()
    return user
