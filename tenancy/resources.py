"""The process-wide handles an app (or a worker's webhook routes) is built with, shared by every
request: settings, the engine, Redis, the tenant registry and the stores built over them."""

from __future__ import annotations

from dataclasses import dataclass

from dramatiq.broker import Broker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from hospes.settings import Settings
from hospes.tenancy.database import TenantSessions
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.logins import LoginStore
from hospes.tenancy.passwords import Passwords
from hospes.tenancy.registry import TenantRegistry


@dataclass
class Resources:
    """Process-wide handles the app is built with; shared by every request."""

    settings: Settings
    engine: AsyncEngine
    redis: Redis
    registry: TenantRegistry
    logins: LoginStore
    tenant_sessions: TenantSessions
    passwords: Passwords
    keyring: Keyring
    # Where the outbox relay enqueues after commit; None leaves everything to the scheduler.
    broker: Broker | None = None
