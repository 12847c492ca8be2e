"""Registration: an address is proven by a mailed link before any account opens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import NAME_MAX, utcnow
from hospes.models.tenant import AccountRegistration, GuestAccount
from hospes.notifications import outgoing
from hospes.services import guests, intake
from hospes.services import validation as check
from hospes.services.accounts import links, repository
from hospes.services.accounts.deps import NO_ACCOUNTS, AccountDeps
from hospes.services.accounts.mail import queue_email
from hospes.services.intake import GuestDetails
from hospes.services.rejections import Problems, Rejection, UserErrorCode, rejected
from hospes.tenancy import tokens
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import REGISTRATION_EMAIL, REGISTRATION_NAME
from hospes.tenancy.passwords import password_problem

NOT_THE_REGISTRANT = (
    "Not the password this registration was made with. If you did not register, ignore the link."
)


@dataclass(frozen=True)
class Registration:
    """A registration's cleaned input."""

    name: str
    address: str


def closed(*, deps: AccountDeps) -> Rejection | None:
    """The rejection of any registration step when the company offers no accounts."""
    return rejected(None, UserErrorCode.INVALID_STATE, NO_ACCOUNTS) if deps.accounts_disabled else None


def check_registration(
    *, deps: AccountDeps, email: str, password: str, name: str
) -> Registration | Rejection:
    """The registration's input cleaned, or every problem with it."""
    refused = closed(deps=deps)
    if refused is not None:
        return refused
    problems = Problems()
    clean_name = check.text(problems, "name", name, max_length=NAME_MAX, required=True)
    address = check.email(problems, "email", email, required=True)
    problem = password_problem(password)
    if problem is not None:
        problems.add("password", UserErrorCode.INVALID, problem)
    if problems or clean_name is None or address is None:
        return problems.rejection()
    return Registration(name=clean_name, address=address)


async def register(
    session: AsyncSession,
    *,
    deps: AccountDeps,
    keys: TenantKeys,
    registration: Registration,
    email_bidx: bytes,
    password_hash: str,
) -> bool:
    """Start a registration; nothing is granted, linked or changed until the address is proven.
    An address without an account gets a link to prove it (`verify_email` then opens the
    account); one with an account gets word of it and a reset link. The work is the same either
    way."""
    company = deps.tenant.name
    address = registration.address
    await repository.drop_expired_registrations(session)
    holder = await repository.with_guest_by_address(session, email_bidx)
    if holder is None:
        token = tokens.new_account_token()
        session.add(
            AccountRegistration(
                id=uuid.uuid4(),
                email_bidx=email_bidx,
                email_enc=keys.encrypt(address, column=REGISTRATION_EMAIL.associated),
                name_enc=keys.encrypt(registration.name, column=REGISTRATION_NAME.associated),
                password_hash=password_hash,
                token_hash=tokens.digest(token),
                expires_at=utcnow() + links.VERIFY_LIFETIME,
            )
        )
        # To the address only: no guest record is touched before it is proven.
        await queue_email(
            session,
            deps=deps,
            guest=None,
            to=address,
            label="account_verify",
            link=deps.link("verify-email", token),
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
    reset = await links.issue_reset(session, account=account)
    await queue_email(
        session,
        deps=deps,
        guest=guest,
        to=address,
        label="account_exists",
        link=deps.link("reset", reset) if reset else None,
        subject=f"You already have a {company} account",
        body=(
            f"Someone asked to open a {company} account with this address, but it already has one. "
            + (
                "If you forgot its password, choose a new one within one hour:\n" + outgoing.marker("link")
                if reset
                else f"To use it again, please contact {company}."
            )
            + "\n\nIf this was not you, ignore this message: nothing has changed."
        ),
    )
    return True


def malformed_link(token: str) -> Rejection | None:
    """The rejection of a token that cannot be a registration's, before any lookup."""
    return None if links.well_formed(token) else rejected("token", UserErrorCode.INVALID, links.INVALID_LINK)


async def verify_email(
    session: AsyncSession, *, deps: AccountDeps, token: str, password: str
) -> uuid.UUID | Rejection:
    """Follow a registration's link with the password chosen at registration: the address is
    proven, and so is that whoever follows it chose the password (a link a stranger caused by
    registering someone else's address opens nothing for them). The account opens, linked to the
    guest record holding that address (a new one when none does); returns its id. Single use;
    the address's other pending registrations end with it. An unknown, expired or used token, or
    a wrong password, changes nothing."""
    # Not locked: verifications of one address are serialised by the intake lock below, and
    # the first to commit deletes every pending row of the address.
    registration = await repository.live_registration(session, tokens.digest(token))
    if registration is None:
        return rejected("token", UserErrorCode.INVALID, links.INVALID_LINK)
    if not await deps.verify_password(registration.password_hash, password):
        return rejected("password", UserErrorCode.INVALID_CREDENTIALS, NOT_THE_REGISTRANT)
    keys = await deps.keys(session, registration.email_enc, registration.name_enc)
    details = GuestDetails(
        name=keys.decrypt(bytes(registration.name_enc), column=REGISTRATION_NAME.associated),
        email=keys.decrypt(bytes(registration.email_enc), column=REGISTRATION_EMAIL.associated),
        phone=None,
        country=None,
        language=None,
    )
    # Under the intake lock of the address: a second link (or the same one twice) waits here,
    # then finds the account this one opened.
    guest, _ = await intake.find_or_create_guest(session, keys, details, actor=deps.actor, source="account")
    if await repository.address_or_guest_taken(session, registration.email_bidx, guest.id):
        # An account came to hold the address meanwhile (a booking form's, another link's).
        return rejected("token", UserErrorCode.INVALID, links.INVALID_LINK)
    account = GuestAccount(
        id=uuid.uuid4(),
        guest_id=guest.id,
        email_bidx=registration.email_bidx,
        password_hash=registration.password_hash,
        last_login_at=utcnow(),
    )
    session.add(account)
    await session.flush()
    await repository.drop_registrations_of(session, registration.email_bidx)
    await guests.touch(session, guest.id)
    deps.audit(session, "account.created", guest.id, source="register")
    return account.id
