"""The guest-account lane: `account` and the `account*` mutations (a guest's own session, or the
company's site with `X-Tenant` to register, log in and follow mailed links), and
`disableGuestAccount` for staff.

A guest sees their record through types of its own (`AccountProfile`, `AccountBooking`, …), never
through the staff types: no staff notes, no other guests' contact data, no payment internals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from hospes.models.tenant import Booking as BookingRow
from hospes.models.tenant import Guest as GuestRow
from hospes.models.tenant import Property as PropertyRow
from hospes.resolvers import accounts
from hospes.resolvers.context import Info
from hospes.resolvers.loaders import existing
from hospes.resolvers.payloads import to_payload
from hospes.resolvers.permissions import ACCOUNT_ONLY, PUBLIC_FORM, STAFF_ONLY, Rule, allow
from hospes.schema.enums import BookingStatus
from hospes.schema.errors import UserError
from hospes.schema.guests import Guest
from hospes.schema.ids import encode_id
from hospes.services import guest_fields
from hospes.tenancy.principal import PrincipalKind

# Registering, logging in and resetting a password are for visitors of the company's site; a
# logged-in guest or any other credential is refused.
SITE_VISITOR = allow(Rule(kinds=frozenset({PrincipalKind.PUBLIC})))


@strawberry.type(description="Where a booking is, as its guest sees it.")
class AccountProperty:
    name: str
    address: str | None
    timezone: str

    @classmethod
    def from_row(cls, row: PropertyRow) -> AccountProperty:
        return cls(name=row.name, address=row.address, timezone=row.timezone)


@strawberry.type(description="Who stays, when the guest booked for someone else (the name only).")
class AccountStayGuest:
    name: str


@strawberry.type(description="One of the guest's bookings, including those made for someone else.")
class AccountBooking:
    id: strawberry.ID
    check_in: date
    check_out: date
    adults: int
    children: int
    status: BookingStatus
    amount: Decimal
    currency: str
    created_at: datetime
    stay_guest: AccountStayGuest | None
    property_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: BookingRow) -> AccountBooking:
        return cls(
            id=strawberry.ID(encode_id("Booking", row.id)),
            check_in=row.check_in,
            check_out=row.check_out,
            adults=row.adults,
            children=row.children,
            status=BookingStatus(row.status),
            amount=row.amount,
            currency=row.currency,
            created_at=row.created_at,
            stay_guest=AccountStayGuest(name=row.stay_guest_name) if row.stay_guest_name else None,
            property_pk=row.property_id,
        )

    @strawberry.field
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @strawberry.field
    async def property(self, info: Info) -> AccountProperty:
        return AccountProperty.from_row(await existing(info.context.loaders.property, self.property_pk))


@strawberry.type(description="The logged-in guest's own record.")
class AccountProfile:
    name: str
    email: str | None
    phone: str | None = strawberry.field(description="E.164.")
    country: str | None
    language: str | None
    sms_opt_in: bool
    marketing_email_consent: bool
    guest_pk: strawberry.Private[uuid.UUID]

    @classmethod
    async def of(cls, info: Info, row: GuestRow) -> AccountProfile:
        keys = await info.context.keys(row.email_enc, row.phone_enc)
        return cls(
            name=row.name,
            email=guest_fields.email_of(row, keys),
            phone=guest_fields.phone_of(row, keys),
            country=row.country,
            language=row.language,
            sms_opt_in=row.sms_opt_in,
            marketing_email_consent=row.marketing_email_consent,
            guest_pk=row.id,
        )

    @strawberry.field(description="Every booking the guest made, for themself or others, newest first.")
    async def bookings(self, info: Info) -> list[AccountBooking]:
        rows = await info.context.loaders.bookings_of_guest.load(self.guest_pk)
        return [AccountBooking.from_row(row) for row in rows]


@strawberry.input
class AccountRegisterInput:
    email: str
    password: str
    name: str


@strawberry.input(description="`token` from the link mailed to the registered address.")
class AccountVerifyEmailInput:
    token: str
    password: str = strawberry.field(
        description="The password chosen at registration: only who chose it opens the account."
    )


@strawberry.input
class AccountLoginInput:
    email: str
    password: str


@strawberry.input
class AccountRequestPasswordResetInput:
    email: str


@strawberry.input(description="`token` from a reset or set-password link.")
class AccountResetPasswordInput:
    token: str
    password: str


@strawberry.input
class AccountChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input(
    description="Fields left out stay as they are; `null` clears phone, country or language. "
    "The email changes through accountRequestEmailChange."
)
class AccountUpdateProfileInput:
    name: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    language: str | None = strawberry.UNSET
    sms_opt_in: bool | None = strawberry.UNSET
    marketing_email_consent: bool | None = strawberry.UNSET


@strawberry.input
class AccountRequestEmailChangeInput:
    new_email: str


@strawberry.input(description="`token` from the link mailed to the new address.")
class AccountConfirmEmailChangeInput:
    token: str


@strawberry.input
class DisableGuestAccountInput:
    guest_id: strawberry.ID


@strawberry.type(
    description="Empty `errors` whether or not the email has an account: the address gets a mail "
    "either way (a link to prove it, or word of its account and a reset link)."
)
class AccountRegisterPayload:
    token: str | None = strawberry.field(
        default=None,
        deprecation_reason="Registration grants no session; accountVerifyEmail returns one.",
    )
    errors: list[UserError]


@strawberry.type
class AccountVerifyEmailPayload:
    token: str | None = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    errors: list[UserError]


@strawberry.type
class AccountLoginPayload:
    token: str | None = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    errors: list[UserError]


@strawberry.type(description="`ok` whether or not the email belongs to an account.")
class AccountRequestPasswordResetPayload:
    ok: bool
    errors: list[UserError]


@strawberry.type
class AccountResetPasswordPayload:
    ok: bool
    errors: list[UserError]


@strawberry.type
class AccountChangePasswordPayload:
    token: str | None = strawberry.field(
        description="The caller's new session: every earlier one, the one this was sent with "
        "included, has ended."
    )
    errors: list[UserError]


@strawberry.type
class AccountUpdateProfilePayload:
    account: AccountProfile | None
    errors: list[UserError]


@strawberry.type
class AccountRequestEmailChangePayload:
    ok: bool
    errors: list[UserError]


@strawberry.type
class AccountConfirmEmailChangePayload:
    ok: bool
    errors: list[UserError]


@strawberry.type
class DisableGuestAccountPayload:
    guest: Guest | None
    errors: list[UserError]


def _given(data: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(data).items() if value is not strawberry.UNSET}


@strawberry.type
class AccountQuery:
    @strawberry.field(permission_classes=[ACCOUNT_ONLY], description="The logged-in guest's own record.")
    async def account(self, info: Info) -> AccountProfile:
        _, guest = await accounts.current_account(info.context)
        return await AccountProfile.of(info, guest)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        permission_classes=[SITE_VISITOR],
        description="Ask for an account (`X-Tenant`); it opens when the link mailed to the address is "
        "followed (accountVerifyEmail).",
    )
    async def account_register(self, info: Info, input: AccountRegisterInput) -> AccountRegisterPayload:
        outcome = await accounts.register(
            info.context, email=input.email, password=input.password, name=input.name
        )
        return await to_payload(AccountRegisterPayload, outcome)

    @strawberry.mutation(
        permission_classes=[SITE_VISITOR],
        description="Prove the registered address with the mailed link: the account opens and logs in.",
    )
    async def account_verify_email(
        self, info: Info, input: AccountVerifyEmailInput
    ) -> AccountVerifyEmailPayload:
        outcome = await accounts.verify_email(info.context, token=input.token, password=input.password)
        return await to_payload(AccountVerifyEmailPayload, outcome, token=lambda token: token)

    @strawberry.mutation(
        permission_classes=[SITE_VISITOR],
        description="The same error for an unknown email, a wrong password and a disabled account.",
    )
    async def account_login(self, info: Info, input: AccountLoginInput) -> AccountLoginPayload:
        outcome = await accounts.log_in(info.context, email=input.email, password=input.password)
        return await to_payload(AccountLoginPayload, outcome, token=lambda token: token)

    @strawberry.mutation(permission_classes=[ACCOUNT_ONLY], description="Ends the session it is sent with.")
    async def account_logout(self, info: Info) -> bool:
        return await accounts.logout(info.context)

    @strawberry.mutation(
        permission_classes=[SITE_VISITOR], description="Mails a reset link if the email has an account."
    )
    async def account_request_password_reset(
        self, info: Info, input: AccountRequestPasswordResetInput
    ) -> AccountRequestPasswordResetPayload:
        outcome = await accounts.request_password_reset(info.context, email=input.email)
        return await to_payload(
            AccountRequestPasswordResetPayload, outcome, ok=lambda _: True, when_rejected={"ok": False}
        )

    @strawberry.mutation(
        permission_classes=[SITE_VISITOR],
        description="A new password from a mailed link; the account's sessions end.",
    )
    async def account_reset_password(
        self, info: Info, input: AccountResetPasswordInput
    ) -> AccountResetPasswordPayload:
        outcome = await accounts.reset_password(info.context, token=input.token, password=input.password)
        return await to_payload(
            AccountResetPasswordPayload, outcome, ok=lambda _: True, when_rejected={"ok": False}
        )

    @strawberry.mutation(
        permission_classes=[ACCOUNT_ONLY],
        description="Every session of the account ends; a new one is returned.",
    )
    async def account_change_password(
        self, info: Info, input: AccountChangePasswordInput
    ) -> AccountChangePasswordPayload:
        outcome = await accounts.change_password(
            info.context, current_password=input.current_password, new_password=input.new_password
        )
        return await to_payload(AccountChangePasswordPayload, outcome, token=lambda token: token)

    @strawberry.mutation(permission_classes=[ACCOUNT_ONLY])
    async def account_update_profile(
        self, info: Info, input: AccountUpdateProfileInput
    ) -> AccountUpdateProfilePayload:
        outcome = await accounts.update_profile(info.context, _given(input))
        return await to_payload(
            AccountUpdateProfilePayload, outcome, account=lambda guest: AccountProfile.of(info, guest)
        )

    @strawberry.mutation(
        permission_classes=[ACCOUNT_ONLY], description="Mails a confirmation link to the new address."
    )
    async def account_request_email_change(
        self, info: Info, input: AccountRequestEmailChangeInput
    ) -> AccountRequestEmailChangePayload:
        outcome = await accounts.request_email_change(info.context, new_email=input.new_email)
        return await to_payload(
            AccountRequestEmailChangePayload, outcome, ok=lambda _: True, when_rejected={"ok": False}
        )

    @strawberry.mutation(permission_classes=[PUBLIC_FORM])
    async def account_confirm_email_change(
        self, info: Info, input: AccountConfirmEmailChangeInput
    ) -> AccountConfirmEmailChangePayload:
        outcome = await accounts.confirm_email_change(info.context, token=input.token)
        return await to_payload(
            AccountConfirmEmailChangePayload, outcome, ok=lambda _: True, when_rejected={"ok": False}
        )

    @strawberry.mutation(
        permission_classes=[STAFF_ONLY], description="The account can no longer log in; its sessions end."
    )
    async def disable_guest_account(
        self, info: Info, input: DisableGuestAccountInput
    ) -> DisableGuestAccountPayload:
        outcome = await accounts.disable_account(info.context, guest_id=input.guest_id)
        return await to_payload(DisableGuestAccountPayload, outcome, guest=Guest.from_row)
