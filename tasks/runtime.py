"""What a worker task needs, built once per worker process: the database, the tenant registry
and keys, the broker for follow-up work, and each company's providers."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from dramatiq.broker import Broker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hospes.models.tenant import Channel
from hospes.notifications import credentials
from hospes.notifications.providers import build_providers
from hospes.notifications.providers.base import Provider
from hospes.notifications.providers.log import LogProvider
from hospes.settings import Settings
from hospes.tasks import outbox
from hospes.tasks.relay import relay
from hospes.tenancy.crypto import TenantKeys, versions_in
from hospes.tenancy.database import ConnectionPolicy, Role, TenantSessions, create_engine_async
from hospes.tenancy.keyring import Keyring, master_key_from
from hospes.tenancy.registry import TenantRef, TenantRegistry


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    registry: TenantRegistry
    keyring: Keyring
    tenant_sessions: TenantSessions
    broker: Broker | None
    log_provider: LogProvider = field(default_factory=LogProvider)
    _providers: dict[uuid.UUID, tuple[float, dict[Channel, Provider]]] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, *, database_url: str, broker: Broker | None) -> Runtime:
        engine = create_engine_async(
            database_url,
            policy=ConnectionPolicy.of(settings, role=Role.WORKER),
            pool_size=max(2, settings.worker_threads),
            max_overflow=settings.worker_threads,
            pool_timeout=settings.db_pool_timeout_seconds,
            # No pre-ping round trip per transaction: a task that meets a dead connection fails,
            # and its outbox row is enqueued again when the lease runs out.
            pre_ping=False,
        )
        return cls(
            settings=settings,
            engine=engine,
            registry=TenantRegistry(engine, ttl_seconds=settings.tenant_cache_seconds),
            keyring=Keyring(master_key_from(settings), ttl_seconds=settings.tenant_cache_seconds),
            tenant_sessions=TenantSessions(engine, statement_timeout_ms=settings.db_statement_timeout_ms),
            broker=broker,
        )

    @asynccontextmanager
    async def transaction(self, tenant: TenantRef) -> AsyncIterator[AsyncSession]:
        """One transaction in the tenant's schema; committed on success, then its outbox work is
        relayed (the same after-commit path as an API request)."""
        session = self.tenant_sessions.open(tenant.schema_name)
        try:
            async with session.begin():
                yield session
            await relay(self.broker, outbox.take_pending(session))
        finally:
            await session.close()

    async def keys(self, session: AsyncSession, tenant: TenantRef, *blobs: bytes | None) -> TenantKeys:
        return await self.keyring.keys(session, tenant.schema_name, versions=versions_in(list(blobs)))

    async def providers(self, session: AsyncSession, tenant: TenantRef) -> dict[Channel, Provider]:
        """The company's providers: its own credentials over the global ones (cached briefly)."""
        cached = self._providers.get(tenant.id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        own = await credentials.own_config(session, self.keyring, tenant.schema_name)
        built = build_providers(credentials.effective(own, self.settings), log_provider=self.log_provider)
        self._providers[tenant.id] = (time.monotonic() + self.settings.tenant_cache_seconds, built)
        return built

    async def close(self) -> None:
        await self.engine.dispose()
