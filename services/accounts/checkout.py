"""The accounts a public booking-form booking opens for its guest."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import AccountTokenPurpose, Channel, Guest, GuestAccount
from hospes.notifications import outgoing
from hospes.services.accounts import links, repository
from hospes.services.accounts.deps import AccountDeps
from hospes.services.accounts.mail import queue_draft, queue_email
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.tenant_settings import AccountCreation


def form_opens_account(*, deps: AccountDeps, create_account: bool) -> bool:
    """Whether a public booking-form booking should give its guest an account: always under
    AUTOMATIC, when the box is checked under OPTIONAL, never under DISABLED."""
    creation = deps.settings.account_creation
    return creation is AccountCreation.AUTOMATIC or (creation is AccountCreation.OPTIONAL and create_account)


async def open_account(
    session: AsyncSession,
    *,
    deps: AccountDeps,
    keys: TenantKeys,
    guest: Guest,
    email: str,
    password: str | None,
) -> GuestAccount | None:
    """An account for the guest of a booking-form booking, logging in with the `email` typed on
    the form, and an `account_created` mail (with a set-password link unless `password` is
    given). Nothing, and no hint of why, when the guest already has an account, its record holds
    another address, or the address is another account's login."""
    email_bidx = keys.blind_index(email, kind="email")
    if email_bidx is None or guest.email_bidx is None or bytes(guest.email_bidx) != email_bidx:
        return None
    if await repository.address_or_guest_taken(session, email_bidx, guest.id):
        return None
    account = GuestAccount(
        id=uuid.uuid4(),
        guest_id=guest.id,
        email_bidx=email_bidx,
        # Without a password of the guest's choosing, an unguessable one until the link is used.
        password_hash=await deps.hash_password(password or secrets.token_urlsafe(32)),
    )
    session.add(account)
    await session.flush()
    company = deps.tenant.name
    if password is None:
        # The company's `account_created` template, in the guest's language, with the link.
        token = links.issue(
            session,
            account_id=account.id,
            purpose=AccountTokenPurpose.SET_PASSWORD,
            lifetime=links.SET_PASSWORD_LIFETIME,
        )
        await queue_draft(
            session,
            deps=deps,
            draft=outgoing.Draft(
                guest=guest,
                template_key="account_created",
                channel=Channel.EMAIL,
                extra={"account_email": email, "set_password_link": deps.link("set-password", token)},
            ),
        )
    else:
        await queue_email(
            session,
            deps=deps,
            guest=guest,
            label="account_created",
            subject=f"Your {company} account",
            body=f"Your {company} account is ready: log in with {email} to see your bookings.",
        )
    deps.audit(session, "account.created", guest.id, source="booking_form")
    return account
