"""The inquiries bench's data: 20,000 inquiries across the five stages over the customer bench's
100,000 guests, written by COPY, and a set of reminders waiting to fall due at once."""

from __future__ import annotations

import random
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from hospes.bench.customer_seed import Customers
from hospes.bench.seed import copy_rows, libpq_url
from hospes.bench.seed_data import Table
from hospes.tenancy.encrypted_columns import INQUIRY_MESSAGE, INQUIRY_SUBJECT

# Of every 100 inquiries: how many sit in each stage, and the share of those waiting on us.
STAGES: tuple[tuple[str, int, float], ...] = (
    ("new", 10, 1.0),
    ("responded", 25, 0.3),
    ("quoted", 20, 0.3),
    ("confirmed", 25, 0.0),
    ("lost", 20, 0.0),
)
SOURCES = ("email", "contact_form", "phone", "whatsapp", "sms")
LOST_REASONS = ("price", "dates_unavailable", "no_answer", "booked_elsewhere", "other")
QUESTIONS = (
    "Is the villa free for four from the 10th to the 15th, and what would it cost?",
    "Do you allow dogs? We would come for a week in spring.",
    "Could you send a quote for two adults and two children, ten nights?",
    "Is there an airport transfer, and can we check in late?",
)


@dataclass(frozen=True)
class Inquiries:
    counts: dict[str, int]  # stage -> inquiries
    needs_action: dict[str, int]  # stage -> inquiries waiting on us
    reminder_ids: tuple[uuid.UUID, ...]
    seconds: float


def _inquiry_table() -> Table:
    return Table(
        "inquiry",
        (
            "id",
            "guest_id",
            "property_id",
            "check_in",
            "check_out",
            "adults",
            "children",
            "source",
            "stage",
            "needs_action",
            "subject_enc",
            "message_enc",
            "lost_reason",
            "reply_token",
            "received_at",
            "last_activity_at",
            "guest_wrote_at",
            "replied_at",
        ),
    )


def _stage_of(rng: random.Random) -> tuple[str, bool]:
    pick = rng.randrange(100)
    for stage, share, waiting in STAGES:
        if pick < share:
            return stage, rng.random() < waiting
        pick -= share
    raise AssertionError("STAGES must add up to 100")


def _guest_ids(conn: psycopg.Connection[Any], schema: str, count: int) -> list[uuid.UUID]:
    rows = conn.execute(
        sql.SQL("SELECT id FROM {} ORDER BY id LIMIT %s").format(sql.Identifier(schema, "guest")), (count,)
    ).fetchall()
    return [row[0] for row in rows]


def seed_inquiries(database_url: str, data: Customers, *, inquiries: int, reminders: int) -> Inquiries:
    """`inquiries` inquiries of distinct guests, and `reminders` of the RESPONDED ones we answered
    last with a first reminder due tomorrow (`fall_due` brings them forward)."""
    started = time.perf_counter()
    schema = data.tenant.schema_name
    rng = random.Random(2027)
    now = datetime.now(UTC).replace(microsecond=0)
    table = _inquiry_table()
    reminder_table = Table("inquiry_reminder", ("id", "inquiry_id", "sequence", "due_at", "status"))
    counts = {stage: 0 for stage, _share, _waiting in STAGES}
    waiting = dict(counts)
    with psycopg.connect(libpq_url(database_url)) as conn:
        guest_ids = _guest_ids(conn, schema, inquiries)
        for guest_id in guest_ids:
            stage, needs_action = _stage_of(rng)
            received = now - timedelta(minutes=rng.randrange(60, 90 * 24 * 60))
            span = int((now - received).total_seconds() // 60)
            activity = received + timedelta(minutes=rng.randrange(0, max(1, span)))
            check_in = (now + timedelta(days=rng.randrange(10, 200))).date()
            replied = None if stage == "new" else activity - timedelta(minutes=1 if needs_action else 0)
            inquiry_id = uuid.uuid4()
            table.rows.append(
                (
                    inquiry_id,
                    guest_id,
                    rng.choice(data.property_ids),
                    check_in,
                    check_in + timedelta(days=rng.randrange(2, 14)),
                    rng.randrange(1, 5),
                    rng.choice((0, 0, 1, 2)),
                    rng.choice(SOURCES),
                    stage,
                    needs_action,
                    INQUIRY_SUBJECT.seal(data.keys, "Availability and price"),
                    INQUIRY_MESSAGE.seal(data.keys, rng.choice(QUESTIONS)),
                    rng.choice(LOST_REASONS) if stage == "lost" else None,
                    "i" + secrets.token_hex(16),
                    received,
                    activity,
                    activity if needs_action else received,
                    replied,
                )
            )
            counts[stage] += 1
            waiting[stage] += needs_action
            if stage == "responded" and not needs_action and len(reminder_table.rows) < reminders:
                reminder_table.rows.append(
                    (uuid.uuid4(), inquiry_id, 1, now + timedelta(days=1), "scheduled")
                )
        with conn.cursor() as cursor:
            copy_rows(cursor, schema_name=schema, table=table)
            copy_rows(cursor, schema_name=schema, table=reminder_table)
        conn.commit()
        conn.autocommit = True
        for name in ("inquiry", "inquiry_reminder"):
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(schema, name)))
    return Inquiries(
        counts=counts,
        needs_action=waiting,
        reminder_ids=tuple(row[0] for row in reminder_table.rows),
        seconds=time.perf_counter() - started,
    )


def fall_due(database_url: str, *, schema: str, tenant_id: uuid.UUID) -> int:
    """Every scheduled reminder due now, with the outbox rows the scheduler claims, in one
    transaction: they fall due at once. Returns how many."""
    reminder = sql.Identifier(schema, "inquiry_reminder")
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute(sql.SQL("UPDATE {} SET due_at = now() WHERE status = 'scheduled'").format(reminder))
        cursor = conn.execute(
            sql.SQL(
                "INSERT INTO public.outbox (tenant_id, kind, ref_id, due_at) "
                "SELECT %s, 'inquiry_reminder', id, now() FROM {} WHERE status = 'scheduled' "
                "ON CONFLICT (tenant_id, kind, ref_id) DO UPDATE SET due_at = now(), claimed_until = NULL"
            ).format(reminder),
            (tenant_id,),
        )
        conn.commit()
        return cursor.rowcount
