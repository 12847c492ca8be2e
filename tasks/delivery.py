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
message was queued is not contacted.

The path is Core statements, no ORM (`tasks/delivery_sql.py`): the claim is one `SELECT … FOR UPDATE
SKIP LOCKED` that reads the row with everything the decision needs (guest, booking, inquiry, failed
channels), then one statement that writes the decision (the row, its timeline, the outbox); the
outcome is one statement (a permanent failure reads the facts again first, to fall back)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import (
    BookingStatus,
    Channel,
    CommunicationStatus,
    DeliveryStep,
    Direction,
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
from hospes.tasks.delivery_sql import (
    Change,
    Event,
    Facts,
    Outbox,
    apply,
    claimed,
    facts_of,
    finished,
    released,
)
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
    """A claimed attempt: what to hand the provider, and the attempt's number."""

    provider: Provider
    message: OutboundMessage
    attempts: int


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


def _lease(runtime: Runtime) -> float:
    # A claim is only abandoned once its provider call must have ended, however slow the provider.
    return runtime.settings.outbox_lease_seconds + runtime.settings.provider_timeout_seconds


async def _claim(runtime: Runtime, tenant: TenantRef, communication_id: uuid.UUID) -> Attempt | None:
    """Phase 1: lock the row, decide whether this task may send it, and claim it."""
    async with runtime.transaction(tenant) as session:
        facts = await facts_of(session, communication_id, lease_seconds=_lease(runtime), skip_locked=True)
        if facts is None:
            # Locked by a task working on it right now, or gone: either way, not ours.
            return None
        if facts.direction != Direction.OUT.value or facts.status != CommunicationStatus.QUEUED:
            await apply(session, tenant, facts.id, Change(), outbox=Outbox.DONE)
            return None
        if facts.sending_since is not None:
            if facts.stale:
                await _finish(session, tenant, facts, CommunicationStatus.UNKNOWN, error=INTERRUPTED)
            return None  # else a live attempt owns it
        if facts.guest is None and facts.recipient_enc is None:
            return None
        guest = facts.guest
        keys = await runtime.keys(
            session,
            tenant,
            guest.email_enc if guest else None,
            guest.phone_enc if guest else None,
            facts.subject_enc,
            facts.body_enc,
            facts.recipient_enc,
            facts.secrets_enc,
        )
        override = MESSAGE_RECIPIENT.unseal(keys, facts.recipient_enc)
        recipient = outgoing.recipient_of(guest, keys, override=override)
        reason = _no_longer_wanted(facts)
        decision: routing.Routed | routing.Suppressed = (
            routing.Suppressed(reason)
            if reason
            else routing.route(
                recipient,
                message_class=MessageClass(facts.message_class),
                requested=Channel(facts.channel) if facts.channel_requested else None,
                exclude=facts.failed_channels,
            )
        )
        if isinstance(decision, routing.Suppressed):
            await _finish(session, tenant, facts, CommunicationStatus.SUPPRESSED, error=decision.reason)
            return None
        providers = await runtime.providers(session, tenant)
        provider = providers[decision.channel]
        change = claimed()
        events: list[Event] = []
        subject_enc = facts.subject_enc
        if decision.channel.value != facts.channel:
            change, subject_enc, rerouted = _reroute(
                change,
                facts,
                tenant,
                keys,
                channel=decision.channel,
                why="the guest's channels or consent changed",
            )
            events.append(rerouted)
        events.append(Event(DeliveryStep.SENDING, decision.channel.value, provider=provider.name))
        await apply(session, tenant, facts.id, change, events=events)
        address = recipient.email if decision.channel is Channel.EMAIL else recipient.phone
        assert address is not None  # routing only picks a channel it can reach
        subject, body = outgoing.as_sent(_Sealed(subject_enc, facts.body_enc, facts.secrets_enc), keys)
        reply_to, message_id = _inquiry_headers(runtime, tenant, facts, decision.channel)
        return Attempt(
            provider=provider,
            message=OutboundMessage(
                communication_id=facts.id,
                tenant_id=tenant.id,
                channel=decision.channel,
                to=address,
                subject=subject,
                body=body,
                status_callback=_status_callback(runtime, tenant, facts.id, decision.channel),
                reply_to=reply_to,
                message_id=message_id,
            ),
            attempts=facts.attempts + 1,
        )


@dataclass(frozen=True)
class _Sealed:
    subject_enc: bytes | None
    body_enc: bytes | None
    secrets_enc: bytes | None


def _inquiry_headers(
    runtime: Runtime, tenant: TenantRef, facts: Facts, channel: Channel
) -> tuple[str | None, str | None]:
    """Reply-To and Message-ID of an email about an inquiry, on the inbound domain: the guest's
    answer comes back to that inquiry (by its Reply-To address, or by the Message-ID quoted in
    In-Reply-To). Without an inbound domain, neither: the provider sets its own Message-ID."""
    domain = runtime.settings.inbound_email_domain
    if channel is not Channel.EMAIL or facts.inquiry_reply_token is None or not domain:
        return None, None
    return (
        inquiry_addresses.reply_address(tenant.slug, facts.inquiry_reply_token, domain),
        inquiry_addresses.message_id(facts.id, domain),
    )


def _no_longer_wanted(facts: Facts) -> str | None:
    """Why a queued message should no longer go, if it should not: a lifecycle message whose
    booking was cancelled meanwhile."""
    if (
        facts.template_key in outgoing.LIFECYCLE_KEYS
        and facts.booking_status == BookingStatus.CANCELLED.value
    ):
        return "booking cancelled"
    return None


def _status_callback(
    runtime: Runtime, tenant: TenantRef, communication_id: uuid.UUID, channel: Channel
) -> str | None:
    base = runtime.settings.public_url
    if not base or channel is Channel.EMAIL:
        return None
    return f"{base.rstrip('/')}/webhooks/twilio/status?t={tenant.id}&c={communication_id}"


def _reroute(
    change: Change, facts: Facts, tenant: TenantRef, keys: TenantKeys, *, channel: Channel, why: str
) -> tuple[Change, bytes | None, Event]:
    """Move the message to another channel: the change with its new channel and subject, the new
    subject's ciphertext, and the timeline's step. The text stays the one rendered when it was
    queued (it may hold a link issued only then)."""
    subject = MESSAGE_SUBJECT.unseal(keys, facts.subject_enc)
    subject_enc = MESSAGE_SUBJECT.seal(keys, outgoing.subject_for(channel, subject, tenant))
    moved = change.with_(channel=channel.value, subject_enc=subject_enc)
    event = Event(DeliveryStep.REROUTED, channel.value, detail=f"{facts.channel} → {channel.value}: {why}")
    return moved, subject_enc, event


async def _finish(
    session: AsyncSession, tenant: TenantRef, facts: Facts, status: CommunicationStatus, *, error: str
) -> None:
    """A claim-time end (suppressed, or an interrupted attempt now unknown): the row, its step, the
    outbox row gone."""
    step = DeliveryStep.SUPPRESSED if status is CommunicationStatus.SUPPRESSED else DeliveryStep.UNKNOWN
    await apply(
        session,
        tenant,
        facts.id,
        finished(status, error=error),
        events=[Event(step, facts.channel, detail=error)],
        outbox=Outbox.DONE,
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


def backoff_seconds(runtime: Runtime, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff from the first retry, capped; a provider's Retry-After is honoured."""
    settings = runtime.settings
    delay = min(
        settings.delivery_backoff_seconds * 2 ** max(attempts - 1, 0), settings.delivery_backoff_max_seconds
    )
    return max(delay, retry_after or 0.0)


async def _record(
    runtime: Runtime,
    tenant: TenantRef,
    communication_id: uuid.UUID,
    attempt: Attempt,
    outcome: Accepted | DeliveryError,
) -> bool:
    """Phase 3: record the outcome, in one statement. True when the message should be tried again
    at once on a fallback channel (a permanent failure with somewhere else to go)."""
    channel = attempt.message.channel.value
    async with runtime.transaction(tenant) as session:
        if isinstance(outcome, Accepted):
            change = finished(CommunicationStatus.SENT).with_(
                provider=outcome.provider, provider_message_id=outcome.provider_message_id
            )
            step = Event(DeliveryStep.SENT, channel, provider=outcome.provider)
            await apply(session, tenant, communication_id, change, events=[step], outbox=Outbox.DONE)
            return False
        if isinstance(outcome, UnknownOutcome):
            change = finished(CommunicationStatus.UNKNOWN, error=outcome.reason).with_(
                provider=outcome.provider
            )
            step = Event(DeliveryStep.UNKNOWN, channel, provider=outcome.provider, detail=outcome.reason)
            await apply(session, tenant, communication_id, change, events=[step], outbox=Outbox.DONE)
            return False
        if isinstance(outcome, TransientFailure):
            await _transient(
                runtime, session, tenant, communication_id=communication_id, attempt=attempt, outcome=outcome
            )
            return False
        assert isinstance(outcome, PermanentFailure)
        return await _permanent(
            runtime, session, tenant, communication_id=communication_id, attempt=attempt, outcome=outcome
        )


async def _transient(
    runtime: Runtime,
    session: AsyncSession,
    tenant: TenantRef,
    *,
    communication_id: uuid.UUID,
    attempt: Attempt,
    outcome: TransientFailure,
) -> None:
    """Try again later (the outbox's due time), or give up after the last attempt."""
    channel = attempt.message.channel.value
    if attempt.attempts >= runtime.settings.delivery_max_attempts:
        error = f"gave up after {attempt.attempts} attempts: {outcome.reason}"
        change = finished(CommunicationStatus.FAILED, error=error).with_(provider=outcome.provider)
        step = Event(DeliveryStep.FAILED, channel, provider=outcome.provider, detail=error)
        await apply(session, tenant, communication_id, change, events=[step], outbox=Outbox.DONE)
        return
    delay = backoff_seconds(runtime, attempt.attempts, outcome.retry_after)
    step = Event(
        DeliveryStep.RETRYING,
        channel,
        provider=outcome.provider,
        detail=f"{outcome.reason}; next attempt in {delay:.0f} s",
    )
    change = released(error=outcome.reason).with_(provider=outcome.provider)
    await apply(session, tenant, communication_id, change, events=[step], outbox=Outbox.LATER, delay=delay)


async def _permanent(
    runtime: Runtime,
    session: AsyncSession,
    tenant: TenantRef,
    *,
    communication_id: uuid.UUID,
    attempt: Attempt,
    outcome: PermanentFailure,
) -> bool:
    """Refused for good on this channel: fall back to another if the guest has one, else failed."""
    channel = attempt.message.channel
    facts = await facts_of(session, communication_id, lease_seconds=_lease(runtime), skip_locked=False)
    if facts is None:
        return False
    failed = Event(DeliveryStep.FAILED, channel.value, provider=outcome.provider, detail=outcome.reason)
    guest = facts.guest
    if guest is not None and not facts.channel_requested:
        keys = await runtime.keys(session, tenant, guest.email_enc, guest.phone_enc, facts.subject_enc)
        fallback = routing.fallback_after(
            channel,
            outgoing.recipient_of(guest, keys),
            message_class=MessageClass(facts.message_class),
            tried=[*facts.failed_channels, channel],
        )
        if isinstance(fallback, routing.Routed):
            change = released(error=outcome.reason).with_(provider=outcome.provider)
            change, _subject, rerouted = _reroute(
                change, facts, tenant, keys, channel=fallback.channel, why=outcome.reason
            )
            await apply(session, tenant, communication_id, change, events=[failed, rerouted])
            return True
    change = finished(CommunicationStatus.FAILED, error=outcome.reason).with_(provider=outcome.provider)
    await apply(session, tenant, communication_id, change, events=[failed], outbox=Outbox.DONE)
    return False
