"""Who a domain write is done for, handed in by the resolver so that the rules stay free of the
request: the tenant, the acting principal, the keyring and the outbox lease."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.tenancy.crypto import TenantKeys, versions_in
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.principal import Principal
from hospes.tenancy.registry import TenantRef


@dataclass(frozen=True)
class Caller:
    tenant: TenantRef
    actor: Principal | None
    keyring: Keyring
    outbox_lease_seconds: float

    async def keys(self, session: AsyncSession, *ciphertexts: bytes | None) -> TenantKeys:
        """The tenant's keys, able to open `ciphertexts`."""
        versions = versions_in(list(ciphertexts))
        return await self.keyring.keys(session, self.tenant.schema_name, versions=versions)
