"""GraphQL enums, exposing the model enums under their member names (WHATSAPP, CONFIRMED, …)."""

import strawberry

from hospes.models.tenant import (
    BookingSource,
    BookingStatus,
    Channel,
    CommunicationStatus,
    DeliveryStep,
    Direction,
    MessageClass,
    PaymentStatus,
    ScheduledStatus,
    ServiceRequestStatus,
    StaffRole,
)
from hospes.tenancy.company_settings import AccountCreation

for _enum in (
    BookingSource,
    BookingStatus,
    Channel,
    CommunicationStatus,
    DeliveryStep,
    Direction,
    MessageClass,
    PaymentStatus,
    ScheduledStatus,
    ServiceRequestStatus,
    StaffRole,
):
    strawberry.enum(_enum)
strawberry.enum(AccountCreation, description="Whether guests get accounts.")

__all__ = [
    "AccountCreation",
    "BookingSource",
    "BookingStatus",
    "Channel",
    "CommunicationStatus",
    "DeliveryStep",
    "Direction",
    "MessageClass",
    "PaymentStatus",
    "ScheduledStatus",
    "ServiceRequestStatus",
    "StaffRole",
]
