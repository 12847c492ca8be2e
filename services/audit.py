"""The audit log: who changed guest data, consent, erasure or keys, and when."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import AuditEvent
from hospes.tenancy.principal import Principal


def record(
    session: AsyncSession,
    *,
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: uuid.UUID | None,
    data: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the caller's transaction. `data` names fields, never their values."""
    session.add(
        AuditEvent(
            actor_kind=actor.kind.value if actor else "system",
            actor_id=actor.subject_id if actor else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            data=data or {},
        )
    )
