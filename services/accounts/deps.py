"""What the account rules need from their caller (the tenant, who acts, its keys, the password
hasher, the outbox lease), and the small things every account flow does with it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.services import audit
from hospes.services import validation as check
from hospes.services.rejections import Problems, Rejection
from hospes.tenancy.crypto import TenantKeys, versions_in
from hospes.tenancy.keyring import Keyring
from hospes.tenancy.passwords import MAX_LENGTH, Passwords
from hospes.tenancy.principal import Principal
from hospes.tenancy.registry import TenantRef
from hospes.tenancy.tenant_settings import AccountCreation, TenantSettings

NO_ACCOUNTS = "This company does not offer guest accounts."


@dataclass(frozen=True)
class AccountDeps:
    """Handed in by the caller, so that the rules stay free of the request."""

    tenant: TenantRef
    actor: Principal | None
    keyring: Keyring
    passwords: Passwords
    outbox_lease_seconds: float

    async def keys(self, session: AsyncSession, *ciphertexts: bytes | None) -> TenantKeys:
        """The tenant's keys, able to open `ciphertexts`."""
        versions = versions_in(list(ciphertexts))
        return await self.keyring.keys(session, self.tenant.schema_name, versions=versions)

    @property
    def settings(self) -> TenantSettings:
        return TenantSettings.of(self.tenant)

    @property
    def accounts_disabled(self) -> bool:
        return self.settings.account_creation is AccountCreation.DISABLED

    def link(self, path: str, token: str) -> str:
        """The portal address a mailed `token` is followed at."""
        return f"{self.settings.portal_base_url}/{path}/{token}"

    async def hash_password(self, password: str) -> str:
        # argon2 is deliberately slow: keep it off the event loop.
        return await asyncio.to_thread(self.passwords.hash, password)

    async def verify_password(self, password_hash: str | None, password: str) -> bool:
        """One full argon2 verification whatever the input (the decoy hash when there is no
        account), so every failure costs the same."""
        if len(password) > MAX_LENGTH:
            password_hash, password = None, ""
        return await asyncio.to_thread(self.passwords.verify, password_hash, password)

    def audit(self, session: AsyncSession, action: str, guest_id: uuid.UUID, *, source: str) -> None:
        """An audit event on the guest whose account `action` concerns."""
        audit.record(
            session,
            actor=self.actor,
            action=action,
            entity="guest",
            entity_id=guest_id,
            data={"source": source},
        )


def checked_address(field_name: str, value: str) -> str | Rejection:
    """The address `value` names (trimmed, lower-cased), or why it names none."""
    problems = Problems()
    address = check.email(problems, field_name, value, required=True)
    if problems or address is None:
        return problems.rejection()
    return address
