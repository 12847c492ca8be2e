"""The messages of a stay: confirmation and receipt at once; pre-arrival, check-in instructions and
post-stay at due times in the property's timezone, kept in step with the booking (a cancellation
cancels them, new dates move them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow, zone_of
from hospes.models.public import OutboxKind
from hospes.models.tenant import (
    Booking,
    BookingStatus,
    Communication,
    Guest,
    Payment,
    Property,
    ScheduledMessage,
    ScheduledStatus,
)
from hospes.notifications import outgoing
from hospes.tasks import outbox
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.registry import TenantRef
from hospes.tenancy.tenant_settings import TenantSettings


@dataclass(frozen=True)
class Due:
    key: str
    due_at: datetime


def switched_on(settings: TenantSettings, key: str) -> bool:
    """Whether the company sends the lifecycle message `key`."""
    switches = {
        "pre_arrival": settings.send_pre_arrival,
        "check_in_instructions": settings.send_check_in_instructions,
        "post_stay": settings.send_post_stay,
    }
    return switches.get(key, False)


def plan(*, check_in: date, check_out: date, timezone: str, tenant: TenantRef, now: datetime) -> list[Due]:
    """The lifecycle messages a confirmed booking should get, and when. A message whose moment has
    passed is left out, except check-in instructions, which go at once while check-in is still ahead
    (a last-minute booking still needs them)."""
    settings = TenantSettings.of(tenant)
    zone = zone_of(timezone)
    at_hour = time(hour=settings.lifecycle_send_hour)

    def local(day: date) -> datetime:
        return datetime.combine(day, at_hour, tzinfo=zone)

    planned: list[Due] = []
    if switched_on(settings, "pre_arrival") and settings.pre_arrival_days_before > 0:
        due = local(check_in - timedelta(days=settings.pre_arrival_days_before))
        if due > now:
            planned.append(Due("pre_arrival", due))
    if switched_on(settings, "check_in_instructions"):
        due = local(check_in - timedelta(days=settings.check_in_message_days_before))
        check_in_starts = datetime.combine(check_in, time.max, tzinfo=zone)
        if now < check_in_starts:
            planned.append(Due("check_in_instructions", max(due, now)))
    if switched_on(settings, "post_stay"):
        due = local(check_out + timedelta(days=settings.post_stay_days_after))
        if due > now:
            planned.append(Due("post_stay", due))
    return planned


async def schedule(
    session: AsyncSession, *, tenant: TenantRef, booking: Booking, lease_seconds: float
) -> None:
    """Bring the booking's scheduled messages in line with its status and dates: create what is
    missing, move what changed, cancel what no longer applies. Messages already sent stay sent."""
    existing = {
        row.template_key: row
        for row in (
            await session.scalars(
                sa.select(ScheduledMessage)
                .where(col(ScheduledMessage.booking_id) == booking.id)
                .with_for_update()
            )
        ).all()
    }
    wanted: dict[str, datetime] = {}
    if booking.status == BookingStatus.CONFIRMED.value:
        place = await session.get(Property, booking.property_id)
        for due in plan(
            check_in=booking.check_in,
            check_out=booking.check_out,
            timezone=place.timezone if place else "UTC",
            tenant=tenant,
            now=utcnow(),
        ):
            wanted[due.key] = due.due_at
    for key, row in existing.items():
        if row.status == ScheduledStatus.SCHEDULED.value and key not in wanted:
            row.status = ScheduledStatus.CANCELLED.value
            row.updated_at = utcnow()
            await outbox.done(session, tenant_id=tenant.id, kind=OutboxKind.LIFECYCLE, ref_id=row.id)
    for key, due_at in wanted.items():
        found = existing.get(key)
        if found is not None and found.status == ScheduledStatus.DONE.value:
            continue
        if found is None:
            row = ScheduledMessage(id=uuid.uuid4(), booking_id=booking.id, template_key=key, due_at=due_at)
            session.add(row)
            await session.flush()
        else:
            row = found
            row.due_at, row.status, row.updated_at = due_at, ScheduledStatus.SCHEDULED.value, utcnow()
        await outbox.put(
            session,
            tenant_id=tenant.id,
            kind=OutboxKind.LIFECYCLE,
            ref_id=row.id,
            due_at=due_at,
            lease_seconds=lease_seconds,
        )


async def queue_for_booking(
    session: AsyncSession,
    *,
    tenant: TenantRef,
    keys: TenantKeys,
    booking: Booking,
    guest: Guest,
    key: str,
    portal_link: str | None,
    lease_seconds: float,
) -> Communication:
    """Queue the booking's `key` message to its guest, carrying its portal link."""
    return await outgoing.queue(
        session,
        tenant=tenant,
        keys=keys,
        draft=outgoing.Draft(
            guest=guest, booking=booking, template_key=key, extra={"portal_link": portal_link or ""}
        ),
        lease_seconds=lease_seconds,
    )


async def booking_confirmed(
    session: AsyncSession,
    *,
    tenant: TenantRef,
    keys: TenantKeys,
    booking: Booking,
    guest: Guest,
    portal_link: str | None,
    lease_seconds: float,
) -> None:
    """A booking became confirmed: the confirmation (with its portal link) and the stay's schedule."""
    if TenantSettings.of(tenant).send_booking_confirmed:
        await queue_for_booking(
            session,
            tenant=tenant,
            keys=keys,
            booking=booking,
            guest=guest,
            key="booking_confirmed",
            portal_link=portal_link,
            lease_seconds=lease_seconds,
        )
    await schedule(session, tenant=tenant, booking=booking, lease_seconds=lease_seconds)


async def payment_recorded(
    session: AsyncSession,
    *,
    tenant: TenantRef,
    keys: TenantKeys,
    booking: Booking,
    payment: Payment,
    lease_seconds: float,
) -> None:
    """A paid payment: the receipt."""
    if not TenantSettings.of(tenant).send_payment_receipt:
        return
    guest = await session.get(Guest, booking.guest_id)
    if guest is None:
        return
    await outgoing.queue(
        session,
        tenant=tenant,
        keys=keys,
        draft=outgoing.Draft(guest=guest, booking=booking, payment=payment, template_key="payment_receipt"),
        lease_seconds=lease_seconds,
    )
