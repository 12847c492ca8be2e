"""Portal links: the credential in the link a guest receives. Every booking gets one when it is
created or confirmed (and each lifecycle message a new one); staff rotate or revoke them.

A link is `<portal_base_url>/<token>`; only the token's SHA-256 is stored, in `public.portal_token`.
The table is schema-qualified, so the tenant-bound session writes it in the booking's transaction;
the token's tenant is always the schema that session is bound to, never a separate argument."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow, zone_of
from hospes.models.public import PortalToken, Tenant
from hospes.models.tenant import Booking, Property
from hospes.tenancy import tokens
from hospes.tenancy.registry import TenantRef
from hospes.tenancy.tenant_settings import TenantSettings

# The tenant whose schema the session is bound to (`search_path` holds exactly that schema).
_SESSION_TENANT = (
    sa.select(col(Tenant.id)).where(col(Tenant.schema_name) == sa.func.current_schema()).scalar_subquery()
)
_TENANT_COLUMNS = tuple(Tenant.__table__.c)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PortalLink:
    """A link just issued. `token` exists nowhere else: it is shown once."""

    url: str
    token: str
    expires_at: datetime


def link_expiry(*, check_out: date, timezone: str, days_after_checkout: int) -> datetime:
    """The end of the check-out day at the property, plus `days_after_checkout` days."""
    end_of_checkout_day = datetime.combine(check_out + timedelta(days=1), time.min, tzinfo=zone_of(timezone))
    return end_of_checkout_day + timedelta(days=days_after_checkout)


async def _session_tenant(session: AsyncSession) -> TenantRef:
    row = (
        await session.execute(
            sa.select(*_TENANT_COLUMNS).where(col(Tenant.schema_name) == sa.func.current_schema())
        )
    ).one()
    return TenantRef.from_row(row)


async def revoke_links(session: AsyncSession, booking_id: uuid.UUID) -> int:
    """Revoke every live link of the booking (in the session's tenant); how many were live."""
    result = await session.execute(
        sa.update(PortalToken)
        .where(
            col(PortalToken.tenant_id) == _SESSION_TENANT,
            col(PortalToken.booking_id) == booking_id,
            col(PortalToken.revoked_at).is_(None),
        )
        .values(revoked_at=sa.func.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def issue_link(session: AsyncSession, booking: Booking) -> PortalLink | None:
    """Issue a link for the booking in the session's transaction. None when the portal period is
    already over (a stay entered long after it ended): such a link would be dead on arrival."""
    tenant = await _session_tenant(session)
    settings = TenantSettings.of(tenant)
    place = await session.get(Property, booking.property_id)
    expires_at = link_expiry(
        check_out=booking.check_out,
        timezone=place.timezone if place is not None else "UTC",
        days_after_checkout=settings.portal_expiry_days_after_checkout,
    )
    if expires_at <= utcnow():
        return None
    token = tokens.new_portal_token()
    await session.execute(
        sa.insert(PortalToken).values(
            token_hash=tokens.digest(token), tenant_id=tenant.id, booking_id=booking.id, expires_at=expires_at
        )
    )
    return PortalLink(
        url=f"{settings.portal_base_url.rstrip('/')}/{token}", token=token, expires_at=expires_at
    )
