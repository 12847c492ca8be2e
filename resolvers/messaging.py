"""Messaging for staff and partners: send a message, preview one, edit templates, and set the
company's own provider credentials. The rules and SQL are `services/messaging.py`'s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import Booking, Channel, Communication, MessageClass, MessageTemplate
from hospes.notifications import credentials, outgoing, routing, templates
from hospes.notifications.providers import ProviderConfig, build_providers
from hospes.notifications.providers.log import LogProvider
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.resolvers.pagination import Page, Sort, keyset_page
from hospes.schema.errors import UserErrorCode, bad_input, not_found
from hospes.schema.ids import decode_id
from hospes.schema.inputs import SendMessageInput, UpdateMessagingSettingsInput, UpsertMessageTemplateInput
from hospes.schema.outgoing import MessagingSettings, Preview
from hospes.services import messaging
from hospes.services.rejections import Problems, Rejection
from hospes.settings import Settings
from hospes.tenancy.tenant_settings import TenantSettings

BY_KEY = Sort("key", *messaging.LIST_ORDER, "text", descending=False)
SUBJECT_MAX = 500
BODY_MAX = 10_000
# What a preview shows where the sent message will carry a freshly issued link.
LINK_PLACEHOLDER = "(link issued when sent)"


# --- sending ------------------------------------------------------------------------------------


def _clean_send(problems: Problems, data: SendMessageInput) -> tuple[str | None, str | None, str | None]:
    key = check.text(problems, "templateKey", data.template_key, max_length=50)
    subject = check.text(problems, "subject", data.subject, max_length=SUBJECT_MAX)
    body = check.text(problems, "body", data.body, max_length=BODY_MAX)
    if key is not None and body is not None:
        problems.add("body", UserErrorCode.INVALID, "Send a template key or a body, not both.")
    elif key is None and body is None and not any(error.field == "body" for error in problems.errors):
        problems.add("body", UserErrorCode.REQUIRED, "Send a template key or a body.")
    if key is not None and not templates.is_valid_key(key):
        problems.add("templateKey", UserErrorCode.INVALID, "Not a template key.")
    return key, subject, body


async def send_message(ctx: Context, data: SendMessageInput) -> Communication | Rejection:
    """Queue a message to a guest (or record it as suppressed, with why). Staff and partners with
    `messages:send`."""
    problems = Problems()
    guest_pk = check.object_id(problems, "guestId", "Guest", data.guest_id)
    booking_pk = (
        check.object_id(problems, "bookingId", "Booking", data.booking_id)
        if data.booking_id is not None
        else None
    )
    key, subject, body = _clean_send(problems, data)
    if problems or guest_pk is None:
        return problems.rejection()
    tenant, keyring, actor = ctx.tenant, ctx.resources.keyring, ctx.principal
    lease_seconds = ctx.resources.settings.outbox_lease_seconds
    return await ctx.write(
        lambda session: messaging.send_message(
            session,
            tenant=tenant,
            keyring=keyring,
            actor=actor,
            guest_id=guest_pk,
            booking_id=booking_pk,
            template_key=key,
            subject=subject,
            body=body,
            channel=data.channel,
            message_class=data.message_class,
            lease_seconds=lease_seconds,
        )
    )


async def preview_message(
    ctx: Context, *, template_key: str, guest_id: str, booking_id: str | None, channel: Channel | None
) -> Preview:
    """The message as it would go now: channel, language, subject and body. Sends nothing."""
    if not templates.is_valid_key(template_key):
        raise bad_input("Not a template key.")
    guest_pk = decode_id("Guest", guest_id)
    guest = await ctx.scalar(messaging.guest_query(guest_pk)) if guest_pk else None
    if guest is None:
        raise not_found("Guest")
    booking: Booking | None = None
    if booking_id is not None:
        booking_pk = decode_id("Booking", booking_id)
        booking = await ctx.scalar(messaging.booking_query(booking_pk)) if booking_pk else None
        if booking is None or booking.guest_id != guest.id:
            raise not_found("Booking")
    keys = await ctx.keys(guest.email_enc, guest.phone_enc)
    decision = routing.route(
        outgoing.recipient_of(guest, keys),
        message_class=templates.class_for(template_key) or MessageClass.TRANSACTIONAL,
        requested=channel,
    )
    chosen = decision.channel if isinstance(decision, routing.Routed) else (channel or Channel.EMAIL)
    link = f"{TenantSettings.of(ctx.tenant).portal_base_url}/{LINK_PLACEHOLDER}"
    async with ctx.lock:
        try:
            rendered = await outgoing.render(
                ctx.session(),
                tenant=ctx.tenant,
                keys=keys,
                key=template_key,
                language=guest.language,
                channel=chosen,
                guest=guest,
                booking=booking,
                extra={"portal_link": link, "set_password_link": link},
            )
        except outgoing.NoTemplate:
            raise not_found("Template") from None
    return Preview(
        channel=chosen,
        language=rendered.language,
        subject=rendered.subject,
        body=rendered.body,
        suppressed_reason=decision.reason if isinstance(decision, routing.Suppressed) else None,
    )


# --- templates ----------------------------------------------------------------------------------


async def list_templates(
    ctx: Context, *, key: str | None, language: str | None, first: int | None, after: str | None
) -> tuple[Page, Callable[[], Awaitable[int]]]:
    page = await keyset_page(
        ctx,
        query=messaging.templates_query(key=key, language=language),
        sort=BY_KEY,
        first=first,
        after=after,
    )

    async def total() -> int:
        return int(await ctx.scalar(messaging.templates_count_query(key=key, language=language)))

    return page, total


async def upsert_template(ctx: Context, data: UpsertMessageTemplateInput) -> MessageTemplate | Rejection:
    """Create or replace the template for (key, language, channel). Placeholders are checked
    against the ones the key offers now, so a template never fails when it is sent."""
    problems = Problems()
    key = data.key.strip()
    if not templates.is_valid_key(key):
        problems.add("key", UserErrorCode.INVALID, "Use 3-50 lower-case letters, digits and '_'.")
    language = check.language(problems, "language", data.language)
    subject = data.subject if data.subject is None or data.subject.strip() else None
    fixed_class = templates.class_for(key) if templates.is_valid_key(key) else None
    if fixed_class is not None and data.message_class not in (None, fixed_class):
        problems.add("messageClass", UserErrorCode.INVALID, f"{key} messages are always {fixed_class.value}.")
    if templates.is_valid_key(key):
        for problem in templates.check_template(key=key, subject=subject, body=data.body):
            problems.add(problem.field, UserErrorCode.INVALID, problem.message)
    if problems or language is None:
        return problems.rejection()
    message_class = fixed_class or data.message_class or MessageClass.TRANSACTIONAL
    actor = ctx.principal
    return await ctx.write(
        lambda session: messaging.save_template(
            session,
            actor=actor,
            key=key,
            language=language,
            channel=data.channel,
            message_class=message_class,
            subject=subject,
            body=data.body,
        )
    )


# --- the company's own providers ----------------------------------------------------------------


def _describe(own: ProviderConfig | None, settings: Settings) -> MessagingSettings:
    merged = credentials.effective(own, settings)
    # The providers the worker would build: the same rule decides, not a copy of it.
    providers = build_providers(merged, log_provider=LogProvider())
    return MessagingSettings(
        email_provider=providers[Channel.EMAIL].name,
        sms_provider=providers[Channel.SMS].name,
        whatsapp_provider=providers[Channel.WHATSAPP].name,
        email_from=merged.email_from,
        sms_from=merged.sms_from,
        whatsapp_from=merged.whatsapp_from,
        own_sendgrid_key=bool(own and own.sendgrid_api_key),
        own_twilio_account=bool(own and own.twilio_account_sid),
    )


async def _own_config(ctx: Context, session: AsyncSession) -> ProviderConfig | None:
    return await credentials.own_config(session, ctx.resources.keyring, ctx.tenant.schema_name)


async def messaging_settings(ctx: Context) -> MessagingSettings:
    async with ctx.lock:
        own = await _own_config(ctx, ctx.session())
    return _describe(own, ctx.resources.settings)


def _clean_credentials(problems: Problems, data: UpdateMessagingSettingsInput) -> dict[str, Any]:
    region = None
    given: dict[str, Any] = {}
    for item in fields(UpdateMessagingSettingsInput):
        value = getattr(data, item.name)
        if value is strawberry.UNSET:
            continue
        field_name = "".join(part if i == 0 else part.title() for i, part in enumerate(item.name.split("_")))
        if value is None or not str(value).strip():
            given[item.name] = None
        elif item.name == "email_from":
            given[item.name] = check.email(problems, field_name, value)
        elif item.name in ("sms_from", "whatsapp_from"):
            given[item.name] = check.phone(problems, field_name, value, region=region)
        else:
            given[item.name] = check.text(problems, field_name, value, max_length=500)
    return given


async def update_messaging_settings(
    ctx: Context, data: UpdateMessagingSettingsInput
) -> MessagingSettings | Rejection:
    """Set or remove the company's own credentials (owners). Stored encrypted; its senders are
    claimed for inbound messages."""
    problems = Problems()
    given = _clean_credentials(problems, data)
    if problems:
        return problems.rejection()
    tenant, keyring, actor, settings = (
        ctx.tenant,
        ctx.resources.keyring,
        ctx.principal,
        ctx.resources.settings,
    )

    async def work(session: AsyncSession) -> MessagingSettings | Rejection:
        outcome = await messaging.save_credentials(
            session, tenant=tenant, keyring=keyring, actor=actor, given=given
        )
        return outcome if isinstance(outcome, Rejection) else _describe(outcome, settings)

    return await ctx.write(work)
