"""The email addresses and message ids of the inquiry pipeline, on `HOSPES_INBOUND_EMAIL_DOMAIN`:
a company's reservations address `<slug>@<domain>`, the Reply-To of our mails about one inquiry
`<slug>+<reply token>@<domain>` (the token is unguessable, so a mail to it answers that inquiry
and no other), and the Message-ID of each mail we send, `<c.<communication id>@<domain>>`, which a
guest's mail program quotes back in In-Reply-To and References.

Parsing is strict and total: anything that is not exactly one of these shapes is None."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

# A slug as the registry allows it, then an optional `+token` (the token's shape, see
# `services/inquiries/core.new_reply_token`).
_RECIPIENT = re.compile(r"(?P<slug>[a-z][a-z0-9-]{1,40})(?:\+(?P<token>i[0-9a-f]{32}))?")
_MESSAGE_ID = re.compile(r"<c\.(?P<id>[0-9a-f]{32})@(?P<domain>[^<>@\s]+)>")


@dataclass(frozen=True)
class Recipient:
    """Whom an inbound mail was for: a company (by slug), and one of its inquiries if the mail went
    to that inquiry's Reply-To address."""

    slug: str
    reply_token: str | None


def reservations_address(slug: str, domain: str) -> str:
    return f"{slug}@{domain}"


def reply_address(slug: str, reply_token: str, domain: str) -> str:
    return f"{slug}+{reply_token}@{domain}"


def message_id(communication_id: uuid.UUID, domain: str) -> str:
    return f"<c.{communication_id.hex}@{domain}>"


def parse_recipient(address: str, domain: str) -> Recipient | None:
    """The company (and inquiry token) of `address` if it is on our inbound `domain`; else None."""
    local, at, host = address.strip().lower().rpartition("@")
    if not at or host != domain.lower():
        return None
    match = _RECIPIENT.fullmatch(local)
    if match is None:
        return None
    return Recipient(slug=match["slug"], reply_token=match["token"])


def communications_referenced(header: str, domain: str) -> list[uuid.UUID]:
    """The ids of our own messages named in an In-Reply-To or References header, in the order
    given (the last is the most recent); ids of other domains and other shapes are ignored."""
    found = []
    for match in _MESSAGE_ID.finditer(header):
        if match["domain"].lower() == domain.lower():
            found.append(uuid.UUID(hex=match["id"]))
    return found
