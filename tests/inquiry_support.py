"""Inquiries for the outbound tests, made through the real services in one transaction each: an
inquiry opened for a guest (as a mail, form, call or WhatsApp message would open it), and the
guest writing again (`services.inquiries.core.guest_wrote`, as the inbound routes call it). Plus
plain-SQL views of what the API does not show."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from urllib3 import encode_multipart_formdata

from hospes.models.tenant import (
    Channel,
    Guest,
    Inquiry,
    InquirySource,
)
from hospes.notifications.inquiry_trail import SYSTEM
from hospes.schema.ids import decode_id, encode_id
from hospes.services.inbound import received
from hospes.services.inquiries import core
from hospes.settings import Settings
from hospes.tenancy.database import ConnectionPolicy, Role, TenantSessions, create_engine_async
from hospes.tenancy.encrypted_columns import MESSAGE_BODY
from tests.helpers_db import tenant_keys
from tests.messaging_support import Rig

T = TypeVar("T")
SIGNED_BY_EXAMPLE = "{@example.com : pass}"
INBOUND_PATH = "/webhooks/sendgrid/inbound"


def _in_tenant(settings: Settings, schema: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        assert settings.database_url
        engine = create_engine_async(
            settings.database_url, policy=ConnectionPolicy(role=Role.CLI), pool_size=1, max_overflow=0
        )
        try:
            session = TenantSessions(engine).open(schema)
            async with session.begin():
                result = await work(session)
            await session.close()
            return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def open_inquiry(
    settings: Settings,
    engine: sa.Engine,
    schema: str,
    *,
    guest_id: str,
    source: InquirySource = InquirySource.EMAIL,
    message: str = "Is Casa del Sol free for four in March?",
) -> str:
    """A NEW inquiry of the guest (an opaque `Guest` id), as its channel would open it; its id."""
    guest_pk = decode_id("Guest", guest_id)
    assert guest_pk is not None
    keys = tenant_keys(engine, schema)

    async def work(session: AsyncSession) -> uuid.UUID:
        guest = await session.get(Guest, guest_pk)
        assert guest is not None
        inquiry = await core.open_inquiry(
            session, keys=keys, guest=guest, source=source, request=core.Request(message=message), who=SYSTEM
        )
        return inquiry.id

    return encode_id("Inquiry", _in_tenant(settings, schema, work))


def guest_writes(settings: Settings, engine: sa.Engine, schema: str, *, inquiry_id: str, body: str) -> None:
    """The guest answers on WhatsApp: the inbound message, filed on the inquiry by `guest_wrote`."""
    inquiry_pk = decode_id("Inquiry", inquiry_id)
    assert inquiry_pk is not None
    keys = tenant_keys(engine, schema)

    async def work(session: AsyncSession) -> None:
        inquiry = await session.scalar(sa.select(Inquiry).where(Inquiry.id == inquiry_pk).with_for_update())  # type: ignore[arg-type]
        assert inquiry is not None
        communication = received(
            guest_id=inquiry.guest_id, channel=Channel.WHATSAPP, provider="twilio", provider_message_id=None
        )
        MESSAGE_BODY.write(communication, keys, body)
        session.add(communication)
        await session.flush()
        await core.guest_wrote(session, inquiry=inquiry, communication=communication)

    _in_tenant(settings, schema, work)


def set_stage(engine: sa.Engine, schema: str, inquiry_id: str, stage: str) -> None:
    """Settle an inquiry as confirmInquiry or markInquiryLost would leave it (their own tests are
    elsewhere)."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(f'UPDATE "{schema}".inquiry SET stage = :stage WHERE id = :id'),
            {"stage": stage, "id": decode_id("Inquiry", inquiry_id)},
        )


def inquiry_row(engine: sa.Engine, schema: str, inquiry_id: str) -> dict[str, Any]:
    with engine.connect() as connection:
        row = (
            connection.execute(
                sa.text(f'SELECT * FROM "{schema}".inquiry WHERE id = :id'),
                {"id": decode_id("Inquiry", inquiry_id)},
            )
            .mappings()
            .one()
        )
    return dict(row)


def reminders(engine: sa.Engine, schema: str, inquiry_id: str) -> list[dict[str, Any]]:
    """The inquiry's reminders, oldest schedule first, each in sequence."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                f'SELECT id, sequence, status, due_at, communication_id FROM "{schema}".inquiry_reminder '
                "WHERE inquiry_id = :id ORDER BY created_at, sequence"
            ),
            {"id": decode_id("Inquiry", inquiry_id)},
        ).mappings()
        return [dict(row) for row in rows]


def history(engine: sa.Engine, schema: str, inquiry_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The inquiry's history lines, oldest first: (kind, actor, data)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                f'SELECT kind, actor, data FROM "{schema}".inquiry_event WHERE inquiry_id = :id ORDER BY at, id'
            ),
            {"id": decode_id("Inquiry", inquiry_id)},
        )
        return [(row.kind, row.actor, row.data) for row in rows]


def counts(engine: sa.Engine, schema: str) -> dict[str, int]:
    """Rows of the tables an outbound operation writes to, and the tenant's outbox rows."""
    tables = ("communication", "inquiry_quote", "inquiry_reminder", "inquiry_event")
    with engine.connect() as connection:
        found = {
            table: int(connection.execute(sa.text(f'SELECT count(*) FROM "{schema}".{table}')).scalar_one())
            for table in tables
        }
        found["outbox"] = int(connection.execute(sa.text("SELECT count(*) FROM public.outbox")).scalar_one())
    return found


def fall_due(engine: sa.Engine, schema: str, inquiry_id: str, *sequences: int) -> None:
    """Move the inquiry's reminders of `sequences` (all when none given; cancelled ones too, whose
    outbox rows stay) to a minute ago, as if their time had come, and their outbox rows with them."""
    with engine.begin() as connection:
        ids = (
            connection.execute(
                sa.text(
                    f"UPDATE \"{schema}\".inquiry_reminder SET due_at = now() - interval '1 minute' "
                    "WHERE inquiry_id = :id "
                    "AND (cardinality(CAST(:seqs AS int[])) = 0 OR sequence = ANY(CAST(:seqs AS int[]))) RETURNING id"
                ),
                {"id": decode_id("Inquiry", inquiry_id), "seqs": list(sequences)},
            )
            .scalars()
            .all()
        )
        connection.execute(
            sa.text("UPDATE public.outbox SET due_at = now() - interval '1 minute' WHERE ref_id = ANY(:ids)"),
            {"ids": list(ids)},
        )


# --- inbound mail, as SendGrid Inbound Parse posts it ---------------------------------------


def mail_body(
    *,
    to: str,
    sender: str = "Anna Hemm <anna@example.com>",
    subject: str = "Casa del Sol in March?",
    text: str | None = "Is it free for four of us?",
    html: str | None = None,
    headers: str | None = None,
    spf: str = "pass",
    dkim: str = SIGNED_BY_EXAMPLE,
    envelope: Any = None,
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
) -> tuple[bytes, str]:
    """An Inbound Parse post as SendGrid encodes it, with a real multipart encoder."""
    address = sender.rpartition("<")[2].rstrip(">").strip()
    fields: list[tuple[str, Any]] = [
        (
            "headers",
            headers if headers is not None else f"Message-ID: <{uuid.uuid4().hex}@mail.example.com>\n",
        ),
        ("dkim", dkim),
        ("to", to),
        ("from", sender),
        ("subject", subject),
        ("SPF", spf),
        ("envelope", json.dumps({"to": [to], "from": address}) if envelope is None else envelope),
        ("charsets", json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "UTF-8"})),
        ("attachments", str(len(attachments))),
    ]
    if text is not None:
        fields.append(("text", text))
    if html is not None:
        fields.append(("html", html))
    for number, (filename, data, media_type) in enumerate(attachments, start=1):
        fields.append((f"attachment{number}", (filename, data, media_type)))
    body, content_type = encode_multipart_formdata(fields)
    return body, content_type


def post_mail(
    rig: Rig, body: bytes, content_type: str, *, sign: bool = True, timestamp: str | None = None
) -> Any:
    headers = rig.sendgrid_signature(body, timestamp) if sign else {}
    headers["Content-Type"] = content_type
    return rig.client.post(INBOUND_PATH, content=body, headers=headers)
