"""GraphQL enums, exposing the model enums under their member names (WHATSAPP, CONFIRMED, …)."""

import strawberry

from models.tenant import (
    BookingSource,
    BookingStatus,
    Channel,
    CommunicationStatus,
    Direction,
    MessageClass,
    PaymentStatus,
    ServiceRequestStatus,
    StaffRole,
)

for _enum in (
    BookingSource,
    BookingStatus,
    Channel,
    CommunicationStatus,
    Direction,
    MessageClass,
    PaymentStatus,
    ServiceRequestStatus,
    StaffRole,
):
    strawberry.enum(_enum)

__all__ = [
    "BookingSource",
    "BookingStatus",
    "Channel",
    "CommunicationStatus",
    "Direction",
    "MessageClass",
    "PaymentStatus",
    "ServiceRequestStatus",
    "StaffRole",
]
