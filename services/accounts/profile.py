"""The logged-in guest's own record: what they may change of it, and how each change is kept."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.columns import NAME_MAX
from hospes.models.tenant import Guest
from hospes.services import audit, guest_fields, guests
from hospes.services import validation as check
from hospes.services.accounts.deps import AccountDeps
from hospes.services.rejections import Problems, Rejection, UserErrorCode

CONSENTS = {"sms_opt_in": "smsOptIn", "marketing_email_consent": "marketingEmailConsent"}


def check_changes(*, deps: AccountDeps, changes: Mapping[str, Any]) -> dict[str, Any] | Rejection:
    """The cleaned values of `changes` (only the fields given, snake_case), or every problem."""
    region = deps.tenant.settings.get("default_region")
    problems = Problems()
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = check.text(problems, "name", changes["name"], max_length=NAME_MAX, required=True)
    if "phone" in changes:
        values["phone"] = check.phone(problems, "phone", changes["phone"], region=region)
    if "country" in changes:
        values["country"] = check.country(problems, "country", changes["country"])
    if "language" in changes:
        values["language"] = check.language(problems, "language", changes["language"])
    for name, field_name in CONSENTS.items():
        if name in changes:
            if changes[name] is None:
                problems.add(field_name, UserErrorCode.REQUIRED, "Must be true or false.")
            values[name] = bool(changes[name])
    return problems.rejection() if problems else values


async def update(
    session: AsyncSession, *, deps: AccountDeps, guest_id: uuid.UUID, values: Mapping[str, Any]
) -> Guest:
    """Apply cleaned `values` to the guest's record. The email is not among them (it changes
    through a mailed link). Consent changes are audited with source "account"."""
    row = await session.get(Guest, guest_id, with_for_update=True, populate_existing=True)
    assert row is not None
    keys = await deps.keys(session, row.phone_enc)
    changed: list[str] = []
    for name, value in values.items():
        if name in CONSENTS:
            if getattr(row, name) != value:
                setattr(row, name, value)
                audit.record(
                    session,
                    actor=deps.actor,
                    action="consent.changed",
                    entity="guest",
                    entity_id=row.id,
                    data={"consent": name, "value": value, "source": "account"},
                )
        elif name == "name" and value != row.name:
            guest_fields.set_name(row, value)
            changed.append(name)
        elif name == "phone" and value != guest_fields.phone_of(row, keys):
            guest_fields.set_phone(row, keys, value)
            changed.append(name)
        elif name in ("country", "language") and value != getattr(row, name):
            setattr(row, name, value)
            changed.append(name)
    if changed:
        audit.record(
            session,
            actor=deps.actor,
            action="guest.updated",
            entity="guest",
            entity_id=row.id,
            data={"fields": changed, "source": "account"},
        )
    await session.flush()
    await guests.touch(session, row.id)
    await session.refresh(row)
    return row
