"""The delivery path's statements, Core (no ORM): one read of everything a decision needs, and one
statement that writes a decision (the `communication` row, the steps on its timeline and its outbox
row, as data-modifying CTEs); every value is a bind parameter."""

from __future__ import annotations

import dataclasses
import enum
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import utcnow
from hospes.models.public import Outbox as OutboxRow
from hospes.models.public import OutboxKind
from hospes.models.tenant import Channel, Communication, CommunicationEvent, CommunicationStatus, DeliveryStep
from hospes.tenancy.registry import TenantRef


@dataclass(frozen=True)
class GuestContact:
    """The guest's columns routing reads (`outgoing.Contact`)."""

    email_enc: bytes | None
    phone_enc: bytes | None
    preferred_channel: str | None
    sms_opt_in: bool
    marketing_email_consent: bool
    erased_at: datetime | None


@dataclass(frozen=True)
class Facts:
    """A communication as the delivery decision sees it, read in one statement."""

    id: uuid.UUID
    direction: str
    status: str
    channel: str
    channel_requested: bool
    message_class: str
    template_key: str | None
    attempts: int
    sending_since: datetime | None
    stale: bool
    subject_enc: bytes | None
    body_enc: bytes | None
    recipient_enc: bytes | None
    secrets_enc: bytes | None
    guest: GuestContact | None
    booking_status: str | None
    inquiry_reply_token: str | None
    # The channels this message already failed on for good (skipped when routing again).
    failed_channels: tuple[Channel, ...]


_FACTS = """
SELECT c.id, c.direction, c.status, c.channel, c.channel_requested, c.message_class, c.template_key,
       c.attempts, c.sending_since, c.subject_enc, c.body_enc, c.recipient_enc, c.secrets_enc,
       coalesce(c.sending_since < now() - make_interval(secs => :lease), false) AS stale,
       g.id AS guest_id, g.email_enc, g.phone_enc, g.preferred_channel, g.sms_opt_in,
       g.marketing_email_consent, g.erased_at,
       b.status AS booking_status, i.reply_token AS inquiry_reply_token,
       CASE WHEN c.attempts > 0 THEN ARRAY(
            SELECT DISTINCT e.channel FROM communication_event AS e
             WHERE e.communication_id = c.id AND e.step = :failed AND e.channel IS NOT NULL)
       END AS failed_channels
  FROM communication AS c
  LEFT JOIN guest AS g ON g.id = c.guest_id
  LEFT JOIN booking AS b ON b.id = c.booking_id
  LEFT JOIN inquiry AS i ON i.id = c.inquiry_id
 WHERE c.id = :id
   FOR UPDATE OF c
"""
_FACTS_WAIT = sa.text(_FACTS)
_FACTS_SKIP_LOCKED = sa.text(_FACTS + " SKIP LOCKED")


async def facts_of(
    session: AsyncSession, communication_id: uuid.UUID, *, lease_seconds: float, skip_locked: bool
) -> Facts | None:
    """Lock the row and read it with its guest, booking status, inquiry token and failed channels;
    None when it is gone, or (`skip_locked`) another task holds it."""
    statement = _FACTS_SKIP_LOCKED if skip_locked else _FACTS_WAIT
    connection = await session.connection()
    parameters = {"id": communication_id, "lease": lease_seconds, "failed": DeliveryStep.FAILED.value}
    row = (await connection.execute(statement, parameters)).first()
    if row is None:
        return None
    values = row._mapping
    guest = None if values["guest_id"] is None else GuestContact(**_fields_of(GuestContact, values))
    failed = tuple(Channel(channel) for channel in values["failed_channels"] or ())
    return Facts(**_fields_of(Facts, values, "guest", "failed_channels"), guest=guest, failed_channels=failed)


def _fields_of(cls: type, values: sa.RowMapping, *left_out: str) -> dict[str, Any]:
    """The values of the dataclass `cls`'s fields, by name (the SQL names its columns so)."""
    return {field.name: values[field.name] for field in dataclasses.fields(cls) if field.name not in left_out}


# The columns a change may set (plain values); `attempts` is only ever counted up.
_COLUMNS = frozenset(
    {
        "status",
        "status_at",
        "sent_at",
        "sending_since",
        "error",
        "provider",
        "provider_message_id",
        "channel",
        "subject_enc",
    }
)


@dataclass(frozen=True)
class Change:
    """What to set on the `communication` row."""

    values: Mapping[str, object] = field(default_factory=dict)
    count_attempt: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.values) - _COLUMNS
        if unknown:
            raise ValueError(f"not a column a delivery sets: {sorted(unknown)}")

    def with_(self, **values: object) -> Change:
        return replace(self, values={**self.values, **values})


def claimed() -> Change:
    """This task owns the provider call from now on."""
    return Change({"sending_since": utcnow()}, count_attempt=True)


def released(*, error: str) -> Change:
    """The attempt is over without an end: the row may be claimed again."""
    return Change({"sending_since": None, "error": error})


def finished(status: CommunicationStatus, *, error: str | None = None) -> Change:
    """The message's end: its status, when, and why (for anything but sent)."""
    now = utcnow()
    values: dict[str, object] = {
        "status": status.value,
        "status_at": now,
        "sending_since": None,
        "error": error,
    }
    if status is CommunicationStatus.SENT:
        values["sent_at"] = now
    return Change(values)


@dataclass(frozen=True)
class Event:
    """A step on the timeline, on the channel it happened on."""

    step: DeliveryStep
    channel: str
    provider: str | None = None
    detail: str | None = None
    at: datetime = field(default_factory=utcnow)


class Outbox(enum.Enum):
    """What becomes of the message's outbox row."""

    KEEP = "keep"
    DONE = "done"  # removed: the work is finished or moot
    LATER = "later"  # due again after `delay` seconds, for the scheduler


_COMMUNICATION: sa.Table = Communication.__table__  # type: ignore[attr-defined]
_EVENT: sa.Table = CommunicationEvent.__table__  # type: ignore[attr-defined]
_OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = (
    ("event_ids", "id", pg.UUID(as_uuid=True)),
    ("steps", "step", sa.String()),
    ("channels", "channel", sa.String()),
    ("providers", "provider", sa.String()),
    ("details", "detail", sa.Text()),
    ("ats", "at", sa.DateTime(timezone=True)),
)


@functools.cache
def _statement(columns: tuple[str, ...], count_attempt: bool, events: bool, outbox: Outbox) -> sa.Executable:
    """`WITH changed AS (UPDATE communication … RETURNING id)[, the outbox row's fate]` then the
    steps inserted from `unnest` of arrays (or the changed id selected): built once per shape."""
    c = _COMMUNICATION.c
    values: dict[sa.Column[Any], Any] = {
        c[name]: sa.bindparam(f"set_{name}", type_=c[name].type) for name in columns
    }
    if count_attempt:
        values[c.attempts] = c.attempts + 1
    mine = c.id == sa.bindparam("communication", type_=c.id.type)
    changed = (
        sa.update(_COMMUNICATION).where(mine).values(values).returning(c.id).cte("changed")
        if values
        else sa.select(c.id).where(mine).cte("changed")
    )
    o = _OUTBOX.c
    its_row = (
        o.tenant_id == sa.bindparam("outbox_tenant", type_=o.tenant_id.type),
        o.kind == sa.bindparam("outbox_kind", type_=o.kind.type),
        o.ref_id.in_(sa.select(changed.c.id)),
    )
    ctes: list[sa.CTE] = []
    if outbox is Outbox.DONE:
        ctes.append(sa.delete(_OUTBOX).where(*its_row).cte("done"))
    elif outbox is Outbox.LATER:
        later = sa.func.now() + sa.func.make_interval(
            0, 0, 0, 0, 0, 0, sa.bindparam("delay", type_=sa.Float())
        )
        ctes.append(
            sa.update(_OUTBOX)
            .where(*its_row)
            .values(due_at=later, claimed_until=None, attempts=o.attempts + 1)
            .cte("later")
        )
    if not events:
        return sa.select(changed.c.id).add_cte(*ctes)
    # Bind names differ from every column name: SQLAlchemy would read a parameter named like a
    # column as a value to SET.
    steps = (
        sa.func.unnest(*(sa.bindparam(name, type_=pg.ARRAY(kind)) for name, _column, kind in _EVENT_COLUMNS))
        .table_valued(*(column for _name, column, _kind in _EVENT_COLUMNS))
        .render_derived(name="e")
    )
    rows = sa.select(
        steps.c.id, changed.c.id, steps.c.step, steps.c.channel, steps.c.provider, steps.c.detail, steps.c.at
    ).select_from(changed.join(steps, sa.true()))
    e = _EVENT.c
    columns_in = [e.id, e.communication_id, e.step, e.channel, e.provider, e.detail, e.at]
    return sa.insert(_EVENT).from_select(columns_in, rows).add_cte(*ctes)


async def apply(
    session: AsyncSession,
    tenant: TenantRef,
    communication_id: uuid.UUID,
    change: Change,
    *,
    events: Sequence[Event] = (),
    outbox: Outbox = Outbox.KEEP,
    delay: float = 0.0,
) -> None:
    """One statement: the change to the row, its steps, its outbox row (nothing if the row is gone)."""
    columns = tuple(sorted(change.values))
    parameters: dict[str, object] = {"communication": communication_id}
    parameters |= {f"set_{name}": value for name, value in change.values.items()}
    if outbox is not Outbox.KEEP:
        parameters |= {"outbox_tenant": tenant.id, "outbox_kind": OutboxKind.DELIVER.value}
    if outbox is Outbox.LATER:
        parameters["delay"] = delay
    if events:
        parameters |= {
            "event_ids": [uuid.uuid4() for _ in events],
            "steps": [event.step.value for event in events],
            "channels": [event.channel for event in events],
            "providers": [event.provider for event in events],
            "details": [event.detail for event in events],
            "ats": [event.at for event in events],
        }
    # On the connection, not the session: a Core statement, no ORM compilation around it.
    connection = await session.connection()
    await connection.execute(_statement(columns, change.count_attempt, bool(events), outbox), parameters)
