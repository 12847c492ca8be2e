"""Guest accounts: registration (proven by a link mailed to the address), login and logout,
passwords (reset, first password, change), the profile and its email change, the accounts the
booking form opens, and disabling by staff.

An account logs in with the email of its guest record: `guest_account.email_bidx` is kept equal to
the guest's `email_bidx`, and only `accountConfirmEmailChange` changes either of them here.
Links mailed to a guest carry single-use tokens stored as SHA-256 only; the mail itself is a
queued `communication` row (messaging sends queued rows; until it does, the link sits in that
row's body).

Whether an address has an account never shows in an answer, nor in the work behind it:
registering and asking for a reset answer alike, run the same statements and queue one mail
either way."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from strawberry.dataloader import DataLoader

from hospes.models.columns import NAME_MAX, utcnow
from hospes.models.tenant import (
    AccountRegistration,
    AccountToken,
    AccountTokenPurpose,
    Guest,
    GuestAccount,
)
from hospes.models.tenant import Channel as ChannelKind
from hospes.notifications import outgoing
from hospes.resolvers import audit, guest_fields, guests, intake, ratelimit
from hospes.resolvers import validation as check
from hospes.resolvers.company import AccountCreation, CompanySettings
from hospes.resolvers.context import Context
from hospes.resolvers.intake import GuestDetails
from hospes.resolvers.validation import Problems, Rejection, rejected
from hospes.schema.errors import UserErrorCode, unauthenticated
from hospes.tenancy import tokens
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import ACCOUNT_NEW_EMAIL, REGISTRATION_EMAIL, REGISTRATION_NAME
from hospes.tenancy.passwords import MAX_LENGTH, password_problem
from hospes.tenancy.principal import PrincipalKind

RESET_LIFETIME = timedelta(hours=1)
SET_PASSWORD_LIFETIME = timedelta(days=7)
EMAIL_CHANGE_LIFETIME = timedelta(days=1)
VERIFY_LIFETIME = timedelta(days=1)
PASSWORD_PURPOSES = (AccountTokenPurpose.RESET_PASSWORD, AccountTokenPurpose.SET_PASSWORD)

INVALID_LOGIN = "Unknown email or wrong password."
INVALID_LINK = "This link is invalid, has expired or was already used."
NO_ACCOUNTS = "This company does not offer guest accounts."
NOT_THE_REGISTRANT = (
    "Not the password this registration was made with. If you did not register, ignore the link."
)
CONSENTS = {"sms_opt_in": "smsOptIn", "marketing_email_consent": "marketingEmailConsent"}


# --- who is calling -------------------------------------------------------------------------


async def current_account(ctx: Context) -> tuple[GuestAccount, Guest]:
    """The caller's account and its guest. A session of a disabled or deleted account (or of an
    erased guest) is refused like an expired one."""
    principal = ctx.require(PrincipalKind.GUEST_ACCOUNT)
    account = await ctx.scalar(sa.select(GuestAccount).where(col(GuestAccount.id) == principal.subject_id))
    if account is None or account.disabled_at is not None:
        raise unauthenticated("Invalid or expired session.")
    guest = await ctx.loaders.guest.load(account.guest_id)
    if guest is None or guest.erased_at is not None:
        raise unauthenticated("Invalid or expired session.")
    return account, guest


async def booking_holder(ctx: Context) -> tuple[GuestAccount, Guest] | None:
    """The logged-in account a booking-form booking belongs to; None for a public caller, and
    when the company does not let guests log in at checkout (the form is then taken as public)."""
    principal = ctx.principal
    if principal is None or principal.kind is not PrincipalKind.GUEST_ACCOUNT:
        return None
    if not CompanySettings.of(ctx.tenant).allow_login_at_checkout:
        return None
    return await current_account(ctx)


# --- rate limits and sessions -----------------------------------------------------------------


async def _limit(ctx: Context, *, bucket: str, subject: str, limit: int) -> None:
    window = ctx.resources.settings.account_limit_window_seconds
    await ratelimit.hit(ctx, bucket=bucket, subject=subject, limit=limit, window_seconds=window)


async def _limit_ip(ctx: Context, *, bucket: str, limit: int) -> None:
    ip = ratelimit.client_ip(ctx.request, trusted_hops=ctx.resources.settings.trusted_proxy_hops)
    await _limit(ctx, bucket=f"{bucket}:ip", subject=ip, limit=limit)


def _address_key(email_bidx: bytes) -> str:
    # The blind index: no address is ever written to Redis.
    return bytes(email_bidx).hex()[:32]


async def _limit_address(ctx: Context, *, bucket: str, email_bidx: bytes, limit: int) -> None:
    await _limit(ctx, bucket=f"{bucket}:account", subject=_address_key(email_bidx), limit=limit)


async def _count_login(ctx: Context, email_bidx: bytes | None) -> ratelimit.LoginAttempt:
    """Count a password attempt on the account of `email_bidx` (None: an input naming no account)
    from the caller's address; see `ratelimit.count_login`."""
    settings = ctx.resources.settings
    return await ratelimit.count_login(
        ctx,
        scope=f"account_login:{ctx.tenant.id}",
        account=_address_key(email_bidx) if email_bidx is not None else None,
        limits=ratelimit.LoginLimits(
            per_account_and_client=settings.account_login_limit_per_account,
            per_client=settings.account_login_limit_per_ip,
            slowdown_after=settings.account_login_slowdown_after,
            slowdown_max_seconds=settings.login_slowdown_max_seconds,
            window_seconds=settings.account_limit_window_seconds,
        ),
    )


async def _start_session(ctx: Context, account_id: uuid.UUID) -> str:
    return await ctx.resources.sessions.create(
        tenant_id=ctx.tenant.id, kind=PrincipalKind.GUEST_ACCOUNT.value, subject_id=account_id, role=None
    )


async def end_sessions(ctx: Context, account_id: uuid.UUID) -> int:
    """End every session of the account; returns how many were live."""
    return await ctx.resources.sessions.end_all(tenant_id=ctx.tenant.id, subject_id=account_id)


# --- tokens and mail --------------------------------------------------------------------------


def _issue_token(
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


async def _issue_reset_token(session: AsyncSession, account: GuestAccount | None) -> str | None:
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


async def _account_of_address(session: AsyncSession, email_bidx: bytes) -> tuple[GuestAccount, Guest] | None:
    """The account logging in with `email_bidx` (disabled or not) and its guest, in one statement."""
    row = (
        await session.execute(
            sa.select(GuestAccount, Guest)
            .join(Guest, col(Guest.id) == col(GuestAccount.guest_id))
            .where(col(GuestAccount.email_bidx) == email_bidx)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def _redeem(
    session: AsyncSession, token: str, purposes: tuple[AccountTokenPurpose, ...]
) -> AccountToken | None:
    """The token's row, locked and marked used, if it is live and of one of `purposes`. Unknown,
    expired, used and malformed tokens all give None."""
    if not token.startswith(tokens.ACCOUNT_TOKEN_PREFIX) or len(token) > 100:
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


async def _retire_tokens(
    session: AsyncSession, account_id: uuid.UUID, purposes: tuple[AccountTokenPurpose, ...]
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


async def _queue_email(
    ctx: Context,
    session: AsyncSession,
    *,
    guest: Guest | None,
    label: str,
    subject: str,
    body: str,
    link: str | None = None,
    to: str | None = None,
) -> None:
    """A transactional email to the guest (or to `to`, an address the guest record does not hold
    yet, or that no guest record holds when `guest` is None), queued for delivery after commit.
    `link`, a credential, replaces the `[link]` marker of `body` only when sent; it is stored
    encrypted."""
    await outgoing.queue(
        session,
        tenant=ctx.tenant,
        keys=await ctx.keys_within(session),
        draft=outgoing.Draft(
            guest=guest,
            template_key=label,
            subject=subject,
            body=body,
            channel=ChannelKind.EMAIL,
            recipient=to,
            # The link is a credential: the stored body shows "[link]", the sent one the link.
            extra={"link": link} if link else {},
        ),
        lease_seconds=ctx.resources.settings.outbox_lease_seconds,
    )


def _link(ctx: Context, path: str, token: str) -> str:
    return f"{CompanySettings.of(ctx.tenant).portal_base_url}/{path}/{token}"


async def _hash(ctx: Context, password: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(ctx.resources.passwords.hash, password)


async def _verify(ctx: Context, password_hash: str | None, password: str) -> bool:
    """One full argon2 verification whatever the input (the decoy hash when there is no account),
    so every failure costs the same."""
    if len(password) > MAX_LENGTH:
        password_hash, password = None, ""
    return await asyncio.to_thread(ctx.resources.passwords.verify, password_hash, password)


# --- registration and login -------------------------------------------------------------------


async def register(ctx: Context, *, email: str, password: str, name: str) -> bool | Rejection:
    """Start a registration; nothing is granted, linked or changed until the address is proven.
    An address without an account gets a link to prove it (`verify_email` then opens the
    account); one with an account gets word of it and a reset link. The answer, and the work
    behind it, are the same either way."""
    settings = ctx.resources.settings
    await _limit_ip(ctx, bucket="account_register", limit=settings.account_request_limit_per_ip)
    if CompanySettings.of(ctx.tenant).account_creation is AccountCreation.DISABLED:
        return rejected(None, UserErrorCode.INVALID_STATE, NO_ACCOUNTS)
    problems = Problems()
    clean_name = check.text(problems, "name", name, max_length=NAME_MAX, required=True)
    address = check.email(problems, "email", email, required=True)
    problem = password_problem(password)
    if problem is not None:
        problems.add("password", UserErrorCode.INVALID, problem)
    if problems or clean_name is None or address is None:
        return problems.rejection()
    keys = await ctx.keys()
    email_bidx = keys.blind_index(address, kind="email")
    assert email_bidx is not None
    # Per address too: nobody can have a stranger's inbox flooded.
    await _limit_address(
        ctx,
        bucket="account_register",
        email_bidx=email_bidx,
        limit=settings.account_request_limit_per_address,
    )
    # Hashed on both paths, though only a new registration keeps it: the same cost either way.
    password_hash = await _hash(ctx, password)
    company = ctx.tenant.name

    async def work(session: AsyncSession) -> bool:
        await session.execute(
            sa.delete(AccountRegistration).where(col(AccountRegistration.expires_at) <= sa.func.now())
        )
        holder = await _account_of_address(session, email_bidx)
        if holder is None:
            token = tokens.new_account_token()
            session.add(
                AccountRegistration(
                    id=uuid.uuid4(),
                    email_bidx=email_bidx,
                    email_enc=keys.encrypt(address, column=REGISTRATION_EMAIL.associated),
                    name_enc=keys.encrypt(clean_name, column=REGISTRATION_NAME.associated),
                    password_hash=password_hash,
                    token_hash=tokens.digest(token),
                    expires_at=utcnow() + VERIFY_LIFETIME,
                )
            )
            # To the address only: no guest record is touched before it is proven.
            await _queue_email(
                ctx,
                session,
                guest=None,
                to=address,
                label="account_verify",
                link=_link(ctx, "verify-email", token),
                subject=f"Confirm your email address for {company}",
                body=(
                    f"Someone asked to open a {company} account with this address. To confirm it is "
                    f"yours and open the account, follow this link within 24 hours:\n"
                    f"{outgoing.marker('link')}\n\n"
                    "If this was not you, ignore this message: no account is opened."
                ),
            )
            return True
        account, guest = holder
        reset = await _issue_reset_token(session, account)
        await _queue_email(
            ctx,
            session,
            guest=guest,
            to=address,
            label="account_exists",
            link=_link(ctx, "reset", reset) if reset else None,
            subject=f"You already have a {company} account",
            body=(
                f"Someone asked to open a {company} account with this address, but it already has one. "
                + (
                    "If you forgot its password, choose a new one within one hour:\n"
                    + outgoing.marker("link")
                    if reset
                    else f"To use it again, please contact {company}."
                )
                + "\n\nIf this was not you, ignore this message: nothing has changed."
            ),
        )
        return True

    return await ctx.write(work)


async def verify_email(ctx: Context, *, token: str, password: str) -> str | Rejection:
    """Follow a registration's link with the password chosen at registration: the address is
    proven, and so is that whoever follows it chose the password (a link a stranger caused by
    registering someone else's address opens nothing for them). The account opens, linked to the
    guest record holding that address (a new one when none does), and a session starts. Single
    use; the address's other pending registrations end with it. An unknown, expired or used
    token, or a wrong password, changes nothing."""
    if CompanySettings.of(ctx.tenant).account_creation is AccountCreation.DISABLED:
        return rejected(None, UserErrorCode.INVALID_STATE, NO_ACCOUNTS)
    # Every attempt counts per address: links cannot be guessed, nor passwords tried on one.
    await _limit_ip(ctx, bucket="verify", limit=ctx.resources.settings.account_request_limit_per_ip)
    if not token.startswith(tokens.ACCOUNT_TOKEN_PREFIX) or len(token) > 100:
        return rejected("token", UserErrorCode.INVALID, INVALID_LINK)
    actor = ctx.principal

    async def work(session: AsyncSession) -> uuid.UUID | Rejection:
        # Not locked: verifications of one address are serialised by the intake lock below, and
        # the first to commit deletes every pending row of the address.
        registration = await session.scalar(
            sa.select(AccountRegistration).where(
                col(AccountRegistration.token_hash) == tokens.digest(token),
                col(AccountRegistration.expires_at) > sa.func.now(),
            )
        )
        if registration is None:
            return rejected("token", UserErrorCode.INVALID, INVALID_LINK)
        if not await _verify(ctx, registration.password_hash, password):
            return rejected("password", UserErrorCode.INVALID_CREDENTIALS, NOT_THE_REGISTRANT)
        keys = await ctx.keys_within(session, registration.email_enc, registration.name_enc)
        details = GuestDetails(
            name=keys.decrypt(bytes(registration.name_enc), column=REGISTRATION_NAME.associated),
            email=keys.decrypt(bytes(registration.email_enc), column=REGISTRATION_EMAIL.associated),
            phone=None,
            country=None,
            language=None,
        )
        # Under the intake lock of the address: a second link (or the same one twice) waits here,
        # then finds the account this one opened.
        guest, _ = await intake.find_or_create_guest(session, keys, details, actor=actor, source="account")
        taken = await session.scalar(
            sa.select(col(GuestAccount.id)).where(
                sa.or_(
                    col(GuestAccount.email_bidx) == registration.email_bidx,
                    col(GuestAccount.guest_id) == guest.id,
                )
            )
        )
        if taken is not None:
            # An account came to hold the address meanwhile (a booking form's, another link's).
            return rejected("token", UserErrorCode.INVALID, INVALID_LINK)
        account = GuestAccount(
            id=uuid.uuid4(),
            guest_id=guest.id,
            email_bidx=registration.email_bidx,
            password_hash=registration.password_hash,
            last_login_at=utcnow(),
        )
        session.add(account)
        await session.flush()
        await session.execute(
            sa.delete(AccountRegistration).where(
                col(AccountRegistration.email_bidx) == registration.email_bidx
            )
        )
        await guests.touch(session, guest.id)
        _audit_account(session, ctx, "account.created", guest.id, source="register")
        return account.id

    outcome = await ctx.write(work)
    if isinstance(outcome, Rejection):
        return outcome
    return await _start_session(ctx, outcome)


async def login(ctx: Context, *, email: str, password: str) -> str | Rejection:
    """A session token for valid credentials. Unknown email, wrong password, a disabled account
    and a registration not yet verified (no account exists for it) give the same answer at the
    same cost. Limited per account and address, per address, and slowed down per account."""
    keys = await ctx.keys()
    email_bidx = keys.blind_index(check.email(Problems(), "email", email), kind="email")
    attempt = await _count_login(ctx, email_bidx)
    account: GuestAccount | None = None
    if email_bidx is not None:
        account = await ctx.scalar(sa.select(GuestAccount).where(col(GuestAccount.email_bidx) == email_bidx))
    usable = account if account is not None and account.disabled_at is None else None
    valid = await _verify(ctx, usable.password_hash if usable else None, password)
    if not valid or usable is None:
        return rejected(None, UserErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN)
    values: dict[str, Any] = {"last_login_at": utcnow()}
    if ctx.resources.passwords.needs_rehash(usable.password_hash):
        values["password_hash"] = await _hash(ctx, password)

    async def work(session: AsyncSession) -> uuid.UUID | Rejection:
        # Disabled meanwhile: the same answer as any failure.
        updated = await session.scalar(
            sa.update(GuestAccount)
            .where(col(GuestAccount.id) == usable.id, col(GuestAccount.disabled_at).is_(None))
            .values(**values)
            .returning(col(GuestAccount.id))
        )
        if updated is None:
            return rejected(None, UserErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN)
        await guests.touch(session, usable.guest_id)
        return usable.id

    outcome = await ctx.write(work)
    if isinstance(outcome, Rejection):
        return outcome
    await ratelimit.login_succeeded(ctx, attempt)
    return await _start_session(ctx, outcome)


async def logout(ctx: Context) -> bool:
    """End the session the request was sent with."""
    principal = ctx.require(PrincipalKind.GUEST_ACCOUNT)
    if principal.credential_hash is None:
        raise unauthenticated()
    return await ctx.resources.sessions.end(principal.credential_hash)


# --- passwords --------------------------------------------------------------------------------


async def request_password_reset(ctx: Context, *, email: str) -> bool | Rejection:
    """Mail a reset link when the address belongs to a usable account, else word that it has
    none. The answer, the statements and the mail queued are the same whether or not it does."""
    settings = ctx.resources.settings
    await _limit_ip(ctx, bucket="account_reset", limit=settings.account_request_limit_per_ip)
    problems = Problems()
    address = check.email(problems, "email", email, required=True)
    if problems or address is None:
        return problems.rejection()
    keys = await ctx.keys()
    email_bidx = keys.blind_index(address, kind="email")
    assert email_bidx is not None
    await _limit_address(
        ctx, bucket="account_reset", email_bidx=email_bidx, limit=settings.account_request_limit_per_address
    )
    company = ctx.tenant.name

    async def work(session: AsyncSession) -> bool:
        holder = await _account_of_address(session, email_bidx)
        token = await _issue_reset_token(session, holder[0] if holder else None)
        if holder is not None and token is not None:
            await _queue_email(
                ctx,
                session,
                guest=holder[1],
                to=address,  # the guest's own address: set on both paths, so both do the same work
                label="password_reset",
                link=_link(ctx, "reset", token),
                subject=f"Reset your password for {company}",
                body=(
                    f"Someone asked to reset the password of your {company} account.\n\n"
                    "To choose a new password, open this link within one hour:\n"
                    f"{outgoing.marker('link')}\n\n"
                    "If this was not you, ignore this message: your password stays as it is."
                ),
            )
        else:
            await _queue_email(
                ctx,
                session,
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

    return await ctx.write(work)


async def reset_password(ctx: Context, *, token: str, password: str) -> bool | Rejection:
    """Set a new password with a mailed reset (or first-password) token; single use. Every
    session of the account ends."""
    problem = password_problem(password)
    if problem is not None:
        return rejected("password", UserErrorCode.INVALID, problem)
    password_hash = await _hash(ctx, password)

    async def work(session: AsyncSession) -> uuid.UUID | Rejection:
        row = await _redeem(session, token, PASSWORD_PURPOSES)
        account = (
            await session.get(GuestAccount, row.account_id, with_for_update=True, populate_existing=True)
            if row is not None
            else None
        )
        if account is None or account.disabled_at is not None:
            return rejected("token", UserErrorCode.INVALID, INVALID_LINK)
        account.password_hash = password_hash
        await _retire_tokens(session, account.id, PASSWORD_PURPOSES)
        await session.flush()
        _audit_account(session, ctx, "account.password_reset", account.guest_id, source="account")
        return account.id

    outcome = await ctx.write(work)
    if isinstance(outcome, Rejection):
        return outcome
    await end_sessions(ctx, outcome)
    return True


async def change_password(ctx: Context, *, current_password: str, new_password: str) -> str | Rejection:
    """Change the caller's password, proven by the current one. Every session of the account ends,
    the caller's too; returns the caller's new session token."""
    account, _ = await current_account(ctx)
    # The same budget as logins: a stolen session cannot guess the password faster than a login.
    attempt = await _count_login(ctx, account.email_bidx)
    problems = Problems()
    if await _verify(ctx, account.password_hash, current_password):
        await ratelimit.login_succeeded(ctx, attempt)
    else:
        problems.add("currentPassword", UserErrorCode.INVALID_CREDENTIALS, "Wrong password.")
    problem = password_problem(new_password)
    if problem is not None:
        problems.add("newPassword", UserErrorCode.INVALID, problem)
    if problems:
        return problems.rejection()
    password_hash = await _hash(ctx, new_password)

    async def work(session: AsyncSession) -> bool:
        await session.execute(
            sa.update(GuestAccount)
            .where(col(GuestAccount.id) == account.id)
            .values(password_hash=password_hash)
        )
        await _retire_tokens(session, account.id, PASSWORD_PURPOSES)
        _audit_account(session, ctx, "account.password_changed", account.guest_id, source="account")
        return True

    await ctx.write(work)
    await end_sessions(ctx, account.id)
    return await _start_session(ctx, account.id)


# --- profile and email ------------------------------------------------------------------------


def _clean_profile(ctx: Context, problems: Problems, changes: Mapping[str, Any]) -> dict[str, Any]:
    region = ctx.tenant.settings.get("default_region")
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = check.text(problems, "name", changes["name"], max_length=NAME_MAX, required=True)
    if "phone" in changes:
        values["phone"] = check.phone(problems, "phone", changes["phone"], region=region)
    if "country" in changes:
        values["country"] = check.country(problems, "country", changes["country"])
    if "language" in changes:
        values["language"] = check.language(problems, "language", changes["language"])
    for name, field_name in CONSENTS.items():
        if name in changes:
            if changes[name] is None:
                problems.add(field_name, UserErrorCode.REQUIRED, "Must be true or false.")
            values[name] = bool(changes[name])
    return values


async def update_profile(ctx: Context, changes: Mapping[str, Any]) -> Guest | Rejection:
    """Update the caller's own guest record. `changes` holds only the fields given (snake_case);
    the email is not among them (see `request_email_change`). Consent changes are audited with
    source "account"."""
    _, guest = await current_account(ctx)
    problems = Problems()
    values = _clean_profile(ctx, problems, changes)
    if problems:
        return problems.rejection()
    actor = ctx.principal

    async def work(session: AsyncSession) -> Guest:
        row = await session.get(Guest, guest.id, with_for_update=True, populate_existing=True)
        assert row is not None
        keys = await ctx.keys_within(session, row.phone_enc)
        changed: list[str] = []
        for name, value in values.items():
            if name in CONSENTS:
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    audit.record(
                        session,
                        actor=actor,
                        action="consent.changed",
                        entity="guest",
                        entity_id=row.id,
                        data={"consent": name, "value": value, "source": "account"},
                    )
            elif name == "name" and value != row.name:
                guest_fields.set_name(row, value)
                changed.append(name)
            elif name == "phone" and value != guest_fields.phone_of(row, keys):
                guest_fields.set_phone(row, keys, value)
                changed.append(name)
            elif name in ("country", "language") and value != getattr(row, name):
                setattr(row, name, value)
                changed.append(name)
        if changed:
            audit.record(
                session,
                actor=actor,
                action="guest.updated",
                entity="guest",
                entity_id=row.id,
                data={"fields": changed, "source": "account"},
            )
        await session.flush()
        await guests.touch(session, row.id)
        await session.refresh(row)
        return row

    return await ctx.write(work)


async def request_email_change(ctx: Context, *, new_email: str) -> bool | Rejection:
    """Mail a confirmation link to the new address; the email changes only when it is followed."""
    account, guest = await current_account(ctx)
    settings = ctx.resources.settings
    problems = Problems()
    address = check.email(problems, "newEmail", new_email, required=True)
    if problems or address is None:
        return problems.rejection()
    keys = await ctx.keys()
    email_bidx = keys.blind_index(address, kind="email")
    assert email_bidx is not None
    await _limit_address(
        ctx,
        bucket="account_email_change",
        email_bidx=account.email_bidx,
        limit=settings.account_request_limit_per_address,
    )
    if email_bidx == bytes(account.email_bidx):
        return rejected("newEmail", UserErrorCode.INVALID, "This is already your email address.")

    async def work(session: AsyncSession) -> bool | Rejection:
        if await _email_taken(session, email_bidx, account.id):
            return rejected("newEmail", UserErrorCode.DUPLICATE, "Another account uses this email address.")
        await _retire_tokens(session, account.id, (AccountTokenPurpose.CHANGE_EMAIL,))
        token = _issue_token(
            session,
            account_id=account.id,
            purpose=AccountTokenPurpose.CHANGE_EMAIL,
            lifetime=EMAIL_CHANGE_LIFETIME,
            new_email_enc=keys.encrypt(address, column=ACCOUNT_NEW_EMAIL.associated),
        )
        # Addressed to the new email, which the guest record does not hold yet.
        await _queue_email(
            ctx,
            session,
            guest=guest,
            label="email_change",
            link=_link(ctx, "confirm-email", token),
            to=address,
            subject=f"Confirm your new email address for {ctx.tenant.name}",
            body=(
                f"To use this address for your {ctx.tenant.name} account, open this link within "
                f"24 hours:\n{outgoing.marker('link')}\n\n"
                "If you did not ask for this, ignore this message."
            ),
        )
        return True

    return await ctx.write(work)


async def confirm_email_change(ctx: Context, *, token: str) -> bool | Rejection:
    """Follow an email-change link: the account logs in with the new address from now on, and the
    guest record holds it. Single use."""

    async def work(session: AsyncSession) -> bool | Rejection:
        row = await _redeem(session, token, (AccountTokenPurpose.CHANGE_EMAIL,))
        account = (
            await session.get(GuestAccount, row.account_id, with_for_update=True, populate_existing=True)
            if row is not None
            else None
        )
        if row is None or row.new_email_enc is None or account is None or account.disabled_at is not None:
            return rejected("token", UserErrorCode.INVALID, INVALID_LINK)
        guest = await session.get(Guest, account.guest_id, with_for_update=True, populate_existing=True)
        assert guest is not None
        keys = await ctx.keys_within(session, row.new_email_enc, guest.email_enc)
        address = keys.decrypt(bytes(row.new_email_enc), column=ACCOUNT_NEW_EMAIL.associated)
        email_bidx = keys.blind_index(address, kind="email")
        assert email_bidx is not None
        if await _email_taken(session, email_bidx, account.id):
            return rejected("token", UserErrorCode.DUPLICATE, "Another account uses this email address now.")
        account.email_bidx = email_bidx
        guest_fields.set_email(guest, keys, address)
        await session.flush()
        audit.record(
            session,
            actor=ctx.principal,
            action="guest.updated",
            entity="guest",
            entity_id=guest.id,
            data={"fields": ["email"], "source": "account"},
        )
        return True

    return await ctx.write(work)


async def _email_taken(session: AsyncSession, email_bidx: bytes, account_id: uuid.UUID) -> bool:
    taken = await session.scalar(
        sa.select(col(GuestAccount.id)).where(
            col(GuestAccount.email_bidx) == email_bidx, col(GuestAccount.id) != account_id
        )
    )
    return taken is not None


# --- accounts the booking form opens ----------------------------------------------------------


def form_opens_account(ctx: Context, *, create_account: bool) -> bool:
    """Whether a public booking-form booking should give its guest an account: always under
    AUTOMATIC, when the box is checked under OPTIONAL, never under DISABLED."""
    creation = CompanySettings.of(ctx.tenant).account_creation
    return creation is AccountCreation.AUTOMATIC or (creation is AccountCreation.OPTIONAL and create_account)


async def open_account(
    ctx: Context, session: AsyncSession, keys: TenantKeys, *, guest: Guest, email: str, password: str | None
) -> GuestAccount | None:
    """An account for the guest of a booking-form booking, logging in with the `email` typed on
    the form, and an `account_created` mail (with a set-password link unless `password` is
    given). Nothing, and no hint of why, when the guest already has an account, its record holds
    another address, or the address is another account's login."""
    email_bidx = keys.blind_index(email, kind="email")
    if email_bidx is None or guest.email_bidx is None or bytes(guest.email_bidx) != email_bidx:
        return None
    taken = await session.scalar(
        sa.select(col(GuestAccount.id)).where(
            sa.or_(col(GuestAccount.guest_id) == guest.id, col(GuestAccount.email_bidx) == email_bidx)
        )
    )
    if taken is not None:
        return None
    account = GuestAccount(
        id=uuid.uuid4(),
        guest_id=guest.id,
        email_bidx=email_bidx,
        # Without a password of the guest's choosing, an unguessable one until the link is used.
        password_hash=await _hash(ctx, password or secrets.token_urlsafe(32)),
    )
    session.add(account)
    await session.flush()
    company = ctx.tenant.name
    keys_now = await ctx.keys_within(session)
    lease = ctx.resources.settings.outbox_lease_seconds
    if password is None:
        # The company's `account_created` template, in the guest's language, with the link.
        token = _issue_token(
            session,
            account_id=account.id,
            purpose=AccountTokenPurpose.SET_PASSWORD,
            lifetime=SET_PASSWORD_LIFETIME,
        )
        await outgoing.queue(
            session,
            tenant=ctx.tenant,
            keys=keys_now,
            draft=outgoing.Draft(
                guest=guest,
                template_key="account_created",
                channel=ChannelKind.EMAIL,
                extra={"account_email": email, "set_password_link": _link(ctx, "set-password", token)},
            ),
            lease_seconds=lease,
        )
    else:
        await _queue_email(
            ctx,
            session,
            guest=guest,
            label="account_created",
            subject=f"Your {company} account",
            body=f"Your {company} account is ready: log in with {email} to see your bookings.",
        )
    _audit_account(session, ctx, "account.created", guest.id, source="booking_form")
    return account


# --- staff ------------------------------------------------------------------------------------


async def disable_account(ctx: Context, *, guest_id: str) -> Guest | Rejection:
    """Staff disable a guest's account: it can no longer log in, its mailed links stop working
    and its sessions end. Disabling a disabled account changes nothing."""
    problems = Problems()
    pk = check.object_id(problems, "guestId", "Guest", guest_id)
    if problems or pk is None:
        return problems.rejection()

    async def work(session: AsyncSession) -> tuple[Guest, uuid.UUID] | Rejection:
        guest = await session.get(Guest, pk)
        if guest is None:
            return rejected("guestId", UserErrorCode.NOT_FOUND, "Guest not found.")
        account = await session.scalar(
            sa.select(GuestAccount)
            .where(col(GuestAccount.guest_id) == pk)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if account is None:
            return rejected("guestId", UserErrorCode.NOT_FOUND, "This guest has no account.")
        if account.disabled_at is None:
            account.disabled_at = utcnow()
            await session.flush()
            _audit_account(session, ctx, "account.disabled", guest.id, source="staff")
        return guest, account.id

    outcome = await ctx.write(work)
    if isinstance(outcome, Rejection):
        return outcome
    guest, account_id = outcome
    await end_sessions(ctx, account_id)
    return guest


def account_of_guest(ctx: Context) -> DataLoader[uuid.UUID, GuestAccount | None]:
    """The request's loader of guests' accounts (one statement per nesting level)."""
    # Kept beside the request's other loaders (which `resolvers/loaders.py` builds lazily, the same
    # way), so it lives and dies with the request.
    store: dict[str, Any] = vars(ctx.loaders)
    loader = store.get("account_of_guest")
    if loader is None:

        async def load(keys: list[uuid.UUID]) -> list[GuestAccount | None]:
            rows = await ctx.scalars(sa.select(GuestAccount).where(col(GuestAccount.guest_id).in_(keys)))
            found = {row.guest_id: row for row in rows}
            return [found.get(key) for key in keys]

        loader = store["account_of_guest"] = DataLoader(load)
    return loader


def _audit_account(
    session: AsyncSession, ctx: Context, action: str, guest_id: uuid.UUID, *, source: str
) -> None:
    audit.record(
        session,
        actor=ctx.principal,
        action=action,
        entity="guest",
        entity_id=guest_id,
        data={"source": source},
    )
