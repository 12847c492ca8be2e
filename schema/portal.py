"""The guest-portal lane: `portal` and `portalRequestService` for the holder of a link
(`X-Portal-Token`), `issuePortalLink` and `revokePortalLink` for staff.

The portal has types of its own, built field by field from the rows: nothing of the guest record
(contact, notes, consent), of other bookings or of other guests can be reached from them, whatever
fields the staff types gain later."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry

from hospes.models.tenant import Booking as BookingRow
from hospes.models.tenant import Payment as PaymentRow
from hospes.models.tenant import Property as PropertyRow
from hospes.models.tenant import Service as ServiceRow
from hospes.models.tenant import ServiceRequest as ServiceRequestRow
from hospes.resolvers import portal
from hospes.resolvers.context import Info
from hospes.resolvers.loaders import existing
from hospes.resolvers.permissions import PORTAL_ONLY, STAFF_ONLY
from hospes.schema.bookings import Booking
from hospes.schema.enums import BookingStatus, PaymentStatus, ServiceRequestStatus
from hospes.schema.errors import UserError
from hospes.schema.ids import encode_id
from hospes.services.rejections import Rejection
from hospes.tenancy.encrypted_columns import VILLA_GUIDE


@strawberry.type(description="A trip service the guest may request.")
class PortalService:
    id: strawberry.ID
    name: str
    description: str | None
    price: Decimal
    currency: str

    @classmethod
    def from_row(cls, row: ServiceRow) -> PortalService:
        return cls(
            id=strawberry.ID(encode_id("Service", row.id)),
            name=row.name,
            description=row.description,
            price=row.price,
            currency=row.currency,
        )


@strawberry.type(description="A service requested for the stay (staff notes stay out of the portal).")
class PortalServiceRequest:
    id: strawberry.ID
    date: date
    people: int
    price: Decimal
    currency: str
    status: ServiceRequestStatus
    service_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: ServiceRequestRow) -> PortalServiceRequest:
        return cls(
            id=strawberry.ID(encode_id("ServiceRequest", row.id)),
            date=row.service_date,
            people=row.people,
            price=row.price,
            currency=row.currency,
            status=ServiceRequestStatus(row.status),
            service_pk=row.service_id,
        )

    @strawberry.field
    async def service(self, info: Info) -> PortalService:
        return PortalService.from_row(await existing(info.context.loaders.service, self.service_pk))


@strawberry.type
class PortalPayment:
    amount: Decimal
    currency: str
    status: PaymentStatus
    paid_at: datetime | None

    @classmethod
    def from_row(cls, row: PaymentRow) -> PortalPayment:
        return cls(
            amount=row.amount, currency=row.currency, status=PaymentStatus(row.status), paid_at=row.paid_at
        )


@strawberry.type
class PortalProperty:
    name: str
    address: str | None
    timezone: str
    villa_guide: str | None
    check_in_instructions: str | None = strawberry.field(
        description="Shown from a few days before arrival (a company setting); null before."
    )

    @classmethod
    def of(
        cls, row: PropertyRow, *, villa_guide: str | None, check_in_instructions: str | None
    ) -> PortalProperty:
        return cls(
            name=row.name,
            address=row.address,
            timezone=row.timezone,
            villa_guide=villa_guide,
            check_in_instructions=check_in_instructions,
        )


@strawberry.type(description="The booking the link was issued for.")
class PortalBooking:
    id: strawberry.ID
    check_in: date
    check_out: date
    adults: int
    children: int
    status: BookingStatus
    amount: Decimal
    currency: str
    row: strawberry.Private[BookingRow]

    @classmethod
    def from_row(cls, row: BookingRow) -> PortalBooking:
        return cls(
            id=strawberry.ID(encode_id("Booking", row.id)),
            check_in=row.check_in,
            check_out=row.check_out,
            adults=row.adults,
            children=row.children,
            status=BookingStatus(row.status),
            amount=row.amount,
            currency=row.currency,
            row=row,
        )

    @strawberry.field
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @strawberry.field
    async def property(self, info: Info) -> PortalProperty:
        place = await existing(info.context.loaders.property, self.row.property_id)
        instructions = await portal.check_in_instructions(info.context, self.row, place)
        guide = await info.context.decrypt(VILLA_GUIDE, place)
        return PortalProperty.of(place, villa_guide=guide, check_in_instructions=instructions)

    @strawberry.field(description="Payments on this booking, newest first.")
    async def payments(self, info: Info) -> list[PortalPayment]:
        rows = await info.context.loaders.payments_of_booking.load(self.row.id)
        return [PortalPayment.from_row(row) for row in rows]

    @strawberry.field(description="Services requested for this stay, newest first.")
    async def service_requests(self, info: Info) -> list[PortalServiceRequest]:
        rows = await info.context.loaders.service_requests_of_booking.load(self.row.id)
        return [PortalServiceRequest.from_row(row) for row in rows]

    @strawberry.field(description="Sum of the paid payments.")
    async def amount_paid(self, info: Info) -> Decimal:
        return portal.amount_paid(await info.context.loaders.payments_of_booking.load(self.row.id))

    @strawberry.field(description="What remains to be paid (never negative).")
    async def amount_due(self, info: Info) -> Decimal:
        return max(self.amount - await self.amount_paid(info), Decimal("0.00"))


@strawberry.type(description="What a guest-portal link shows: its booking and the services on offer.")
class Portal:
    row: strawberry.Private[BookingRow]

    @strawberry.field
    def booking(self) -> PortalBooking:
        return PortalBooking.from_row(self.row)

    @strawberry.field(description="The active trip-services catalogue, by name.")
    async def services(self, info: Info) -> list[PortalService]:
        return [PortalService.from_row(row) for row in await portal.active_services(info.context)]

    @strawberry.field(
        description="For a greeting: the first name of who stays (the booker, unless booked for someone)."
    )
    async def guest_first_name(self, info: Info) -> str | None:
        return await portal.guest_first_name(info.context, self.row)


@strawberry.input
class IssuePortalLinkInput:
    booking_id: strawberry.ID


@strawberry.input
class RevokePortalLinkInput:
    booking_id: strawberry.ID


@strawberry.input
class PortalRequestServiceInput:
    service_id: strawberry.ID
    date: date
    people: int = 1
    notes: str | None = None


@strawberry.type
class IssuePortalLinkPayload:
    url: str | None = strawberry.field(description="The new link; earlier links of the booking stop working.")
    token: str | None = strawberry.field(description="The link's token, shown this once.")
    expires_at: datetime | None
    errors: list[UserError]


@strawberry.type
class RevokePortalLinkPayload:
    booking: Booking | None
    errors: list[UserError]


@strawberry.type
class PortalRequestServicePayload:
    service_request: PortalServiceRequest | None
    errors: list[UserError]


@strawberry.type
class PortalQuery:
    @strawberry.field(permission_classes=[PORTAL_ONLY], description="The link's booking (X-Portal-Token).")
    async def portal(self, info: Info) -> Portal:
        return Portal(row=await portal.portal_booking(info.context))


@strawberry.type
class PortalMutation:
    @strawberry.mutation(
        permission_classes=[STAFF_ONLY], description="A new link; the old ones stop working."
    )
    async def issue_portal_link(self, info: Info, input: IssuePortalLinkInput) -> IssuePortalLinkPayload:
        outcome = await portal.issue_portal_link(info.context, booking_id=input.booking_id)
        if isinstance(outcome, Rejection):
            return IssuePortalLinkPayload(url=None, token=None, expires_at=None, errors=outcome.errors)
        return IssuePortalLinkPayload(
            url=outcome.url, token=outcome.token, expires_at=outcome.expires_at, errors=[]
        )

    @strawberry.mutation(permission_classes=[STAFF_ONLY], description="Ends every link of the booking.")
    async def revoke_portal_link(self, info: Info, input: RevokePortalLinkInput) -> RevokePortalLinkPayload:
        outcome = await portal.revoke_portal_link(info.context, booking_id=input.booking_id)
        if isinstance(outcome, Rejection):
            return RevokePortalLinkPayload(booking=None, errors=outcome.errors)
        return RevokePortalLinkPayload(booking=Booking.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[PORTAL_ONLY], description="Request a trip service for the stay.")
    async def portal_request_service(
        self, info: Info, input: PortalRequestServiceInput
    ) -> PortalRequestServicePayload:
        outcome = await portal.request_service(
            info.context, service_id=input.service_id, day=input.date, people=input.people, notes=input.notes
        )
        if isinstance(outcome, Rejection):
            return PortalRequestServicePayload(service_request=None, errors=outcome.errors)
        return PortalRequestServicePayload(service_request=PortalServiceRequest.from_row(outcome), errors=[])
