"""Provider callbacks: `/webhooks/sendgrid` (event webhook), `/webhooks/sendgrid/inbound` (Inbound
Parse: mail to a company's addresses), `/webhooks/twilio/status` and `/webhooks/twilio/inbound`.
Every request is verified against the provider's signature before anything is changed (403
otherwise); statuses only move forward; inbound messages are matched to their guest by blind index
inside the company that owns the receiving number or address."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hospes.models.tenant import (
    Channel,
    Communication,
    CommunicationStatus,
    DeliveryStep,
    Direction,
)
from hospes.notifications import callbacks, credentials, outgoing, signatures
from hospes.notifications.inbound_email import InboundEmail, InboundEmailError, parse_inbound_email
from hospes.notifications.inquiry_addresses import Recipient, parse_recipient
from hospes.notifications.providers import ProviderConfig
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.registry import TenantRef
from hospes.tenancy.resources import Resources

log = logging.getLogger("hospes.webhooks")
_SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
_SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
_TWILIO_SIGNATURE = "X-Twilio-Signature"
INBOUND_EMAIL_PATH = "/webhooks/sendgrid/inbound"
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_STEP = {
    CommunicationStatus.SENT: DeliveryStep.SENT,
    CommunicationStatus.DELIVERED: DeliveryStep.DELIVERED,
    CommunicationStatus.READ: DeliveryStep.READ,
    CommunicationStatus.FAILED: DeliveryStep.FAILED,
}


class InboundStore(Protocol):
    """Files an inbound message on its guest's history, in the caller's transaction. Filing it is
    a domain rule (an unknown sender becomes a guest) above this layer, so the app passes it in."""

    async def __call__(
        self,
        session: AsyncSession,
        *,
        keyring: Keyring,
        tenant: TenantRef,
        inbound: callbacks.InboundMessage,
    ) -> None: ...


class InboundEmailStore(Protocol):
    """Files an inbound mail on its guest and inquiry, in the caller's transaction, and says what
    became of it (a short word for the log). Passed in by the app, like `InboundStore`."""

    async def __call__(
        self,
        session: AsyncSession,
        *,
        keyring: Keyring,
        tenant: TenantRef,
        mail: InboundEmail,
        domain: str,
        reply_token: str | None,
    ) -> str: ...


def _refused() -> Response:
    return JSONResponse({"error": "invalid signature"}, status_code=403)


class Webhooks:
    """The webhook endpoints, over the app's shared resources."""

    def __init__(
        self, resources: Resources, *, store_inbound: InboundStore, store_inbound_email: InboundEmailStore
    ) -> None:
        self.resources = resources
        self.store_inbound = store_inbound
        self.store_inbound_email = store_inbound_email

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/sendgrid", self.sendgrid, methods=["POST"]),
            Route(INBOUND_EMAIL_PATH, self.sendgrid_inbound, methods=["POST"]),
            Route("/webhooks/twilio/status", self.twilio_status, methods=["POST"]),
            Route("/webhooks/twilio/inbound", self.twilio_inbound, methods=["POST"]),
        ]

    # --- shared -------------------------------------------------------------------------------

    def _session(self, tenant: TenantRef) -> AsyncSession:
        return self.resources.tenant_sessions.open(tenant.schema_name)

    async def _tenant_config(self, tenant: TenantRef) -> ProviderConfig:
        """The company's provider configuration over the global one."""
        async with self._session(tenant) as session, session.begin():
            own = await credentials.own_config(session, self.resources.keyring, tenant.schema_name)
        return credentials.effective(own, self.resources.settings)

    def _public_url(self, request: Request) -> str:
        """The URL the provider signed: the configured public address, else the request's own."""
        base = self.resources.settings.public_url
        if not base:
            return str(request.url)
        query = f"?{request.url.query}" if request.url.query else ""
        return f"{base.rstrip('/')}{request.url.path}{query}"

    async def _apply(self, tenant: TenantRef, updates: Iterable[callbacks.StatusUpdate]) -> int:
        """Apply status reports to the tenant's communications; returns how many changed one."""
        changed = 0
        async with self._session(tenant) as session, session.begin():
            for update in updates:
                communication = await _find(session, update)
                if communication is None:
                    continue
                current = CommunicationStatus(communication.status)
                if not callbacks.advances(current, update.status):
                    continue  # late or repeated report: statuses only move forward
                communication.status = update.status.value
                communication.status_at = update.at
                if update.status is CommunicationStatus.FAILED:
                    communication.error = update.detail or "reported failed by the provider"
                elif current in (CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN):
                    communication.error = None  # the provider's report settles what we did not know
                    # An interrupted send never recorded when it left; the report proves it did.
                    communication.sent_at = communication.sent_at or update.at
                if communication.provider_message_id is None and update.provider_message_id:
                    communication.provider_message_id = update.provider_message_id
                communication.provider = communication.provider or update.provider
                outgoing.add_event(
                    session,
                    communication,
                    _STEP[update.status],
                    provider=update.provider,
                    detail=update.detail,
                    at=update.at,
                )
                changed += 1
        return changed

    # --- SendGrid -----------------------------------------------------------------------------

    async def sendgrid(self, request: Request) -> Response:
        payload = await request.body()
        signature = request.headers.get(_SENDGRID_SIGNATURE)
        timestamp = request.headers.get(_SENDGRID_TIMESTAMP)
        global_key = self.resources.settings.sendgrid_webhook_public_key
        verified = bool(global_key) and signatures.verify_sendgrid(
            payload=payload, signature=signature, timestamp=timestamp, public_key=global_key or ""
        )
        try:
            updates = callbacks.sendgrid_events(payload)
        except callbacks.CallbackError:
            return _refused() if not verified else JSONResponse({"error": "malformed"}, status_code=400)
        by_tenant: dict[uuid.UUID, list[callbacks.StatusUpdate]] = defaultdict(list)
        for update in updates:
            if update.tenant_id is not None:
                by_tenant[update.tenant_id].append(update)
        if not verified:
            # A company with its own SendGrid account signs with its own key: accept a batch only
            # when it is about one company and verifies with that company's key.
            if len(by_tenant) != 1:
                return _refused()
            tenant = await self.resources.registry.by_id(next(iter(by_tenant)))
            own_key = (await self._tenant_config(tenant)).sendgrid_webhook_public_key if tenant else None
            if not own_key or not signatures.verify_sendgrid(
                payload=payload, signature=signature, timestamp=timestamp, public_key=own_key
            ):
                return _refused()
        for tenant_id, tenant_updates in by_tenant.items():
            tenant = await self.resources.registry.by_id(tenant_id)
            if tenant is not None:
                await self._apply(tenant, tenant_updates)
        return JSONResponse({"ok": True})

    async def sendgrid_inbound(self, request: Request) -> Response:
        """A mail SendGrid's Inbound Parse received for one of our addresses: at most
        `inbound_email_max_bytes` (413), signed with the inbound key (403), for a company that
        exists and is active (404, as for an address nobody owns), readable (400); filed once."""
        settings = self.resources.settings
        payload = await _body_within(request, settings.inbound_email_max_bytes)
        if payload is None:
            return JSONResponse({"error": "mail too large"}, status_code=413)
        key = settings.sendgrid_inbound_public_key
        if not key or not signatures.verify_sendgrid_raw(
            payload=payload,
            signature=request.headers.get(_SENDGRID_SIGNATURE),
            timestamp=request.headers.get(_SENDGRID_TIMESTAMP),
            public_key=key,
        ):
            return _refused()
        domain = settings.inbound_email_domain
        if not domain:
            log.warning("inbound email posted, but no HOSPES_INBOUND_EMAIL_DOMAIN is set")
            return JSONResponse({"error": "unknown address"}, status_code=404)
        try:
            mail = parse_inbound_email(request.headers.get("content-type", ""), payload)
        except InboundEmailError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        recipient = _our_recipient(mail.recipients, domain)
        tenant = await self.resources.registry.by_slug(recipient.slug) if recipient else None
        if recipient is None or tenant is None or not tenant.active:
            # A suspended company answers like an unknown one, as for the Twilio numbers.
            log.warning("inbound email to an address no company owns")
            return JSONResponse({"error": "unknown address"}, status_code=404)
        async with self._session(tenant) as session, session.begin():
            outcome = await self.store_inbound_email(
                session,
                keyring=self.resources.keyring,
                tenant=tenant,
                mail=mail,
                domain=domain,
                reply_token=recipient.reply_token,
            )
        log.info("inbound email for tenant %s: %s", tenant.slug, outcome)  # no address, subject or text
        return JSONResponse({"ok": True})

    # --- Twilio -------------------------------------------------------------------------------

    async def _verified_twilio(self, request: Request, tenant: TenantRef | None) -> bool:
        form = await request.form()
        config = (
            await self._tenant_config(tenant)
            if tenant
            else credentials.global_config(self.resources.settings)
        )
        if not config.twilio_auth_token:
            return False
        return signatures.verify_twilio(
            url=self._public_url(request),
            params=[(key, str(value)) for key, value in form.multi_items()],
            signature=request.headers.get(_TWILIO_SIGNATURE),
            auth_token=config.twilio_auth_token,
        )

    async def twilio_status(self, request: Request) -> Response:
        tenant = await self._tenant_from_query(request)
        if not await self._verified_twilio(request, tenant):
            return _refused()
        if tenant is None:
            return JSONResponse({"error": "unknown company"}, status_code=404)
        form = await request.form()
        try:
            update = callbacks.twilio_status(
                {key: str(value) for key, value in form.items()}, dict(request.query_params)
            )
        except callbacks.CallbackError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        if update is not None:
            await self._apply(tenant, [update])
        return Response(status_code=204)

    async def _tenant_from_query(self, request: Request) -> TenantRef | None:
        try:
            tenant_id = uuid.UUID(request.query_params.get(callbacks.TWILIO_TENANT_PARAM, ""))
        except ValueError:
            return None
        return await self.resources.registry.by_id(tenant_id)

    async def twilio_inbound(self, request: Request) -> Response:
        form = await request.form()
        fields = {key: str(value) for key, value in form.items()}
        receiving = fields.get("To", "")
        channel = Channel.WHATSAPP if receiving.startswith("whatsapp:") else Channel.SMS
        address = receiving.removeprefix("whatsapp:")
        owner = await credentials.owner_of(self.resources.engine, channel=channel, address=address)
        tenant = await self.resources.registry.by_id(owner) if owner else None
        if not await self._verified_twilio(request, tenant):
            return _refused()
        if tenant is None or not tenant.active:
            log.warning("inbound %s message to a number no company owns", channel.value)
            return JSONResponse({"error": "unknown number"}, status_code=404)
        try:
            inbound = callbacks.twilio_inbound(fields)
        except callbacks.CallbackError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        await self._store_inbound(tenant, inbound)
        return Response(_EMPTY_TWIML, media_type="text/xml")

    async def _store_inbound(self, tenant: TenantRef, inbound: callbacks.InboundMessage) -> None:
        async with self._session(tenant) as session, session.begin():
            await self.store_inbound(session, keyring=self.resources.keyring, tenant=tenant, inbound=inbound)


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it is longer than `limit` bytes (declared or received)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _our_recipient(addresses: Iterable[str], domain: str) -> Recipient | None:
    """The company the mail is for (the first of our addresses in the envelope), with an
    inquiry's reply token if the mail went to that company's Reply-To address of one."""
    ours = [found for found in (parse_recipient(address, domain) for address in addresses) if found]
    if not ours:
        return None
    same_company = [found for found in ours if found.slug == ours[0].slug]
    return next((found for found in same_company if found.reply_token), same_company[0])


async def _find(session: AsyncSession, update: callbacks.StatusUpdate) -> Communication | None:
    condition = (
        col(Communication.id) == update.communication_id
        if update.communication_id is not None
        else col(Communication.provider_message_id) == update.provider_message_id
    )
    if update.communication_id is None and update.provider_message_id is None:
        return None
    result: Communication | None = await session.scalar(
        sa.select(Communication)
        .where(condition, col(Communication.direction) == Direction.OUT.value)
        .with_for_update()
    )
    return result
