"""The values a template's placeholders are filled with, formatted for the guest's language.

Every placeholder a key offers gets a value (empty when the message has nothing for it), so a
template that passed validation always renders."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Booking, Guest, Inquiry, InquiryQuote, Payment, PaymentStatus, Property
from hospes.notifications.templates import base_language, format_date, format_money, placeholders_for
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import CHECK_IN_INSTRUCTIONS


def first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else name


def booking_reference(booking: Booking) -> str:
    """A short reference a guest can read out on the phone."""
    return booking.id.hex[:8].upper()


async def _amount_paid(session: AsyncSession, booking: Booking) -> Decimal:
    paid = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(col(Payment.amount)), 0)).where(
            col(Payment.booking_id) == booking.id, col(Payment.status) == PaymentStatus.PAID.value
        )
    )
    return Decimal(paid or 0)


# The sentence under a quote's total; English for languages without their own.
_VALID_UNTIL = {
    "en": "This offer is valid until {date}.",
    "es": "Esta oferta es válida hasta el {date}.",
}


def quote_values(quote: InquiryQuote, language: str) -> dict[str, str]:
    """A quote's placeholders: its total and each line formatted for `language` (one line per
    item), and the validity as a sentence (empty when the quote has no end date)."""
    lines = [
        f"- {line['description']}: {format_money(Decimal(str(line['amount'])), quote.currency, language)}"
        for line in quote.lines
    ]
    valid_until = ""
    if quote.valid_until is not None:
        sentence = _VALID_UNTIL.get(base_language(language), _VALID_UNTIL["en"])
        valid_until = sentence.replace("{date}", format_date(quote.valid_until, language))
    return {
        "quote_amount": format_money(quote.amount, quote.currency, language),
        "quote_lines": "\n".join(lines),
        "quote_valid_until": valid_until,
    }


async def _inquiry_values(session: AsyncSession, inquiry: Inquiry, language: str) -> dict[str, str]:
    """The stay an inquiry asks about, as far as it is known (empty where it is not)."""
    place = await session.get(Property, inquiry.property_id) if inquiry.property_id else None
    return {
        "property_name": place.name if place else "",
        "check_in": format_date(inquiry.check_in, language) if inquiry.check_in else "",
        "check_out": format_date(inquiry.check_out, language) if inquiry.check_out else "",
    }


async def values_for(
    session: AsyncSession,
    *,
    keys: TenantKeys,
    key: str,
    language: str,
    company_name: str,
    guest: Guest,
    booking: Booking | None,
    payment: Payment | None = None,
    inquiry: Inquiry | None = None,
    quote: InquiryQuote | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every placeholder of `key`, filled from the guest, booking (or inquiry), property, payment
    and quote (`keys` open the property's check-in instructions)."""
    values: dict[str, str] = {
        "guest_name": guest.name,
        "guest_first_name": first_name(guest.name),
        "company_name": company_name,
    }
    if booking is not None:
        place = await session.get(Property, booking.property_id)
        values |= {
            "property_name": place.name if place else "",
            "property_address": (place.address or "") if place else "",
            "check_in_instructions": (CHECK_IN_INSTRUCTIONS.read(place, keys) or "") if place else "",
            "check_in": format_date(booking.check_in, language),
            "check_out": format_date(booking.check_out, language),
            "nights": str((booking.check_out - booking.check_in).days),
            "adults": str(booking.adults),
            "children": str(booking.children),
            "booking_reference": booking_reference(booking),
            "amount": format_money(booking.amount, booking.currency, language),
        }
        offered = placeholders_for(key)
        if "amount_due" in offered:
            due = max(booking.amount - await _amount_paid(session, booking), Decimal(0))
            values["amount_due"] = format_money(due, booking.currency, language)
    elif inquiry is not None:
        values |= await _inquiry_values(session, inquiry, language)
    if quote is not None:
        values |= quote_values(quote, language)
    if payment is not None:
        values["payment_amount"] = format_money(payment.amount, payment.currency, language)
        values["payment_method"] = payment.method
    values |= dict(extra or {})
    return {name: values.get(name, "") for name in placeholders_for(key)}
