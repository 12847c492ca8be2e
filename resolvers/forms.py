"""The public forms of a company's site (`X-Tenant`): a booking request and a contact message.
They answer with a reference only, never with data, and are rate-limited per IP and per contact."""

from __future__ import annotations

from decimal import Decimal

from hospes.models.columns import TEXT_MAX
from hospes.resolvers import accounts, bookings, ratelimit
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.intake import clean_details
from hospes.schema.errors import UserErrorCode
from hospes.schema.ids import encode_id
from hospes.schema.inputs import GuestDetailsInput, SubmitBookingFormInput, SubmitContactFormInput
from hospes.services import forms
from hospes.services.inquiries.asked import clean_request
from hospes.services.intake import GuestDetails
from hospes.services.rejections import Problems, Rejection
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.passwords import password_problem
from hospes.tenancy.tenant_settings import TenantSettings


async def _limit(ctx: Context, *, form: str, keys: TenantKeys, details: GuestDetails | None) -> None:
    settings = ctx.resources.settings
    window = settings.form_limit_window_seconds
    ip = ratelimit.client_ip(ctx.request, trusted_hops=settings.trusted_proxy_hops)
    await ratelimit.hit(
        ctx, bucket=f"{form}:ip", subject=ip, limit=settings.form_limit_per_ip, window_seconds=window
    )
    if details is None:
        return
    # Keyed by the blind index: no contact data is ever written to Redis.
    contact = keys.blind_index(details.email, kind="email") or keys.blind_index(details.phone, kind="phone")
    if contact is not None:
        await ratelimit.hit(
            ctx,
            bucket=f"{form}:contact",
            subject=contact.hex()[:32],
            limit=settings.form_limit_per_contact,
            window_seconds=window,
        )


async def submit_booking_form(ctx: Context, data: SubmitBookingFormInput) -> str | Rejection:
    """A booking request: the guest is found or created, consent from the two boxes is granted,
    and a booking in status INQUIRY (no price yet) is recorded.

    Sent with a guest account's session, the booking is the account's whatever names are typed;
    a typed person who is not the account holder becomes the stay guest. Sent publicly, the guest
    gets an account as the company's `accountCreation` says."""
    region = ctx.tenant.settings.get("default_region")
    problems = Problems()
    currency = TenantSettings.of(ctx.tenant).default_currency
    stay = bookings.clean_stay(
        ctx,
        problems,
        property_id=data.property_id,
        check_in=data.check_in,
        check_out=data.check_out,
        adults=data.adults,
        children=data.children,
        amount=Decimal("0.00"),
        currency=currency,
        stay_guest=None,
    )
    holder = await accounts.booking_holder(ctx)
    # A logged-in guest is known already: the typed person may be anyone, even without contact.
    details = clean_details(problems, data.guest, region=region, require_contact=holder is None)
    message = check.text(problems, "message", data.message, max_length=TEXT_MAX)
    opens_account = holder is None and accounts.form_opens_account(ctx, create_account=data.create_account)
    password = data.password or None
    if opens_account and password is not None:
        problem = password_problem(password)
        if problem is not None:
            problems.add("password", UserErrorCode.INVALID, problem)
    keys = await ctx.keys()
    await _limit(ctx, form="booking_form", keys=keys, details=details)
    if problems or stay is None or details is None:
        return problems.rejection()
    holder_id = holder[1].id if holder is not None else None
    account = (
        forms.AccountRequest(deps=accounts.deps_of(ctx), email=details.email, password=password)
        if opens_account and details.email is not None
        else None
    )
    consent = forms.Consent(sms_opt_in=data.sms_opt_in, marketing_email_consent=data.marketing_email_consent)
    actor = ctx.principal
    outcome = await ctx.write(
        lambda session: forms.record_booking_request(
            session,
            keys=keys,
            actor=actor,
            stay=stay,
            details=details,
            consent=consent,
            holder_id=holder_id,
            message=message,
            account=account,
        )
    )
    return outcome if isinstance(outcome, Rejection) else encode_id("Booking", outcome.id)


async def submit_contact_form(ctx: Context, data: SubmitContactFormInput) -> str | Rejection:
    """A message from the site's contact form, stored as an inbound communication of the guest and
    filed on an inquiry (the guest's open one, else a new one with the form's stay details)."""
    problems = Problems()
    details = clean_details(
        problems,
        GuestDetailsInput(name=data.name, email=data.email, phone=data.phone),
        region=ctx.tenant.settings.get("default_region"),
        prefix="contact",
        require_contact=True,
    )
    message = check.text(problems, "message", data.message, max_length=TEXT_MAX, required=True)
    request = clean_request(
        problems,
        property_pk=(
            check.object_id(problems, "propertyId", "Property", data.property_id)
            if data.property_id is not None
            else None
        ),
        check_in=data.check_in,
        check_out=data.check_out,
        adults=data.adults,
        children=data.children,
        message=message,
    )
    keys = await ctx.keys()
    await _limit(ctx, form="contact_form", keys=keys, details=details)
    if problems or details is None or message is None:
        return problems.rejection()
    consent = forms.Consent(sms_opt_in=data.sms_opt_in, marketing_email_consent=data.marketing_email_consent)
    actor = ctx.principal
    outcome = await ctx.write(
        lambda session: forms.record_contact_message(
            session, keys=keys, actor=actor, details=details, consent=consent, request=request
        )
    )
    return outcome if isinstance(outcome, Rejection) else encode_id("Communication", outcome.id)
