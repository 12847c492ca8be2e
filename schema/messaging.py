"""Messaging: `sendMessage`, `previewMessage`, `messageTemplates`, `upsertMessageTemplate`, the
company's `messagingSettings`, and the types they return."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from hospes.models.tenant import Channel, MessageClass, ScheduledStatus
from hospes.models.tenant import MessageTemplate as MessageTemplateRow
from hospes.models.tenant import ScheduledMessage as ScheduledMessageRow
from hospes.notifications import templates
from hospes.resolvers import messaging
from hospes.resolvers.context import Info
from hospes.resolvers.messaging import (
    MessagingSettings,
    Preview,
    SendMessageInput,
    UpdateMessagingSettingsInput,
    UpsertMessageTemplateInput,
)
from hospes.resolvers.permissions import MANAGE_TEMPLATES, OWNER_ONLY, SEND_MESSAGES, STAFF_ONLY
from hospes.schema.communications import Communication
from hospes.schema.errors import UserError
from hospes.schema.ids import encode_id
from hospes.schema.pagination import Connection, connection
from hospes.services.rejections import Rejection


@strawberry.type(description="A lifecycle message of a booking and when it goes.")
class ScheduledMessage:
    template_key: str
    due_at: datetime
    status: ScheduledStatus
    communication_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: ScheduledMessageRow) -> ScheduledMessage:
        return cls(
            template_key=row.template_key,
            due_at=row.due_at,
            status=ScheduledStatus(row.status),
            communication_id=(
                strawberry.ID(encode_id("Communication", row.communication_id))
                if row.communication_id
                else None
            ),
        )


@strawberry.type(description="The text of one kind of message, in one language, for one channel or any.")
class MessageTemplate:
    id: strawberry.ID
    key: str
    language: str
    channel: Channel | None
    message_class: MessageClass
    subject: str | None
    body: str
    updated_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The placeholders this key offers, e.g. `guest_first_name`.")
    def placeholders(self) -> list[str]:
        return sorted(templates.placeholders_for(self.key))

    @classmethod
    def from_row(cls, row: MessageTemplateRow) -> MessageTemplate:
        return cls(
            id=strawberry.ID(encode_id("MessageTemplate", row.id)),
            key=row.key,
            language=row.language,
            channel=Channel(row.channel) if row.channel else None,
            message_class=MessageClass(row.message_class),
            subject=row.subject,
            body=row.body,
            updated_at=row.updated_at,
            pk=row.id,
        )


@strawberry.type
class SendMessagePayload:
    communication: Communication | None
    errors: list[UserError]


@strawberry.type
class UpsertMessageTemplatePayload:
    template: MessageTemplate | None
    errors: list[UserError]


@strawberry.type
class UpdateMessagingSettingsPayload:
    settings: MessagingSettings | None
    errors: list[UserError]


@strawberry.type
class MessagingQuery:
    @strawberry.field(permission_classes=[STAFF_ONLY], description="The message templates, by key.")
    async def message_templates(
        self,
        info: Info,
        key: str | None = None,
        language: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[MessageTemplate]:
        page, count = await messaging.list_templates(
            info.context, key=key, language=language, first=first, after=after
        )
        return connection(page, count, MessageTemplate.from_row)

    @strawberry.field(
        permission_classes=[STAFF_ONLY],
        description="A template rendered for a guest (and booking) as it would go now; sends nothing.",
    )
    async def preview_message(
        self,
        info: Info,
        template_key: str,
        guest_id: strawberry.ID,
        booking_id: strawberry.ID | None = None,
        channel: Channel | None = None,
    ) -> Preview:
        return await messaging.preview_message(
            info.context, template_key=template_key, guest_id=guest_id, booking_id=booking_id, channel=channel
        )

    @strawberry.field(permission_classes=[OWNER_ONLY], description="The company's message providers.")
    async def messaging_settings(self, info: Info) -> MessagingSettings:
        return await messaging.messaging_settings(info.context)


@strawberry.type
class MessagingMutation:
    @strawberry.mutation(permission_classes=[SEND_MESSAGES])
    async def send_message(self, info: Info, input: SendMessageInput) -> SendMessagePayload:
        outcome = await messaging.send_message(info.context, input)
        if isinstance(outcome, Rejection):
            return SendMessagePayload(communication=None, errors=outcome.errors)
        return SendMessagePayload(communication=Communication.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[MANAGE_TEMPLATES])
    async def upsert_message_template(
        self, info: Info, input: UpsertMessageTemplateInput
    ) -> UpsertMessageTemplatePayload:
        outcome = await messaging.upsert_template(info.context, input)
        if isinstance(outcome, Rejection):
            return UpsertMessageTemplatePayload(template=None, errors=outcome.errors)
        return UpsertMessageTemplatePayload(template=MessageTemplate.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[OWNER_ONLY])
    async def update_messaging_settings(
        self, info: Info, input: UpdateMessagingSettingsInput
    ) -> UpdateMessagingSettingsPayload:
        outcome = await messaging.update_messaging_settings(info.context, input)
        if isinstance(outcome, Rejection):
            return UpdateMessagingSettingsPayload(settings=None, errors=outcome.errors)
        return UpdateMessagingSettingsPayload(settings=outcome, errors=[])
