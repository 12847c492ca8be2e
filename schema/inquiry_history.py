"""`Inquiry.history`: one chronological list of what happened to an inquiry, each line with when,
what and who (a staff user, the guest or the system), and the message, quote or reminder it is
about. An interface, like a guest's `HistoryEvent`: clients ask for
`history { __typename at kind actor ... on InquiryMessageItem { communication { … } } }`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypedDict, TypeVar

import strawberry

from hospes.models.tenant import InquiryActor, InquiryEventKind, InquirySource, InquiryStage, LostReason
from hospes.models.tenant import InquiryEvent as InquiryEventRow
from hospes.resolvers import inquiry_outbound
from hospes.resolvers.context import Info
from hospes.resolvers.loaders import existing
from hospes.schema.access import StaffUser
from hospes.schema.communications import Communication
from hospes.schema.inquiry_quotes import InquiryQuote, InquiryReminder


async def _staff_user(info: Info, pk: uuid.UUID | None) -> StaffUser | None:
    """A staff user a history line names (None once the user is gone: the line outlives them)."""
    row = await info.context.loaders.staff_user.load(pk) if pk is not None else None
    return StaffUser.from_row(row) if row is not None else None


@strawberry.interface(description="One line of an inquiry's history: what happened, who did it, when.")
class InquiryHistoryItem:
    at: datetime
    kind: InquiryEventKind
    actor: InquiryActor = strawberry.field(
        description="STAFF, GUEST or SYSTEM (the scheduler, a partner's key)."
    )
    staff_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The staff user who did it, when it was one.")
    async def staff_user(self, info: Info) -> StaffUser | None:
        return await _staff_user(info, self.staff_pk)


@strawberry.type(
    description="The inquiry was received, changed stage, was assigned or edited (`fields` names "
    "what changed, never the values)."
)
class InquiryChangeItem(InquiryHistoryItem):
    source: InquirySource | None
    from_stage: InquiryStage | None
    to_stage: InquiryStage | None
    lost_reason: LostReason | None
    fields: list[str] | None
    assignee_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Whom it was assigned to (null: unassigned, or not an assignment).")
    async def assignee(self, info: Info) -> StaffUser | None:
        return await _staff_user(info, self.assignee_pk)


@strawberry.type(description="A message came in from the guest or went out to them.")
class InquiryMessageItem(InquiryHistoryItem):
    communication: Communication


@strawberry.type(description="A quote was made.")
class InquiryQuoteItem(InquiryHistoryItem):
    quote: InquiryQuote


@strawberry.type(
    description="A reminder was scheduled, sent or cancelled (`reason` says why it was cancelled: "
    "guest_wrote, confirmed, lost, cancelled)."
)
class InquiryReminderItem(InquiryHistoryItem):
    reminder: InquiryReminder
    reason: str | None


E = TypeVar("E", InquirySource, InquiryStage, LostReason)


def _enum_or_none(kind: type[E], value: object) -> E | None:
    return kind(value) if isinstance(value, str) else None


def _uuid_or_none(value: object) -> uuid.UUID | None:
    return uuid.UUID(value) if isinstance(value, str) else None


class _Common(TypedDict):
    at: datetime
    kind: InquiryEventKind
    actor: InquiryActor
    staff_pk: uuid.UUID | None


async def item_of(info: Info, row: InquiryEventRow) -> InquiryHistoryItem:
    """The history line `row` as its GraphQL item, with what it is about loaded in batches."""
    loaders = info.context.loaders
    common = _Common(
        at=row.at, kind=InquiryEventKind(row.kind), actor=InquiryActor(row.actor), staff_pk=row.staff_id
    )
    data = row.data or {}
    if row.communication_id is not None:
        message = await existing(loaders.communication, row.communication_id)
        return InquiryMessageItem(**common, communication=Communication.from_row(message))
    if row.quote_id is not None:
        quote = await existing(loaders.inquiry_quote, row.quote_id)
        inquiry = await existing(loaders.inquiry, row.inquiry_id)
        today = await inquiry_outbound.today_of(info.context, inquiry)
        return InquiryQuoteItem(**common, quote=InquiryQuote.from_row(quote, today=today))
    if row.reminder_id is not None:
        reminder = await existing(loaders.inquiry_reminder, row.reminder_id)
        reason = data.get("reason")
        return InquiryReminderItem(
            **common,
            reminder=InquiryReminder.from_row(reminder),
            reason=reason if isinstance(reason, str) else None,
        )
    fields = data.get("fields")
    return InquiryChangeItem(
        **common,
        source=_enum_or_none(InquirySource, data.get("source")),
        from_stage=_enum_or_none(InquiryStage, data.get("from")),
        to_stage=_enum_or_none(InquiryStage, data.get("to")),
        lost_reason=_enum_or_none(LostReason, data.get("reason")),
        fields=[str(name) for name in fields] if isinstance(fields, list) else None,
        assignee_pk=_uuid_or_none(data.get("assignee_id")),
    )
