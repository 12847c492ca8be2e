"""The mails of the account flows, queued in the caller's transaction and sent after commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hospes.models.tenant import Channel, Guest
from hospes.notifications import outgoing
from hospes.services.accounts.deps import AccountDeps


async def queue_email(
    session: AsyncSession,
    *,
    deps: AccountDeps,
    guest: Guest | None,
    label: str,
    subject: str,
    body: str,
    link: str | None = None,
    to: str | None = None,
) -> None:
    """A transactional email to the guest (or to `to`, an address the guest record does not hold
    yet, or that no guest record holds when `guest` is None), queued for delivery after commit.
    `link`, a credential, replaces the `[link]` marker of `body` only when sent; it is stored
    encrypted."""
    await queue_draft(
        session,
        deps=deps,
        draft=outgoing.Draft(
            guest=guest,
            template_key=label,
            subject=subject,
            body=body,
            channel=Channel.EMAIL,
            recipient=to,
            # The link is a credential: the stored body shows "[link]", the sent one the link.
            extra={"link": link} if link else {},
        ),
    )


async def queue_draft(session: AsyncSession, *, deps: AccountDeps, draft: outgoing.Draft) -> None:
    """Queue `draft` (a company template or a written mail) for delivery after commit."""
    await outgoing.queue(
        session,
        tenant=deps.tenant,
        keys=await deps.keys(session),
        draft=draft,
        lease_seconds=deps.outbox_lease_seconds,
    )
