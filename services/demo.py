"""The demo company that `hospes dev` creates on first start: a staff login and a small, realistic
guest graph (properties, services, guests, bookings, payments, service requests, messages)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import (
    Booking,
    BookingSource,
    BookingStatus,
    Channel,
    Communication,
    CommunicationStatus,
    Direction,
    Guest,
    Payment,
    Property,
    Service,
    ServiceRequest,
    ServiceRequestStatus,
    StaffRole,
)
from hospes.services import guest_fields
from hospes.services.rejections import Rejection
from hospes.services.staff import create_staff_user
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.database import TenantSessions
from hospes.tenancy.encrypted_columns import CHECK_IN_INSTRUCTIONS, MESSAGE_BODY, MESSAGE_SUBJECT, VILLA_GUIDE
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.passwords import Passwords
from hospes.tenancy.provisioning import create_tenant, drop_tenant
from hospes.tenancy.registry import TenantRef

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Villas"
DEMO_EMAIL = "owner@demo.test"
DEMO_PASSWORD = "hospes-demo-2026"  # noqa: S105  (printed by `hospes dev`; demo only)

_GUESTS = [
    ("Anna Hemm", "anna.hemm@example.com", "+34600111222", "ES", "es", Channel.WHATSAPP),
    ("Ben Carter", "ben.carter@example.com", "+14155550123", "US", "en", Channel.EMAIL),
    ("Lucía Morales", "lucia.morales@example.com", "+50688887777", "CR", "es", Channel.WHATSAPP),
    ("Jonas Becker", "jonas.becker@example.com", "+4915112345678", "DE", "de", Channel.EMAIL),
    ("Chloé Martin", "chloe.martin@example.com", "+33612345678", "FR", "fr", None),
    ("Sam Okafor", None, "+447700900123", "GB", "en", Channel.SMS),
    ("Mei Tanaka", "mei.tanaka@example.com", None, "JP", "ja", Channel.EMAIL),
    ("Diego Rojas", "diego.rojas@example.com", "+50670001111", "CR", "es", None),
]


def _message(keys: TenantKeys, *, subject: str | None, body: str, **fields: Any) -> Communication:
    communication = Communication(**fields)
    MESSAGE_SUBJECT.write(communication, keys, subject)
    MESSAGE_BODY.write(communication, keys, body)
    return communication


async def _seed(session: AsyncSession, keys: TenantKeys, *, today: date) -> None:
    properties = [
        Property(
            name="Casa del Sol",
            address="Playa Tamarindo, Guanacaste, Costa Rica",
            timezone="America/Costa_Rica",
        ),
        Property(
            name="Villa Azul",
            address="Calle del Mar 12, Altea, Spain",
            timezone="Europe/Madrid",
        ),
        Property(name="Ocean Loft", address="Nosara, Costa Rica", timezone="America/Costa_Rica"),
    ]
    VILLA_GUIDE.write(
        properties[0],
        keys,
        "Welcome to Casa del Sol!\n\nWi-Fi: CasaDelSol / sunshine2026\nPool towels are in the cabana.",
    )
    VILLA_GUIDE.write(properties[1], keys, "The beach is a five-minute walk down the hill.")
    CHECK_IN_INSTRUCTIONS.write(properties[0], keys, "Key box at the gate, code 4821. Check-in from 15:00.")
    CHECK_IN_INSTRUCTIONS.write(
        properties[1], keys, "Our host Marta meets you at the door; call +34 600 000 000 on arrival."
    )
    services = [
        Service(
            name="Zip-line tour",
            description="Canopy tour, 12 platforms.",
            price=Decimal("85.00"),
            currency="USD",
        ),
        Service(
            name="Airport transfer",
            description="Private van from LIR airport.",
            price=Decimal("60.00"),
            currency="USD",
        ),
        Service(
            name="Private chef dinner",
            description="Four courses at the villa.",
            price=Decimal("150.00"),
            currency="USD",
        ),
    ]
    session.add_all([*properties, *services])
    await session.flush()
    for index, (name, email, phone, country, language, channel) in enumerate(_GUESTS):
        guest = Guest(
            country=country,
            language=language,
            preferred_channel=channel.value if channel else None,
            sms_opt_in=channel is Channel.SMS,
            marketing_email_consent=index % 3 == 0,
        )
        guest_fields.set_name(guest, name)
        guest_fields.set_email(guest, keys, email)
        guest_fields.set_phone(guest, keys, phone)
        session.add(guest)
        await session.flush()
        for stay in range(1 + index % 3):
            check_in = today + timedelta(days=30 * stay - 45 + 7 * index)
            nights = 3 + (index + stay) % 5
            booking = Booking(
                property_id=properties[(index + stay) % len(properties)].id,
                guest_id=guest.id,
                check_in=check_in,
                check_out=check_in + timedelta(days=nights),
                adults=2,
                children=index % 2,
                amount=Decimal(220 * nights),
                currency="USD",
                status=(BookingStatus.COMPLETED if check_in < today else BookingStatus.CONFIRMED).value,
                source=(BookingSource.OTA if stay == 1 else BookingSource.MANUAL).value,
                channel="airbnb" if stay == 1 else None,
                external_id=f"HM{1000 + 10 * index + stay}" if stay == 1 else None,
            )
            session.add(booking)
            guest.booking_count += 1
            await session.flush()
            session.add(
                Payment(
                    booking_id=booking.id,
                    amount=booking.amount / 2,
                    currency="USD",
                    method="card",
                    paid_at=datetime.now(UTC),
                )
            )
            if stay == 0:
                session.add(
                    ServiceRequest(
                        guest_id=guest.id,
                        booking_id=booking.id,
                        service_id=services[index % len(services)].id,
                        service_date=booking.check_in + timedelta(days=1),
                        people=2,
                        price=services[index % len(services)].price * 2,
                        currency="USD",
                        status=ServiceRequestStatus.CONFIRMED.value,
                    )
                )
            session.add(
                _message(
                    keys,
                    subject="Your booking is confirmed",
                    body=f"Hi {name.split()[0]}, your stay from {booking.check_in} is confirmed.",
                    guest_id=guest.id,
                    booking_id=booking.id,
                    channel=(channel or Channel.EMAIL).value,
                    direction=Direction.OUT.value,
                    template_key="booking_confirmed",
                    status=CommunicationStatus.DELIVERED.value,
                    sent_at=datetime.now(UTC),
                )
            )
        session.add(
            _message(
                keys,
                subject=None,
                body="Thank you! Can we book the zip-line tour for two?",
                guest_id=guest.id,
                channel=(channel or Channel.EMAIL).value,
                direction=Direction.IN.value,
                status=CommunicationStatus.DELIVERED.value,
            )
        )


async def seed_demo(
    sync_engine: Engine, sessions: TenantSessions, passwords: Passwords, keyring: Keyring
) -> TenantRef:
    """Create the demo tenant with its owner and sample data. Call only when it does not exist."""
    tenant = create_tenant(sync_engine, slug=DEMO_SLUG, name=DEMO_NAME, settings={"default_region": "CR"})
    try:
        async with sessions.open(tenant.schema_name) as session, session.begin():
            user = await create_staff_user(
                session,
                passwords=passwords,
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
                role=StaffRole.OWNER,
                name="Demo Owner",
            )
            if isinstance(user, Rejection):
                raise RuntimeError(f"demo owner rejected: {user.errors}")
            await _seed(session, await keyring.keys(session, tenant.schema_name), today=date.today())
    except BaseException:
        drop_tenant(sync_engine, slug=DEMO_SLUG)  # a half-seeded demo would never be retried
        raise
    return tenant
