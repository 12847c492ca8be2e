"""Consent, merging duplicate records, and erasure (the right to be forgotten); the rules and SQL
are `services/privacy.py`'s."""

from __future__ import annotations

import strawberry

from hospes.models.tenant import Guest
from hospes.resolvers import validation as check
from hospes.resolvers.context import Context
from hospes.schema.errors import UserErrorCode
from hospes.schema.inputs import EraseGuestInput, MergeGuestsInput, SetGuestConsentInput
from hospes.services import privacy
from hospes.services.privacy import CONSENTS
from hospes.services.rejections import Problems, Rejection, rejected


async def set_guest_consent(ctx: Context, data: SetGuestConsentInput) -> Guest | Rejection:
    """Record consent as the guest gave it to staff; each change is audited (source: staff)."""
    problems = Problems()
    pk = check.object_id(problems, "guestId", "Guest", data.guest_id)
    wanted = {name: getattr(data, name) for name in CONSENTS if getattr(data, name) is not strawberry.UNSET}
    for name, value in wanted.items():
        if value is None:
            problems.add(CONSENTS[name], UserErrorCode.REQUIRED, "Must be true or false.")
    if problems or pk is None:
        return problems.rejection()
    actor = ctx.principal
    return await ctx.write(
        lambda session: privacy.set_guest_consent(session, actor=actor, guest_id=pk, wanted=wanted)
    )


async def merge_guests(ctx: Context, data: MergeGuestsInput) -> Guest | Rejection:
    """Move everything of the source guest to the target and delete the source."""
    problems = Problems()
    source_pk = check.object_id(problems, "sourceGuestId", "Guest", data.source_guest_id)
    target_pk = check.object_id(problems, "targetGuestId", "Guest", data.target_guest_id)
    if problems or source_pk is None or target_pk is None:
        return problems.rejection()
    if source_pk == target_pk:
        # Also the service's rule; answered here before a savepoint is opened for nothing.
        return rejected("targetGuestId", UserErrorCode.INVALID, "A guest cannot be merged into itself.")
    keyring, schema_name, actor = ctx.resources.keyring, ctx.tenant.schema_name, ctx.principal
    return await ctx.write(
        lambda session: privacy.merge_guests(
            session,
            keyring=keyring,
            schema_name=schema_name,
            actor=actor,
            source_id=source_pk,
            target_id=target_pk,
        )
    )


async def erase_guest(ctx: Context, data: EraseGuestInput) -> Guest | Rejection:
    """Remove the person; bookings and payments stay, de-identified."""
    problems = Problems()
    pk = check.object_id(problems, "guestId", "Guest", data.guest_id)
    reason = check.text(problems, "reason", data.reason, max_length=1000, required=True)
    if problems or pk is None:
        return problems.rejection()
    actor = ctx.principal
    return await ctx.write(
        lambda session: privacy.erase_guest(session, actor=actor, guest_id=pk, reason=reason)
    )
