"""Delivering one communication, exactly once in effect.

Underneath, delivery is at-least-once: a Dramatiq message may arrive twice, a worker may die, the
scheduler re-enqueues work whose lease ran out. The `communication` row makes it exactly-once in
effect. A task first claims the row (`sending_since`, committed) before calling the provider, and
records the outcome in a second transaction; a task that finds the row sent, failed, suppressed or
claimed by a live attempt does nothing. Only a failure that proves the provider did not take the
message is retried (`notifications.providers.failures` decides). A call that may have reached the
provider (a timeout or a dropped connection after the request went out, an unreadable answer) and a
claim whose worker died during the provider call cannot be told apart from a call that reached the
guest, so neither is retried: the message is marked `unknown`, and the provider's delivery report
(matched by the communication id we hand the provider) settles it.

Consent and channel are checked again here, at send time: a guest who withdrew consent after the
message was queued is not contacted."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hospes.models.columns import utcnow
from hospes.models.public import OutboxKind
from hospes.models.tenant import (
    Booking,
    BookingStatus,
    Channel,
    Communication,
    CommunicationEvent,
    CommunicationStatus,
    DeliveryStep,
    Direction,
    Guest,
    Inquiry,
    MessageClass,
)
from hospes.notifications import inquiry_addresses, outgoing, routing
from hospes.notifications.providers.base import (
    Accepted,
    DeliveryError,
    OutboundMessage,
    PermanentFailure,
    Provider,
    TransientFailure,
    UnknownOutcome,
)
from hospes.notifications.providers.failures import unanswered
from hospes.tasks import outbox
from hospes.tasks.runtime import Runtime
from hospes.tenancy.crypto import TenantKeys
from hospes.tenancy.encrypted_columns import MESSAGE_RECIPIENT, MESSAGE_SUBJECT
from hospes.tenancy.registry import TenantRef

log = logging.getLogger("hospes.delivery")

INTERRUPTED = (
    "interrupted during the provider call; not retried, so the guest is never contacted twice "
    "(the provider's delivery report settles it)"
)


@dataclass(frozen=True)
class Attempt:
    """A claimed attempt: what to hand the provider."""

    provider: Provider
    message: OutboundMessage


async def deliver(runtime: Runtime, *, tenant_id: uuid.UUID, communication_id: uuid.UUID) -> None:
    """Send one queued communication (the `messages.deliver` actor)."""
    tenant = await runtime.registry.by_id(tenant_id)
    if tenant is None or not tenant.active:
        log.warning("delivery skipped: tenant %s is gone or suspended", tenant_id)
        return
    while True:
        attempt = await _claim(runtime, tenant, communication_id)
        if attempt is None:
            return
        outcome = await _call_provider(attempt)
        again = await _record(runtime, tenant, communication_id, attempt, outcome)
        if not again:
            return


async def _done(session: AsyncSession, tenant: TenantRef, communication_id: uuid.UUID) -> None:
    await outbox.done(session, tenant_id=tenant.id, kind=OutboxKind.DELIVER, ref_id=communication_id)


async def _claim(  # noqa: PLR0911  (each early return is one reason not to send)
    runtime: Runtime, tenant: TenantRef, communication_id: uuid.UUID
) -> Attempt | None:
    """Phase 1: lock the row, decide whether this task may send it, and claim it."""
    settings = runtime.settings
    # A claim is only abandoned once its provider call must have ended, however slow the provider.
    lease = settings.outbox_lease_seconds + settings.provider_timeout_seconds
    async with runtime.transaction(tenant) as session:
        row = (
            await session.execute(
                sa.select(
                    Communication,
                    (
                        col(Communication.sending_since)
                        < sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, lease)
                    ).label("stale"),
                )
                .where(col(Communication.id) == communication_id)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:
            # Locked by a task working on it right now, or gone: either way, not ours.
            return None
        communication, stale = row
        if (
            communication.direction != Direction.OUT.value
            or communication.status != CommunicationStatus.QUEUED
        ):
            await _done(session, tenant, communication_id)
            return None
        if communication.sending_since is not None:
            if not stale:
                return None  # a live attempt owns it
            _finish(communication, CommunicationStatus.UNKNOWN, error=INTERRUPTED)
            outgoing.add_event(session, communication, DeliveryStep.UNKNOWN, detail=INTERRUPTED)
            await _done(session, tenant, communication_id)
            return None
        guest = await _guest_of(session, communication)
        if guest is None and communication.recipient_enc is None:
            return None
        keys = await runtime.keys(
            session,
            tenant,
            guest.email_enc if guest else None,
            guest.phone_enc if guest else None,
            communication.subject_enc,
            communication.body_enc,
            communication.recipient_enc,
            communication.secrets_enc,
        )
        override = MESSAGE_RECIPIENT.read(communication, keys)
        recipient = outgoing.recipient_of(guest, keys, override=override)
        reason = await _still_wanted(session, communication)
        decision: routing.Routed | routing.Suppressed = (
            routing.Suppressed(reason)
            if reason
            else routing.route(
                recipient,
                message_class=MessageClass(communication.message_class),
                requested=Channel(communication.channel) if communication.channel_requested else None,
                # A first attempt has failed nowhere yet: spare the query.
                exclude=await _failed_channels(session, communication_id) if communication.attempts else (),
            )
        )
        if isinstance(decision, routing.Suppressed):
            _finish(communication, CommunicationStatus.SUPPRESSED, error=decision.reason)
            outgoing.add_event(session, communication, DeliveryStep.SUPPRESSED, detail=decision.reason)
            await _done(session, tenant, communication_id)
            return None
        if decision.channel.value != communication.channel:
            _reroute(
                session,
                communication,
                tenant,
                keys,
                channel=decision.channel,
                why="the guest's channels or consent changed",
            )
        providers = await runtime.providers(session, tenant)
        provider = providers[decision.channel]
        communication.sending_since = utcnow()
        communication.attempts += 1
        outgoing.add_event(session, communication, DeliveryStep.SENDING, provider=provider.name)
        address = recipient.email if decision.channel is Channel.EMAIL else recipient.phone
        assert address is not None  # routing only picks a channel it can reach
        subject, body = outgoing.as_sent(communication, keys)
        reply_to, message_id = await _inquiry_headers(
            runtime, session, tenant, communication, decision.channel
        )
        return Attempt(
            provider=provider,
            message=OutboundMessage(
                communication_id=communication.id,
                tenant_id=tenant.id,
                channel=decision.channel,
                to=address,
                subject=subject,
                body=body,
                status_callback=_status_callback(runtime, tenant, communication.id, decision.channel),
                reply_to=reply_to,
                message_id=message_id,
            ),
        )


async def _inquiry_headers(
    runtime: Runtime,
    session: AsyncSession,
    tenant: TenantRef,
    communication: Communication,
    channel: Channel,
) -> tuple[str | None, str | None]:
    """Reply-To and Message-ID of an email about an inquiry, on the inbound domain: the guest's
    answer comes back to that inquiry (by its Reply-To address, or by the Message-ID quoted in
    In-Reply-To). Without an inbound domain, neither: the provider sets its own Message-ID."""
    domain = runtime.settings.inbound_email_domain
    if channel is not Channel.EMAIL or communication.inquiry_id is None or not domain:
        return None, None
    inquiry = await session.get(Inquiry, communication.inquiry_id)
    if inquiry is None:
        return None, None
    return (
        inquiry_addresses.reply_address(tenant.slug, inquiry.reply_token, domain),
        inquiry_addresses.message_id(communication.id, domain),
    )


async def _guest_of(session: AsyncSession, communication: Communication) -> Guest | None:
    """The message's guest; None for a mail to an address no guest record holds yet."""
    if communication.guest_id is None:
        return None
    return await session.get(Guest, communication.guest_id)


async def _still_wanted(session: AsyncSession, communication: Communication) -> str | None:
    """Why a queued message should no longer go, if it should not: a lifecycle message whose
    booking was cancelled meanwhile."""
    if communication.template_key in outgoing.LIFECYCLE_KEYS and communication.booking_id is not None:
        booking = await session.get(Booking, communication.booking_id)
        if booking is not None and booking.status == BookingStatus.CANCELLED.value:
            return "booking cancelled"
    return None


async def _failed_channels(session: AsyncSession, communication_id: uuid.UUID) -> list[Channel]:
    """The channels this message already failed on for good (skipped when routing again)."""
    rows = await session.scalars(
        sa.select(col(CommunicationEvent.channel))
        .where(
            col(CommunicationEvent.communication_id) == communication_id,
            col(CommunicationEvent.step) == DeliveryStep.FAILED.value,
        )
        .distinct()
    )
    return [Channel(channel) for channel in rows if channel]


def _status_callback(
    runtime: Runtime, tenant: TenantRef, communication_id: uuid.UUID, channel: Channel
) -> str | None:
    base = runtime.settings.public_url
    if not base or channel is Channel.EMAIL:
        return None
    return f"{base.rstrip('/')}/webhooks/twilio/status?t={tenant.id}&c={communication_id}"


def _reroute(
    session: AsyncSession,
    communication: Communication,
    tenant: TenantRef,
    keys: TenantKeys,
    *,
    channel: Channel,
    why: str,
) -> None:
    """Move the message to another channel. The text stays the one rendered when it was queued (it
    may hold a link issued only then)."""
    before = communication.channel
    communication.channel = channel.value
    subject = MESSAGE_SUBJECT.read(communication, keys)
    MESSAGE_SUBJECT.write(communication, keys, outgoing.subject_for(channel, subject, tenant))
    outgoing.add_event(
        session, communication, DeliveryStep.REROUTED, detail=f"{before} → {channel.value}: {why}"
    )


async def _call_provider(attempt: Attempt) -> Accepted | DeliveryError:
    """Phase 2: the provider call, outside any transaction."""
    provider = attempt.provider
    try:
        return await asyncio.to_thread(provider.send, attempt.message)
    except DeliveryError as error:
        return error
    except Exception as error:
        # A bug or an unexpected library error; retried only if it proves nothing went out.
        log.exception("provider %s raised unexpectedly", provider.name)
        return unanswered(error, provider=provider.name)


def _finish(communication: Communication, status: CommunicationStatus, *, error: str | None = None) -> None:
    communication.status = status.value
    communication.status_at = utcnow()
    communication.sending_since = None
    communication.error = error
    if status is CommunicationStatus.SENT:
        communication.sent_at = communication.status_at


def backoff_seconds(runtime: Runtime, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff from the first retry, capped; a provider's Retry-After is honoured."""
    settings = runtime.settings
    delay = min(
        settings.delivery_backoff_seconds * 2 ** max(attempts - 1, 0), settings.delivery_backoff_max_seconds
    )
    return max(delay, retry_after or 0.0)


async def _record(  # noqa: PLR0911  (one return per kind of outcome)
    runtime: Runtime,
    tenant: TenantRef,
    communication_id: uuid.UUID,
    attempt: Attempt,
    outcome: Accepted | DeliveryError,
) -> bool:
    """Phase 3: record the outcome. True when the message should be tried again at once on a
    fallback channel (a permanent failure with somewhere else to go)."""
    async with runtime.transaction(tenant) as session:
        communication = await session.scalar(
            sa.select(Communication).where(col(Communication.id) == communication_id).with_for_update()
        )
        if communication is None:
            return False
        if isinstance(outcome, Accepted):
            communication.provider = outcome.provider
            communication.provider_message_id = outcome.provider_message_id
            _finish(communication, CommunicationStatus.SENT)
            outgoing.add_event(session, communication, DeliveryStep.SENT, provider=outcome.provider)
            await _done(session, tenant, communication_id)
            return False
        communication.provider = outcome.provider
        if isinstance(outcome, UnknownOutcome):
            _finish(communication, CommunicationStatus.UNKNOWN, error=outcome.reason)
            outgoing.add_event(
                session, communication, DeliveryStep.UNKNOWN, provider=outcome.provider, detail=outcome.reason
            )
            await _done(session, tenant, communication_id)
            return False
        if isinstance(outcome, TransientFailure):
            if communication.attempts >= runtime.settings.delivery_max_attempts:
                error = f"gave up after {communication.attempts} attempts: {outcome.reason}"
                _finish(communication, CommunicationStatus.FAILED, error=error)
                outgoing.add_event(
                    session, communication, DeliveryStep.FAILED, provider=outcome.provider, detail=error
                )
                await _done(session, tenant, communication_id)
                return False
            delay = backoff_seconds(runtime, communication.attempts, outcome.retry_after)
            communication.sending_since = None
            communication.error = outcome.reason
            outgoing.add_event(
                session,
                communication,
                DeliveryStep.RETRYING,
                provider=outcome.provider,
                detail=f"{outcome.reason}; next attempt in {delay:.0f} s",
            )
            await outbox.retry_later(
                session,
                tenant_id=tenant.id,
                kind=OutboxKind.DELIVER,
                ref_id=communication_id,
                delay_seconds=delay,
            )
            return False
        assert isinstance(outcome, PermanentFailure)
        outgoing.add_event(
            session, communication, DeliveryStep.FAILED, provider=outcome.provider, detail=outcome.reason
        )
        communication.sending_since = None
        communication.error = outcome.reason
        guest = await _guest_of(session, communication)
        fallback: routing.Routed | routing.Suppressed = routing.Suppressed("no guest")
        if guest is not None and not communication.channel_requested:
            keys = await runtime.keys(
                session, tenant, guest.email_enc, guest.phone_enc, communication.subject_enc
            )
            fallback = routing.fallback_after(
                attempt.message.channel,
                outgoing.recipient_of(guest, keys),
                message_class=MessageClass(communication.message_class),
                tried=[*await _failed_channels(session, communication_id), attempt.message.channel],
            )
            if isinstance(fallback, routing.Routed):
                _reroute(session, communication, tenant, keys, channel=fallback.channel, why=outcome.reason)
                return True
        _finish(communication, CommunicationStatus.FAILED, error=outcome.reason)
        await _done(session, tenant, communication_id)
        return False
