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

__all__ = [
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
