"""`Guest.history`: one chronological list of events sharing an `at` time.

`HistoryEvent` is an interface rather than a union: a union has no fields, and clients ask for
`node { __typename at ... on BookingEvent { … } }`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from hospes.resolvers.context import Info
from hospes.resolvers.history import Entry
from hospes.resolvers.loaders import existing
from hospes.schema.bookings import Booking
from hospes.schema.catalogue import ServiceRequest
from hospes.schema.communications import Communication
from hospes.schema.inquiries import Inquiry
from hospes.schema.pagination import PageInfo
from hospes.schema.payments import Payment


@strawberry.interface(description="Something that happened in a guest's history.")
class HistoryEvent:
    at: datetime


@strawberry.type(description="A booking was made (its current status shows what became of it).")
class BookingEvent(HistoryEvent):
    booking: Booking


@strawberry.type(description="An inquiry was received (its stage shows what became of it).")
class InquiryEvent(HistoryEvent):
    inquiry: Inquiry


@strawberry.type(description="A message went out or came in.")
class MessageEvent(HistoryEvent):
    communication: Communication


@strawberry.type(description="A trip service was requested.")
class ServiceRequestEvent(HistoryEvent):
    service_request: ServiceRequest


@strawberry.type(description="A payment was recorded.")
class PaymentEvent(HistoryEvent):
    payment: Payment


@strawberry.type
class HistoryEdge:
    cursor: str
    node: HistoryEvent


@strawberry.type
class HistoryConnection:
    edges: list[HistoryEdge]
    page_info: PageInfo


async def event_of(info: Info, entry: Entry) -> HistoryEvent:
    loaders = info.context.loaders
    if entry.kind == "booking":
        return BookingEvent(at=entry.at, booking=Booking.from_row(await existing(loaders.booking, entry.pk)))
    if entry.kind == "inquiry":
        return InquiryEvent(at=entry.at, inquiry=Inquiry.from_row(await existing(loaders.inquiry, entry.pk)))
    if entry.kind == "message":
        message = await existing(loaders.communication, entry.pk)
        return MessageEvent(at=entry.at, communication=Communication.from_row(message))
    if entry.kind == "service_request":
        request = await existing(loaders.service_request, entry.pk)
        return ServiceRequestEvent(at=entry.at, service_request=ServiceRequest.from_row(request))
    return PaymentEvent(at=entry.at, payment=Payment.from_row(await existing(loaders.payment, entry.pk)))
