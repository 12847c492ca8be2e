"""Staff users of a company: the rules every path that adds one shares (the API, the CLI's
`hospes user add`, the demo company)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import NAME_MAX
from hospes.models.tenant import StaffRole, StaffUser
from hospes.services import validation as check
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy.passwords import Passwords, password_problem


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
    duplicate = rejected("email", UserErrorCode.DUPLICATE, "A staff user with this email exists.")
    taken = await session.scalar(sa.select(col(StaffUser.id)).where(col(StaffUser.email) == clean_email))
    if taken is not None:
        return duplicate
    user = StaffUser(
        email=clean_email,
        name=clean_name,
        role=role.value,
        password_hash=await asyncio.to_thread(passwords.hash, password),
    )
    try:
        async with session.begin_nested():  # two creations racing for one email
            session.add(user)
            await session.flush()
    except IntegrityError:
        return duplicate
    return user
