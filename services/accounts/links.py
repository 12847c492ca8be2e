"""The single-use tokens of links mailed to a guest: issued, redeemed and retired. Only their
SHA-256 digest is stored."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.tenant import AccountToken, AccountTokenPurpose, GuestAccount
from hospes.tenancy import tokens

RESET_LIFETIME = timedelta(hours=1)
SET_PASSWORD_LIFETIME = timedelta(days=7)
EMAIL_CHANGE_LIFETIME = timedelta(days=1)
VERIFY_LIFETIME = timedelta(days=1)
PASSWORD_PURPOSES = (AccountTokenPurpose.RESET_PASSWORD, AccountTokenPurpose.SET_PASSWORD)

INVALID_LINK = "This link is invalid, has expired or was already used."


def well_formed(token: str) -> bool:
    """Whether `token` could be one of ours; anything else is refused before a lookup."""
    return token.startswith(tokens.ACCOUNT_TOKEN_PREFIX) and len(token) <= 100


def issue(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    purpose: AccountTokenPurpose,
    lifetime: timedelta,
    new_email_enc: bytes | None = None,
) -> str:
    """A new single-use token; only its digest is stored."""
    token = tokens.new_account_token()
    session.add(
        AccountToken(
            id=uuid.uuid4(),
            account_id=account_id,
            purpose=purpose.value,
            token_hash=tokens.digest(token),
            new_email_enc=new_email_enc,
            expires_at=utcnow() + lifetime,
        )
    )
    return token


async def issue_reset(session: AsyncSession, *, account: GuestAccount | None) -> str | None:
    """A reset token for `account` if it is usable, else None. The same statement runs either way
    (it writes no row without a usable account), so an address without an account costs what one
    with an account does."""
    token = tokens.new_account_token()
    account_id = account.id if account is not None and account.disabled_at is None else None
    await session.execute(
        sa.insert(AccountToken).from_select(
            ["account_id", "purpose", "token_hash", "expires_at"],
            sa.select(
                col(GuestAccount.id),
                sa.literal(AccountTokenPurpose.RESET_PASSWORD.value),
                sa.literal(tokens.digest(token)),
                sa.func.now() + sa.literal(RESET_LIFETIME),
            ).where(col(GuestAccount.id) == sa.bindparam("account_id", account_id, type_=sa.Uuid)),
        )
    )
    return token if account_id is not None else None


async def redeem(
    session: AsyncSession, *, token: str, purposes: tuple[AccountTokenPurpose, ...]
) -> AccountToken | None:
    """The token's row, locked and marked used, if it is live and of one of `purposes`. Unknown,
    expired, used and malformed tokens all give None."""
    if not well_formed(token):
        return None
    row = await session.scalar(
        sa.select(AccountToken)
        .where(
            col(AccountToken.token_hash) == tokens.digest(token),
            col(AccountToken.purpose).in_([purpose.value for purpose in purposes]),
            col(AccountToken.used_at).is_(None),
            col(AccountToken.expires_at) > sa.func.now(),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is not None:
        row.used_at = utcnow()
    return row


async def retire(
    session: AsyncSession, *, account_id: uuid.UUID, purposes: tuple[AccountTokenPurpose, ...]
) -> None:
    """Mark the account's other live tokens of `purposes` used: one link at a time stays valid."""
    await session.execute(
        sa.update(AccountToken)
        .where(
            col(AccountToken.account_id) == account_id,
            col(AccountToken.purpose).in_([purpose.value for purpose in purposes]),
            col(AccountToken.used_at).is_(None),
        )
        .values(used_at=sa.func.now())
    )
