"""Staff disabling a guest's account."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import utcnow
from hospes.models.tenant import Guest
from hospes.services.accounts import repository
from hospes.services.accounts.deps import AccountDeps
from hospes.services.rejections import Rejection, UserErrorCode, rejected


async def disable(
    session: AsyncSession, *, deps: AccountDeps, guest_pk: uuid.UUID
) -> tuple[Guest, uuid.UUID] | Rejection:
    """Disable the guest's account: it can no longer log in and its mailed links stop working
    (its sessions must end: returns the guest and the account's id). Disabling a disabled
    account changes nothing."""
    guest = await session.get(Guest, guest_pk)
    if guest is None:
        return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
    account = await repository.lock_of_guest(session, guest_pk)
    if account is None:
        return rejected("guestId", UserErrorCode.NOT_FOUND, "This guest has no account.")
    if account.disabled_at is None:
        account.disabled_at = utcnow()
        await session.flush()
        deps.audit(session, "account.disabled", guest.id, source="staff")
    return guest, account.id
