"""The rows of a realistic guest graph for the benches, generated in Python (bench.seed writes them).

Client-side UUIDs let children point at their parents without a round trip; a given seed always
builds the same rows (except the owner's password hash).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hospes.services.guest_fields import encrypted_contact, name_fields
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import (
    CHECK_IN_INSTRUCTIONS,
    MESSAGE_BODY,
    MESSAGE_SUBJECT,
    PAYMENT_REFERENCE,
    SERVICE_REQUEST_NOTES,
    VILLA_GUIDE,
)

BOOKINGS_PER_GUEST = 5


PAYMENTS_PER_BOOKING = 2


COMMUNICATIONS_PER_GUEST = 10


_FIRST = (
    "Anna", "Ben", "Lucía", "Jonas", "Chloé", "Sam", "Mei", "Diego", "Olivia", "Mateo", "Emma", "Noah",
    "Sofía", "Liam", "Hanna", "Lukas", "Camille", "Hugo", "Aiko", "Kenji", "Priya", "Arjun", "Fatima",
    "Omar", "Elena", "Marco", "Ingrid", "Erik", "Zoe", "Finn",
)  # fmt: skip


_LAST = (
    "Hemm", "Carter", "Morales", "Becker", "Martin", "Okafor", "Tanaka", "Rojas", "Smith", "García",
    "Müller", "Dubois", "Rossi", "Jensen", "Kowalski", "Silva", "Nakamura", "Patel", "Haddad", "Novak",
    "Lindqvist", "O'Brien", "van Dijk", "Fernández", "Schmidt",
)  # fmt: skip


# (country, language, E.164 prefix)
_LOCALES = (
    ("ES", "es", "+346"), ("US", "en", "+1415"), ("CR", "es", "+5068"), ("DE", "de", "+49151"),
    ("FR", "fr", "+336"), ("GB", "en", "+447"), ("JP", "ja", "+8190"), ("IT", "it", "+393"),
    ("NL", "nl", "+316"), ("SE", "sv", "+4670"),
)  # fmt: skip


_PROPERTIES = (
    ("Casa del Sol", "Playa Tamarindo, Guanacaste, Costa Rica", "America/Costa_Rica"),
    ("Villa Azul", "Calle del Mar 12, Altea, Spain", "Europe/Madrid"),
    ("Ocean Loft", "Nosara, Costa Rica", "America/Costa_Rica"),
    ("Finca Las Palmas", "Santa Teresa, Puntarenas, Costa Rica", "America/Costa_Rica"),
    ("Mas des Oliviers", "Route de Gordes, Provence, France", "Europe/Paris"),
)


_SERVICES = (
    ("Zip-line tour", "Canopy tour, 12 platforms.", Decimal("85.00")),
    ("Airport transfer", "Private van from LIR airport.", Decimal("60.00")),
    ("Private chef dinner", "Four courses at the villa.", Decimal("150.00")),
    ("Surf lesson", "Two hours with a certified instructor.", Decimal("55.00")),
    ("Sunset catamaran", "Three hours, drinks included.", Decimal("95.00")),
    ("Yoga session", "Private class on the terrace.", Decimal("40.00")),
)


_MESSAGE_BODIES = (
    "Hi {first}, your stay at {place} from {day} is confirmed. We look forward to welcoming you!",
    "Hello {first}, a reminder that check-in at {place} opens at 15:00. The key box code follows "
    "in a separate message. Safe travels!",
    "Thank you for staying with us, {first}. We hope you enjoyed {place}; a short review would mean "
    "a lot to our small team.",
    "Hi! Can we book the zip-line tour for two on our second day? Also, is there a crib available "
    "for our little one?",
    "Dear {first}, we received your payment for {place}. Your receipt is attached. See you soon!",
)


_MARKETING_BODY = (
    "Hi {first}, the dry season is coming: book 5 nights at {place} before the end of the month and "
    "the airport transfer is on us."
)


@dataclass
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Person:
    guest_id: uuid.UUID
    first: str
    last: str
    country: str
    language: str
    email: str
    phone: str
    channel: str | None
    created: datetime


class Generator:
    """Builds every row of the graph; deterministic for a given seed (except the owner's hash)."""

    def __init__(self, *, seed: int, now: datetime, keys: TenantKeys) -> None:
        self.keys = keys
        self.rng = random.Random(seed)
        self.now = now
        self.ota_number = 0
        t = Table
        self.staff = t("staff_user", ("id", "email", "name", "password_hash", "role", "created_at"))
        self.properties = t(
            "property",
            (
                "id",
                "name",
                "address",
                "timezone",
                "villa_guide_enc",
                "check_in_instructions_enc",
                "created_at",
            ),
        )
        self.services = t(
            "service", ("id", "name", "description", "price", "currency", "active", "created_at")
        )
        self.guests = t(
            "guest",
            (
                "id",
                "name",
                "name_key",
                "email_enc",
                "email_bidx",
                "phone_enc",
                "phone_bidx",
                "country",
                "language",
                "notes_enc",
                "preferred_channel",
                "sms_opt_in",
                "marketing_email_consent",
                "created_at",
                "last_activity_at",
            ),
        )
        self.bookings = t(
            "booking",
            (
                "id",
                "property_id",
                "guest_id",
                "stay_guest_name",
                "stay_guest_email_enc",
                "stay_guest_phone_enc",
                "check_in",
                "check_out",
                "adults",
                "children",
                "amount",
                "currency",
                "status",
                "source",
                "channel",
                "external_id",
                "created_by_staff_id",
                "created_at",
                "cancelled_at",
            ),
        )
        self.payments = t(
            "payment",
            (
                "id",
                "booking_id",
                "amount",
                "currency",
                "method",
                "status",
                "provider_reference_enc",
                "paid_at",
                "created_at",
            ),
        )
        self.service_requests = t(
            "service_request",
            (
                "id",
                "guest_id",
                "booking_id",
                "service_id",
                "service_date",
                "people",
                "price",
                "currency",
                "status",
                "notes_enc",
                "created_at",
            ),
        )
        self.communications = t(
            "communication",
            (
                "id",
                "guest_id",
                "booking_id",
                "channel",
                "direction",
                "template_key",
                "message_class",
                "subject_enc",
                "body_enc",
                "status",
                "provider_message_id",
                "created_at",
                "sent_at",
            ),
        )

    def booking_kind(self, *, past: bool) -> tuple[str, str, str | None, str | None]:
        """A booking's status, source, and its channel and reference when it came from an OTA."""
        rng = self.rng
        status = (
            rng.choices(("completed", "cancelled", "no_show"), (90, 8, 2))[0]
            if past
            else rng.choices(("confirmed", "inquiry", "cancelled"), (85, 10, 5))[0]
        )
        source = rng.choices(("manual", "ota", "booking_form", "inquiry"), (30, 45, 20, 5))[0]
        if source != "ota":
            return status, source, None, None
        self.ota_number += 1
        return status, source, rng.choice(("airbnb", "booking.com", "vrbo")), f"HM{100000 + self.ota_number}"

    def tables(self) -> list[Table]:
        # Parents before children: the foreign keys are checked as each COPY loads its table.
        return [self.staff, self.properties, self.services, self.guests, self.bookings, self.payments,
                self.service_requests, self.communications]  # fmt: skip

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def moment(self, *, not_before: datetime, not_after: datetime) -> datetime:
        # Whole seconds: PostgreSQL's JSON and Python's isoformat() then print timestamps alike,
        # which lets the floor's output be compared with the API's byte for byte.
        span = max(int((not_after - not_before).total_seconds()), 1)
        return not_before + timedelta(seconds=self.rng.randrange(span))

    def owner(self, *, email: str, password_hash: str) -> uuid.UUID:
        owner_id = self.new_id()
        created = self.now - timedelta(days=1000)
        self.staff.rows.append((owner_id, email, "Bench Owner", password_hash, "owner", created))
        return owner_id

    def catalogue(self) -> tuple[list[uuid.UUID], list[tuple[uuid.UUID, Decimal]]]:
        created = self.now - timedelta(days=1000)
        property_ids = []
        for name, address, timezone in _PROPERTIES:
            property_id = self.new_id()
            property_ids.append(property_id)
            wifi = name.replace(" ", "")
            guide = f"Welcome to {name}!\n\nWi-Fi: {wifi} / sunshine2026\nTowels are in the cabana."
            instructions = (
                "Key box at the gate; the code is sent the day before arrival. Check-in from 15:00."
            )
            sealed_guide = VILLA_GUIDE.seal(self.keys, guide)
            sealed = CHECK_IN_INSTRUCTIONS.seal(self.keys, instructions)
            self.properties.rows.append((property_id, name, address, timezone, sealed_guide, sealed, created))
        services = []
        for name, description, price in _SERVICES:
            service_id = self.new_id()
            services.append((service_id, price))
            self.services.rows.append((service_id, name, description, price, "USD", True, created))
        return property_ids, services

    def guest(
        self,
        index: int,
        *,
        owner_id: uuid.UUID,
        property_ids: Sequence[uuid.UUID],
        services: Sequence[tuple[uuid.UUID, Decimal]],
    ) -> uuid.UUID:
        rng = self.rng
        person = self.person(index)
        guest_id, first, channel, created = person.guest_id, person.first, person.channel, person.created
        last_activity = created
        booking_ids: list[uuid.UUID] = []
        for _ in range(BOOKINGS_PER_GUEST):
            booking_id, activity = self.booking(
                guest_id=guest_id,
                owner_id=owner_id,
                created=created,
                property_ids=property_ids,
                services=services,
            )
            booking_ids.append(booking_id)
            last_activity = max(last_activity, activity)
        for number in range(COMMUNICATIONS_PER_GUEST):
            # The first messages are about the bookings; the rest are general (offers, questions).
            about = booking_ids[number] if number < len(booking_ids) else None
            sent = self.communication(
                guest_id=guest_id,
                booking_id=about,
                first=first,
                channel=channel or "email",
                created=created,
            )
            last_activity = max(last_activity, sent)
        notes = rng.choice(
            (None, None, "Allergic to nuts.", "Prefers a ground-floor room.", "Repeat guest; VIP.")
        )
        self.add_guest(person, notes=notes, last_activity=last_activity)
        return guest_id

    def person(self, index: int) -> Person:
        """Who the next guest is (drawn in a fixed order, so a seed always gives the same people)."""
        rng = self.rng
        guest_id = self.new_id()
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        country, language, prefix = rng.choice(_LOCALES)
        email = f"{first.lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}.{index}@example.com"
        phone = prefix + "".join(str(rng.randrange(10)) for _ in range(13 - len(prefix)))
        channel = rng.choice(("whatsapp", "email", "sms", None))
        created = self.moment(
            not_before=self.now - timedelta(days=900), not_after=self.now - timedelta(days=60)
        )
        return Person(guest_id, first, last, country, language, email, phone, channel, created)

    def add_guest(self, person: Person, *, notes: str | None, last_activity: datetime) -> None:
        """The guest's row, stored as the API stores it (services/guest_fields.py): contact data
        encrypted with a blind index beside it, the folded name as sort key; `search_vector` is
        filled from `name_key` in one UPDATE after the COPY."""
        name = f"{person.first} {person.last}"
        contact = encrypted_contact(self.keys, email=person.email, phone=person.phone, notes=notes)
        self.guests.rows.append(
            (
                person.guest_id,
                name,
                name_fields(name)["name_key"],
                contact["email_enc"],
                contact["email_bidx"],
                contact["phone_enc"],
                contact["phone_bidx"],
                person.country,
                person.language,
                contact["notes_enc"],
                person.channel,
                person.channel == "sms",
                self.rng.random() < 0.4,
                person.created,
                min(last_activity, self.now),
            )
        )

    def booking(
        self,
        *,
        guest_id: uuid.UUID,
        owner_id: uuid.UUID,
        created: datetime,
        property_ids: Sequence[uuid.UUID],
        services: Sequence[tuple[uuid.UUID, Decimal]],
    ) -> tuple[uuid.UUID, datetime]:
        rng = self.rng
        booking_id = self.new_id()
        booked = self.moment(not_before=created, not_after=self.now)
        check_in = (booked + timedelta(days=rng.randrange(7, 200))).date()
        nights = rng.randrange(2, 11)
        check_out = check_in + timedelta(days=nights)
        adults, children = rng.randrange(1, 5), rng.choice((0, 0, 0, 1, 2))
        amount = Decimal(rng.randrange(120, 480) * nights).quantize(Decimal("0.01"))
        past = check_out < self.now.date()
        status, source, channel, external_id = self.booking_kind(past=past)
        stay_guest: tuple[str | None, None, None] = (None, None, None)
        if rng.random() < 0.15:
            stay_guest = (f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", None, None)
        cancelled_at = self.moment(not_before=booked, not_after=self.now) if status == "cancelled" else None
        self.bookings.rows.append(
            (
                booking_id,
                rng.choice(property_ids),
                guest_id,
                *stay_guest,
                check_in,
                check_out,
                adults,
                children,
                amount,
                "USD",
                status,
                source,
                channel,
                external_id,
                owner_id if source == "manual" else None,
                booked,
                cancelled_at,
            )
        )
        deposit = (amount * Decimal("0.30")).quantize(Decimal("0.01"))
        latest = booked
        for part, share in enumerate((deposit, amount - deposit)):
            paid_at = self.moment(not_before=booked, not_after=booked + timedelta(days=30))
            paid = part == 0 or past or rng.random() < 0.3
            self.payments.rows.append(
                (
                    self.new_id(),
                    booking_id,
                    share,
                    "USD",
                    rng.choice(("card", "card", "bank_transfer", "paypal")),
                    "paid" if paid else "pending",
                    PAYMENT_REFERENCE.seal(self.keys, f"pi_{rng.getrandbits(64):016x}"),
                    paid_at if paid else None,
                    paid_at,
                )
            )
            latest = max(latest, paid_at)
        service_id, price = rng.choice(services)
        people = rng.randrange(1, adults + children + 1)
        requested = self.moment(not_before=booked, not_after=booked + timedelta(days=5))
        self.service_requests.rows.append(
            (
                self.new_id(),
                guest_id,
                booking_id,
                service_id,
                check_in + timedelta(days=rng.randrange(nights)),
                people,
                price * people,
                "USD",
                rng.choice(("requested", "confirmed", "confirmed", "done")),
                SERVICE_REQUEST_NOTES.seal(
                    self.keys, rng.choice((None, "Vegetarian menu, please.", "Pick-up at 7:30."))
                ),
                requested,
            )
        )
        return booking_id, max(latest, requested)

    def communication(
        self,
        *,
        guest_id: uuid.UUID,
        booking_id: uuid.UUID | None,
        first: str,
        channel: str,
        created: datetime,
    ) -> datetime:
        rng = self.rng
        marketing = booking_id is None and rng.random() < 0.3
        inbound = not marketing and rng.random() < 0.25
        template = _MARKETING_BODY if marketing else rng.choice(_MESSAGE_BODIES)
        body = template.format(first=first, place=rng.choice(_PROPERTIES)[0], day=created.date().isoformat())
        at = self.moment(not_before=created, not_after=self.now)
        sent_at = None if inbound else at + timedelta(seconds=rng.randrange(1, 60))
        self.communications.rows.append(
            (
                self.new_id(),
                guest_id,
                booking_id,
                "email" if marketing else channel,
                "in" if inbound else "out",
                None if inbound else ("marketing_offer" if marketing else "booking_confirmed"),
                "marketing" if marketing else "transactional",
                MESSAGE_SUBJECT.seal(self.keys, "Your stay" if channel == "email" and not inbound else None),
                MESSAGE_BODY.seal(self.keys, body),
                "delivered" if inbound else rng.choice(("sent", "delivered", "delivered", "read")),
                None if inbound else f"SM{rng.getrandbits(64):016x}",
                at,
                sent_at,
            )
        )
        return at
