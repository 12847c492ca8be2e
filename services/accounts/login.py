"""Logging in with an address and a password. Unknown email, wrong password, a disabled account
and a registration not yet verified (no account exists for it) give the same answer at the same
cost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import utcnow
from hospes.models.tenant import GuestAccount
from hospes.services import guests
from hospes.services import validation as check
from hospes.services.accounts import repository
from hospes.services.accounts.deps import AccountDeps
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected

INVALID_LOGIN = "Unknown email or wrong password."


@dataclass(frozen=True)
class Login:
    """Credentials that held: the account, and its password's new hash if the old one is weaker
    than the hasher's current settings."""

    account: GuestAccount
    new_hash: str | None


def address_of(email: str) -> str | None:
    """The address a login names, or None; a malformed one is not reported (it answers alike)."""
    return check.email(Problems(), "email", email)


async def authenticate(
    *, deps: AccountDeps, account: GuestAccount | None, password: str
) -> Login | Rejection:
    """Check `password` against `account` (the one logging in with the address given, if any)."""
    usable = account if account is not None and account.disabled_at is None else None
    valid = await deps.verify_password(usable.password_hash if usable else None, password)
    if not valid or usable is None:
        return rejected(None, UserErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN)
    new_hash = (
        await deps.hash_password(password) if deps.passwords.needs_rehash(usable.password_hash) else None
    )
    return Login(account=usable, new_hash=new_hash)


async def record_login(session: AsyncSession, *, login: Login) -> uuid.UUID | Rejection:
    """Note the login on the account (and its rehashed password); returns the account's id."""
    values: dict[str, Any] = {"last_login_at": utcnow()}
    if login.new_hash is not None:
        values["password_hash"] = login.new_hash
    account = login.account
    # Disabled meanwhile: the same answer as any failure.
    if not await repository.note_login(session, account.id, values):
        return rejected(None, UserErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN)
    await guests.touch(session, account.guest_id)
    return account.id
