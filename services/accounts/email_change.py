"""Changing the address an account logs in with: a link mailed to the new address proves it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import AccountTokenPurpose, Guest, GuestAccount
from hospes.notifications import outgoing
from hospes.services import audit, guest_fields
from hospes.services.accounts import links, repository
from hospes.services.accounts.deps import AccountDeps
from hospes.services.accounts.mail import queue_email
from hospes.services.rejections import Rejection, UserErrorCode, rejected
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import ACCOUNT_NEW_EMAIL


def same_address(*, account: GuestAccount, email_bidx: bytes) -> Rejection | None:
    """The rejection of a change to the address the account has already."""
    if email_bidx == bytes(account.email_bidx):
        return rejected("newEmail", UserErrorCode.INVALID, "This is already your email address.")
    return None


async def request(
    session: AsyncSession,
    *,
    deps: AccountDeps,
    keys: TenantKeys,
    account: GuestAccount,
    guest: Guest,
    address: str,
    email_bidx: bytes,
) -> bool | Rejection:
    """Mail a confirmation link to the new address; the email changes only when it is followed."""
    if await repository.address_taken(session, email_bidx, besides=account.id):
        return rejected("newEmail", UserErrorCode.DUPLICATE, "Another account uses this email address.")
    await links.retire(session, account_id=account.id, purposes=(AccountTokenPurpose.CHANGE_EMAIL,))
    token = links.issue(
        session,
        account_id=account.id,
        purpose=AccountTokenPurpose.CHANGE_EMAIL,
        lifetime=links.EMAIL_CHANGE_LIFETIME,
        new_email_enc=keys.encrypt(address, column=ACCOUNT_NEW_EMAIL.associated),
    )
    company = deps.tenant.name
    # Addressed to the new email, which the guest record does not hold yet.
    await queue_email(
        session,
        deps=deps,
        guest=guest,
        label="email_change",
        link=deps.link("confirm-email", token),
        to=address,
        subject=f"Confirm your new email address for {company}",
        body=(
            f"To use this address for your {company} account, open this link within "
            f"24 hours:\n{outgoing.marker('link')}\n\n"
            "If you did not ask for this, ignore this message."
        ),
    )
    return True


async def confirm(session: AsyncSession, *, deps: AccountDeps, token: str) -> bool | Rejection:
    """Follow an email-change link: the account logs in with the new address from now on, and the
    guest record holds it. Single use."""
    row = await links.redeem(session, token=token, purposes=(AccountTokenPurpose.CHANGE_EMAIL,))
    account = (
        await session.get(GuestAccount, row.account_id, with_for_update=True, populate_existing=True)
        if row is not None
        else None
    )
    if row is None or row.new_email_enc is None or account is None or account.disabled_at is not None:
        return rejected("token", UserErrorCode.INVALID, links.INVALID_LINK)
    guest = await session.get(Guest, account.guest_id, with_for_update=True, populate_existing=True)
    assert guest is not None
    keys = await deps.keys(session, row.new_email_enc, guest.email_enc)
    address = keys.decrypt(bytes(row.new_email_enc), column=ACCOUNT_NEW_EMAIL.associated)
    email_bidx = keys.blind_index(address, kind="email")
    assert email_bidx is not None
    if await repository.address_taken(session, email_bidx, besides=account.id):
        return rejected("token", UserErrorCode.DUPLICATE, "Another account uses this email address now.")
    account.email_bidx = email_bidx
    guest_fields.set_email(guest, keys, address)
    await session.flush()
    audit.record(
        session,
        actor=deps.actor,
        action="guest.updated",
        entity="guest",
        entity_id=guest.id,
        data={"fields": ["email"], "source": "account"},
    )
    return True
