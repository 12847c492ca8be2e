"""The values a template's placeholders are filled with, formatted for the guest's language.

Every placeholder a key offers gets a value (empty when the message has nothing for it), so a
template that passed validation always renders."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.tenant import Booking, Guest, Payment, PaymentStatus, Property
from hospes.notifications.templates import format_date, format_money, placeholders_for
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
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every placeholder of `key`, filled from the guest, booking, property and payment (`keys`
    open the property's check-in instructions)."""
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
    if payment is not None:
        values["payment_amount"] = format_money(payment.amount, payment.currency, language)
        values["payment_method"] = payment.method
    values |= dict(extra or {})
    return {name: values.get(name, "") for name in placeholders_for(key)}
