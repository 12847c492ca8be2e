"""GraphQL enums, exposing the model enums under their member names (WHATSAPP, CONFIRMED, …), and
the enums of the API alone."""

from enum import Enum

import strawberry

from hospes.models.tenant import (
    BookingSource,
    BookingStatus,
    Channel,
    CommunicationStatus,
    DeliveryStep,
    Direction,
    InquiryActor,
    InquiryEventKind,
    InquirySource,
    InquiryStage,
    LostReason,
    MessageClass,
    PaymentStatus,
    ReminderStatus,
    ScheduledStatus,
    ServiceRequestStatus,
    StaffRole,
)
from hospes.tenancy.tenant_settings import AccountCreation

for _enum in (
    BookingSource,
    BookingStatus,
    Channel,
    CommunicationStatus,
    DeliveryStep,
    Direction,
    InquiryActor,
    InquiryEventKind,
    InquirySource,
    InquiryStage,
    LostReason,
    MessageClass,
    PaymentStatus,
    ReminderStatus,
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
    "InquiryActor",
    "InquiryEventKind",
    "InquirySource",
    "InquiryStage",
    "LostReason",
    "MessageClass",
    "PaymentStatus",
    "ReminderStatus",
    "ScheduledStatus",
    "ServiceRequestStatus",
    "StaffRole",
]


@strawberry.enum(description="How the customer list is ordered.")
class GuestOrderField(Enum):
    LAST_ACTIVITY_AT = "last_activity_at"
    REGISTERED_AT = "registered_at"
    NAME = "name"
    BOOKING_COUNT = "booking_count"


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"
