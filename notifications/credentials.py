"""A company's own provider credentials: one encrypted JSON document in its schema, merged over the
global settings, and the sender numbers/addresses it claims for inbound messages."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, fields

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from hospes.models.public import MessagingAddress
from hospes.models.tenant import Channel, ProviderSettings
from hospes.notifications.providers import ProviderConfig
from hospes.settings import Settings
from hospes.tenancy.crypto import TenantKeys, versions_in
from hospes.tenancy.encrypted_columns import PROVIDER_CONFIG
from hospes.tenancy.keyring import Keyring


def global_config(settings: Settings) -> ProviderConfig:
    """The providers configured for every company in `HOSPES_*` settings."""
    return ProviderConfig(
        email_from=settings.email_from,
        sendgrid_api_key=settings.sendgrid_api_key.get_secret_value() if settings.sendgrid_api_key else None,
        sendgrid_base_url=settings.sendgrid_base_url,
        twilio_account_sid=settings.twilio_account_sid,
        twilio_auth_token=settings.twilio_auth_token.get_secret_value()
        if settings.twilio_auth_token
        else None,
        twilio_base_url=settings.twilio_base_url,
        sms_from=settings.twilio_sms_from,
        whatsapp_from=settings.twilio_whatsapp_from,
        timeout_seconds=settings.provider_timeout_seconds,
        sendgrid_webhook_public_key=settings.sendgrid_webhook_public_key,
    )


async def own_config(session: AsyncSession, keyring: Keyring, schema_name: str) -> ProviderConfig | None:
    """The company's own provider configuration (decrypted), or None if it has set none."""
    row = await session.get(ProviderSettings, True)
    if row is None:
        return None
    keys = await keyring.keys(session, schema_name, versions=versions_in([row.config_enc]))
    data = json.loads(PROVIDER_CONFIG.read(row, keys) or "{}")
    known = {item.name for item in fields(ProviderConfig)}
    return ProviderConfig(**{name: value for name, value in data.items() if name in known})


def effective(own: ProviderConfig | None, settings: Settings) -> ProviderConfig:
    """What a company's messages go through: its own configuration over the global one."""
    return (own or ProviderConfig()).merged_over(global_config(settings))


async def save(
    session: AsyncSession, *, tenant_id: uuid.UUID, keys: TenantKeys, config: ProviderConfig
) -> None:
    """Store the company's credentials and claim its senders for inbound routing. Raises
    `AddressTaken` when another company already owns one of the senders."""
    document = {name: value for name, value in asdict(config).items() if value is not None}
    blob = PROVIDER_CONFIG.seal(keys, json.dumps(document))
    statement = insert(ProviderSettings).values(id=True, config_enc=blob, updated_at=sa.func.now())
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"config_enc": blob, "updated_at": sa.func.now()}
        )
    )
    await session.execute(sa.delete(MessagingAddress).where(col(MessagingAddress.tenant_id) == tenant_id))
    senders = {
        Channel.EMAIL: config.email_from,
        Channel.SMS: config.sms_from,
        Channel.WHATSAPP: config.whatsapp_from,
    }
    for channel, address in senders.items():
        if not address:
            continue
        owner = await session.scalar(
            sa.select(col(MessagingAddress.tenant_id)).where(
                col(MessagingAddress.channel) == channel.value,
                col(MessagingAddress.address) == address.lower(),
            )
        )
        if owner is not None and owner != tenant_id:
            raise AddressTaken(channel)
        session.add(
            MessagingAddress(
                id=uuid.uuid4(), channel=channel.value, address=address.lower(), tenant_id=tenant_id
            )
        )
    await session.flush()


class AddressTaken(Exception):
    def __init__(self, channel: Channel) -> None:
        super().__init__(channel.value)
        self.channel = channel


async def owner_of(engine: AsyncEngine, *, channel: Channel, address: str) -> uuid.UUID | None:
    """The company that claimed `address` as its sender on `channel`, if one did."""
    async with engine.connect() as connection:
        result: uuid.UUID | None = await connection.scalar(
            sa.select(col(MessagingAddress.tenant_id)).where(
                col(MessagingAddress.channel) == channel.value,
                col(MessagingAddress.address) == address.lower(),
            )
        )
    return result
