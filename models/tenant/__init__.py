"""Tables of a tenant schema. They carry no schema name: each transaction's `search_path` is bound
to exactly one tenant schema (see `tenancy/database.py`), so the same statement serves every tenant.
One module per part of the domain; every table and enum is importable from here."""

from hospes.models.tenant.messages import (
    Channel,
    Communication,
    CommunicationEvent,
    CommunicationStatus,
    DeliveryStep,
    Direction,
    MessageClass,
    MessageTemplate,
    ProviderSettings,
    ScheduledMessage,
    ScheduledStatus,
)
from hospes.models.tenant.people import (
    AccountRegistration,
    AccountToken,
    AccountTokenPurpose,
    Guest,
    GuestAccount,
    GuestTally,
    StaffRole,
    StaffUser,
)
from hospes.models.tenant.records import AuditEvent, DataKey
from hospes.models.tenant.stays import (
    Booking,
    BookingSource,
    BookingStatus,
    Payment,
    PaymentStatus,
    Property,
    Service,
    ServiceRequest,
    ServiceRequestStatus,
)

__all__ = [
    "AccountRegistration",
    "AccountToken",
    "AccountTokenPurpose",
    "AuditEvent",
    "Booking",
    "BookingSource",
    "BookingStatus",
    "Channel",
    "Communication",
    "CommunicationEvent",
    "CommunicationStatus",
    "DataKey",
    "DeliveryStep",
    "Direction",
    "Guest",
    "GuestAccount",
    "GuestTally",
    "MessageClass",
    "MessageTemplate",
    "Payment",
    "PaymentStatus",
    "Property",
    "ProviderSettings",
    "ScheduledMessage",
    "ScheduledStatus",
    "Service",
    "ServiceRequest",
    "ServiceRequestStatus",
    "StaffRole",
    "StaffUser",
]
