"""SQLModel tables: `public` (the tenant registry) and the per-tenant domain; Alembic migrations."""

from hospes.models.public import Tenant
from hospes.models.tenant import (
    AuditEvent,
    Booking,
    Communication,
    Guest,
    Payment,
    Property,
    Service,
    ServiceRequest,
    StaffUser,
)

__all__ = [
    "AuditEvent",
    "Booking",
    "Communication",
    "Guest",
    "Payment",
    "Property",
    "Service",
    "ServiceRequest",
    "StaffUser",
    "Tenant",
]
