"""Passwords: a reset asked for by address, a new one from a mailed link, a change proven by the
current one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import GuestAccount
from hospes.notifications import outgoing
from hospes.services.accounts import links, repository
from hospes.services.accounts.deps import AccountDeps
from hospes.services.accounts.mail import queue_email
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy.passwords import password_problem


async def request_reset(session: AsyncSession, *, deps: AccountDeps, address: str, email_bidx: bytes) -> bool:
    """Mail a reset link when the address belongs to a usable account, else word that it has
    none. The statements and the mail queued are the same whether or not it does."""
    company = deps.tenant.name
    holder = await repository.with_guest_by_address(session, email_bidx)
    token = await links.issue_reset(session, account=holder[0] if holder else None)
    if holder is not None and token is not None:
        await queue_email(
            session,
            deps=deps,
            guest=holder[1],
            to=address,  # the guest's own address: set on both paths, so both do the same work
            label="password_reset",
            link=deps.link("reset", token),
            subject=f"Reset your password for {company}",
            body=(
                f"Someone asked to reset the password of your {company} account.\n\n"
                "To choose a new password, open this link within one hour:\n"
                f"{outgoing.marker('link')}\n\n"
                "If this was not you, ignore this message: your password stays as it is."
            ),
        )
    else:
        await queue_email(
            session,
            deps=deps,
            guest=holder[1] if holder else None,  # a disabled account's guest
            to=address,
            label="password_reset_no_account",
            subject=f"Reset your password for {company}",
            body=(
                f"Someone asked to reset the password of a {company} account for this address, "
                "but there is no account we can reset for it. If this was you, you may have "
                "registered with another address; if not, ignore this message."
            ),
        )
    return True


def weak_password(field_name: str, password: str) -> Rejection | None:
    """Why `password` may not be chosen, if it may not."""
    problem = password_problem(password)
    return rejected(field_name, UserErrorCode.INVALID, problem) if problem is not None else None


async def reset(
    session: AsyncSession, *, deps: AccountDeps, token: str, password_hash: str
) -> uuid.UUID | Rejection:
    """Set a new password with a mailed reset (or first-password) token; single use. Returns the
    account's id (its sessions must end)."""
    row = await links.redeem(session, token=token, purposes=links.PASSWORD_PURPOSES)
    account = (
        await session.get(GuestAccount, row.account_id, with_for_update=True, populate_existing=True)
        if row is not None
        else None
    )
    if account is None or account.disabled_at is not None:
        return rejected("token", UserErrorCode.INVALID, links.INVALID_LINK)
    account.password_hash = password_hash
    await links.retire(session, account_id=account.id, purposes=links.PASSWORD_PURPOSES)
    await session.flush()
    deps.audit(session, "account.password_reset", account.guest_id, source="account")
    return account.id


@dataclass(frozen=True)
class ChangeCheck:
    """Whether the current password was right (it counts as a good login if so), and what is
    wrong with the change, if anything."""

    current_valid: bool
    rejection: Rejection | None


async def check_change(
    *, deps: AccountDeps, account: GuestAccount, current_password: str, new_password: str
) -> ChangeCheck:
    """Check a password change of `account`: the current password proves it, the new one must do."""
    problems = Problems()
    valid = await deps.verify_password(account.password_hash, current_password)
    if not valid:
        problems.add("currentPassword", UserErrorCode.INVALID_CREDENTIALS, "Wrong password.")
    problem = password_problem(new_password)
    if problem is not None:
        problems.add("newPassword", UserErrorCode.INVALID, problem)
    return ChangeCheck(current_valid=valid, rejection=problems.rejection() if problems else None)


async def change(
    session: AsyncSession, *, deps: AccountDeps, account: GuestAccount, password_hash: str
) -> bool:
    """Store the new password; the account's mailed password links stop working."""
    await repository.set_password(session, account.id, password_hash)
    await links.retire(session, account_id=account.id, purposes=links.PASSWORD_PURPOSES)
    deps.audit(session, "account.password_changed", account.guest_id, source="account")
    return True
