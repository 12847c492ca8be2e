"""Request-scoped DataLoaders: one SQL statement per entity kind and nesting level, whatever the
size of the lists. Created per request (never shared), so no row crosses requests or tenants."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql import Executable
from sqlmodel import SQLModel, col
from strawberry.dataloader import DataLoader

from hospes.models.public import PortalToken
from hospes.models.tenant import (
    Booking,
    Communication,
    CommunicationEvent,
    Guest,
    GuestAccount,
    Inquiry,
    InquiryEvent,
    InquiryEventKind,
    InquiryQuote,
    InquiryReminder,
    Payment,
    Property,
    ScheduledMessage,
    Service,
    ServiceRequest,
    StaffUser,
)
from hospes.tenancy.registry import TenantRef

M = TypeVar("M", bound=SQLModel)
Keys = Sequence[uuid.UUID]


class Reader(Protocol):
    """What the loaders need of their request (the GraphQL context is one): its tenant, and its
    session's statements run one at a time. The context creates the loaders, never the reverse."""

    @property
    def tenant(self) -> TenantRef: ...

    async def scalars(self, statement: Executable) -> Sequence[Any]: ...

    async def rows(self, statement: Executable) -> Sequence[Any]: ...


def _by_id(ctx: Reader, model: type[M]) -> Callable[[Keys], Awaitable[list[M | None]]]:
    async def load(keys: Keys) -> list[M | None]:
        rows = await ctx.scalars(sa.select(model).where(sa.inspect(model).primary_key[0].in_(keys)))
        found = {row.id: row for row in rows}
        return [found.get(key) for key in keys]

    return load


def _children(
    ctx: Reader, model: type[M], parent: Any, *order_by: Any
) -> Callable[[Keys], Awaitable[list[list[M]]]]:
    """Load the children of many parents at once, in `order_by` within each parent."""

    async def load(keys: Keys) -> list[list[M]]:
        rows = await ctx.scalars(sa.select(model).where(parent.in_(keys)).order_by(*order_by))
        grouped: dict[uuid.UUID, list[M]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, parent.key)].append(row)
        return [grouped.get(key, []) for key in keys]

    return load


class Loaders:
    def __init__(self, ctx: Reader) -> None:
        self._ctx = ctx

    @cached_property
    def guest(self) -> DataLoader[uuid.UUID, Guest | None]:
        return DataLoader(_by_id(self._ctx, Guest))

    @cached_property
    def booking(self) -> DataLoader[uuid.UUID, Booking | None]:
        return DataLoader(_by_id(self._ctx, Booking))

    @cached_property
    def property(self) -> DataLoader[uuid.UUID, Property | None]:
        return DataLoader(_by_id(self._ctx, Property))

    @cached_property
    def service(self) -> DataLoader[uuid.UUID, Service | None]:
        return DataLoader(_by_id(self._ctx, Service))

    @cached_property
    def payment(self) -> DataLoader[uuid.UUID, Payment | None]:
        return DataLoader(_by_id(self._ctx, Payment))

    @cached_property
    def communication(self) -> DataLoader[uuid.UUID, Communication | None]:
        return DataLoader(_by_id(self._ctx, Communication))

    @cached_property
    def service_request(self) -> DataLoader[uuid.UUID, ServiceRequest | None]:
        return DataLoader(_by_id(self._ctx, ServiceRequest))

    @cached_property
    def inquiry(self) -> DataLoader[uuid.UUID, Inquiry | None]:
        return DataLoader(_by_id(self._ctx, Inquiry))

    @cached_property
    def inquiry_quote(self) -> DataLoader[uuid.UUID, InquiryQuote | None]:
        return DataLoader(_by_id(self._ctx, InquiryQuote))

    @cached_property
    def inquiry_reminder(self) -> DataLoader[uuid.UUID, InquiryReminder | None]:
        return DataLoader(_by_id(self._ctx, InquiryReminder))

    @cached_property
    def inquiries_of_guest(self) -> DataLoader[uuid.UUID, list[Inquiry]]:
        return DataLoader(
            _children(
                self._ctx,
                Inquiry,
                col(Inquiry.guest_id),
                col(Inquiry.received_at).desc(),
                col(Inquiry.id).desc(),
            )
        )

    @cached_property
    def communications_of_inquiry(self) -> DataLoader[uuid.UUID, list[Communication]]:
        return DataLoader(
            _children(
                self._ctx,
                Communication,
                col(Communication.inquiry_id),
                col(Communication.created_at).desc(),
                col(Communication.id).desc(),
            )
        )

    @cached_property
    def history_of_inquiry(self) -> DataLoader[uuid.UUID, list[InquiryEvent]]:
        """An inquiry's history lines, oldest first; its `received` line leads the lines it shares
        a time with (the first message came with it)."""
        return DataLoader(
            _children(
                self._ctx,
                InquiryEvent,
                col(InquiryEvent.inquiry_id),
                col(InquiryEvent.at).asc(),
                sa.case((col(InquiryEvent.kind) == InquiryEventKind.RECEIVED.value, 0), else_=1),
                col(InquiryEvent.id).asc(),
            )
        )

    @cached_property
    def has_account(self) -> DataLoader[uuid.UUID, bool]:
        ctx = self._ctx

        async def load(keys: Keys) -> list[bool]:
            rows = await ctx.scalars(
                sa.select(col(GuestAccount.guest_id)).where(col(GuestAccount.guest_id).in_(keys))
            )
            with_account = set(rows)
            return [key in with_account for key in keys]

        return DataLoader(load)

    @cached_property
    def portal_link_active(self) -> DataLoader[uuid.UUID, bool]:
        """Whether a booking has a link that works now (not revoked, not expired)."""
        ctx = self._ctx

        async def load(keys: Keys) -> list[bool]:
            rows = await ctx.scalars(
                sa.select(col(PortalToken.booking_id))
                .distinct()
                .where(
                    col(PortalToken.tenant_id) == ctx.tenant.id,
                    col(PortalToken.booking_id).in_(keys),
                    col(PortalToken.revoked_at).is_(None),
                    col(PortalToken.expires_at) > sa.func.now(),
                )
            )
            live = set(rows)
            return [key in live for key in keys]

        return DataLoader(load)

    @cached_property
    def staff_user(self) -> DataLoader[uuid.UUID, StaffUser | None]:
        return DataLoader(_by_id(self._ctx, StaffUser))

    @cached_property
    def bookings_of_guest(self) -> DataLoader[uuid.UUID, list[Booking]]:
        return DataLoader(
            _children(
                self._ctx,
                Booking,
                col(Booking.guest_id),
                col(Booking.created_at).desc(),
                col(Booking.id).desc(),
            )
        )

    @cached_property
    def service_requests_of_guest(self) -> DataLoader[uuid.UUID, list[ServiceRequest]]:
        return DataLoader(
            _children(
                self._ctx,
                ServiceRequest,
                col(ServiceRequest.guest_id),
                col(ServiceRequest.created_at).desc(),
                col(ServiceRequest.id).desc(),
            )
        )

    @cached_property
    def communications_of_guest(self) -> DataLoader[uuid.UUID, list[Communication]]:
        return DataLoader(
            _children(
                self._ctx,
                Communication,
                col(Communication.guest_id),
                col(Communication.created_at).desc(),
                col(Communication.id).desc(),
            )
        )

    @cached_property
    def payments_of_booking(self) -> DataLoader[uuid.UUID, list[Payment]]:
        return DataLoader(
            _children(
                self._ctx,
                Payment,
                col(Payment.booking_id),
                col(Payment.created_at).desc(),
                col(Payment.id).desc(),
            )
        )

    @cached_property
    def service_requests_of_booking(self) -> DataLoader[uuid.UUID, list[ServiceRequest]]:
        return DataLoader(
            _children(
                self._ctx,
                ServiceRequest,
                col(ServiceRequest.booking_id),
                col(ServiceRequest.created_at).desc(),
                col(ServiceRequest.id).desc(),
            )
        )

    @cached_property
    def communications_of_booking(self) -> DataLoader[uuid.UUID, list[Communication]]:
        return DataLoader(
            _children(
                self._ctx,
                Communication,
                col(Communication.booking_id),
                col(Communication.created_at).desc(),
                col(Communication.id).desc(),
            )
        )

    @cached_property
    def timeline_of_communication(self) -> DataLoader[uuid.UUID, list[CommunicationEvent]]:
        return DataLoader(
            _children(
                self._ctx,
                CommunicationEvent,
                col(CommunicationEvent.communication_id),
                col(CommunicationEvent.at).asc(),
                col(CommunicationEvent.id).asc(),
            )
        )

    @cached_property
    def scheduled_of_booking(self) -> DataLoader[uuid.UUID, list[ScheduledMessage]]:
        return DataLoader(
            _children(
                self._ctx,
                ScheduledMessage,
                col(ScheduledMessage.booking_id),
                col(ScheduledMessage.due_at).asc(),
                col(ScheduledMessage.id).asc(),
            )
        )

    @cached_property
    def quotes_of_inquiry(self) -> DataLoader[uuid.UUID, list[InquiryQuote]]:
        return DataLoader(
            _children(
                self._ctx,
                InquiryQuote,
                col(InquiryQuote.inquiry_id),
                col(InquiryQuote.created_at).desc(),
                col(InquiryQuote.id).desc(),
            )
        )

    @cached_property
    def reminders_of_inquiry(self) -> DataLoader[uuid.UUID, list[InquiryReminder]]:
        return DataLoader(
            _children(
                self._ctx,
                InquiryReminder,
                col(InquiryReminder.inquiry_id),
                col(InquiryReminder.created_at).desc(),
                col(InquiryReminder.sequence).asc(),
            )
        )

    @cached_property
    def payments_of_guest(self) -> DataLoader[uuid.UUID, list[Payment]]:
        ctx = self._ctx

        async def load(keys: Keys) -> list[list[Payment]]:
            rows = await ctx.rows(
                sa.select(col(Booking.guest_id), Payment)
                .join(Booking, col(Booking.id) == col(Payment.booking_id))
                .where(col(Booking.guest_id).in_(keys))
                .order_by(col(Payment.created_at).desc(), col(Payment.id).desc())
            )
            grouped: dict[uuid.UUID, list[Payment]] = defaultdict(list)
            for guest_id, payment in rows:
                grouped[guest_id].append(payment)
            return [grouped.get(key, []) for key in keys]

        return DataLoader(load)


async def existing(loader: DataLoader[uuid.UUID, M | None], key: uuid.UUID) -> M:
    """Load a row a foreign key guarantees; its absence is a broken invariant, not a user error."""
    row = await loader.load(key)
    if row is None:
        raise LookupError(f"row {key} referenced by a foreign key is missing")
    return row
