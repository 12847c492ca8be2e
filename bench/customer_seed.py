"""The customer-list bench's data: a throw-away tenant of guests with their bookings only, by COPY,
as bench.seed does for the full graph."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg import sql
from sqlalchemy.engine import Engine

from hospes.bench.seed import (
    SeededTenant,
    copy_rows,
    derived_columns,
    libpq_url,
    tenant_keys,
)
from hospes.bench.seed_data import Generator
from hospes.tenancy.crypto import MasterKey, TenantKeys
from hospes.tenancy.migrations import upgrade_public
from hospes.tenancy.passwords import Passwords
from hospes.tenancy.provisioning import create_tenant, drop_tenant

BOOKINGS_PER_GUEST = 3


@dataclass(frozen=True)
class Customers:
    tenant: SeededTenant
    keys: TenantKeys
    property_ids: tuple[uuid.UUID, ...]
    emails: tuple[tuple[str, str], ...]  # (email, name) of seeded guests, shuffled


class _CustomerGenerator(Generator):
    """Guests with their bookings only: no payments, service requests or communications."""

    def customer(
        self, index: int, *, owner_id: uuid.UUID, property_ids: tuple[uuid.UUID, ...]
    ) -> tuple[str, str]:
        person = self.person(index)
        last_activity = person.created
        for _ in range(BOOKINGS_PER_GUEST):
            last_activity = max(
                last_activity, self._booking(person.guest_id, owner_id, person.created, property_ids)
            )
        self.add_guest(person, notes=None, last_activity=last_activity)
        email, name = person.email, f"{person.first} {person.last}"
        return email, name

    def _booking(
        self, guest_id: uuid.UUID, owner_id: uuid.UUID, created: datetime, property_ids: tuple[uuid.UUID, ...]
    ) -> datetime:
        rng = self.rng
        booked = self.moment(not_before=created, not_after=self.now)
        check_in = (booked + timedelta(days=rng.randrange(7, 200))).date()
        nights = rng.randrange(2, 11)
        past = check_in + timedelta(days=nights) < self.now.date()
        status, source, channel, external_id = self.booking_kind(past=past)
        self.bookings.rows.append(
            (
                self.new_id(),
                rng.choice(property_ids),
                guest_id,
                None,
                None,
                None,
                check_in,
                check_in + timedelta(days=nights),
                rng.randrange(1, 5),
                rng.choice((0, 0, 0, 1, 2)),
                Decimal(rng.randrange(120, 480) * nights),
                "USD",
                status,
                source,
                channel,
                external_id,
                owner_id if source == "manual" else None,
                booked,
                self.moment(not_before=booked, not_after=self.now) if status == "cancelled" else None,
            )
        )
        return booked


def seed_customers(
    engine: Engine, *, database_url: str, guests: int, passwords: Passwords, master: MasterKey
) -> Customers:
    started = time.perf_counter()
    with engine.begin() as connection:
        upgrade_public(connection)
    slug = f"bench-{secrets.token_hex(4)}"
    tenant = create_tenant(engine, slug=slug, name=f"Benchmark {slug}")
    try:
        password = secrets.token_urlsafe(18)
        owner_email = f"owner@{slug}.bench.test"
        keys = tenant_keys(engine, master, schema_name=tenant.schema_name)
        generator = _CustomerGenerator(seed=2026, now=datetime.now(UTC).replace(microsecond=0), keys=keys)
        owner_id = generator.owner(email=owner_email, password_hash=passwords.hash(password))
        property_list, _services = generator.catalogue()
        property_ids = tuple(property_list)
        emails = [
            generator.customer(index, owner_id=owner_id, property_ids=property_ids) for index in range(guests)
        ]
        generator.rng.shuffle(emails)
        tables = [
            generator.staff,
            generator.properties,
            generator.services,
            generator.guests,
            generator.bookings,
        ]
        with psycopg.connect(libpq_url(database_url)) as conn, conn.cursor() as cursor:
            for table in tables:
                copy_rows(cursor, schema_name=tenant.schema_name, table=table)
            derived_columns(cursor, schema_name=tenant.schema_name)
            conn.commit()
            conn.autocommit = True
            for table in tables:
                cursor.execute(
                    sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(tenant.schema_name, table.name))
                )
    except BaseException:
        drop_tenant(engine, slug=slug)
        raise
    seeded = SeededTenant(
        slug=slug,
        schema_name=tenant.schema_name,
        owner_email=owner_email,
        owner_password=password,
        guest_ids=(),
        counts={table.name: len(table.rows) for table in tables},
        seconds=time.perf_counter() - started,
    )
    return Customers(tenant=seeded, keys=keys, property_ids=property_ids, emails=tuple(emails[:1000]))
