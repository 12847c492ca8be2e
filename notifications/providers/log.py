"""The provider used when no credentials are configured: it records and logs, and sends nothing.

It also serves the benchmark, which reads `sent` to time how long a committed message takes to reach
its provider."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

from hospes.notifications.providers.base import Accepted, OutboundMessage

logger = logging.getLogger("hospes.messages")

_MASK = "•••"
_PHONE = re.compile(r"^(?P<prefix>[a-z]+:)?(?P<plus>\+?)(?P<digits>\d{7,15})$")


def masked(address: str) -> str:
    """Return a contact fit for logs: enough to tell two apart, never the whole of either.

    `+34600111222` → `+34•••••222`, `whatsapp:+34600111222` → `whatsapp:+34•••••222`,
    `ana@example.com` → `a•••@example.com`; anything else keeps only its first character."""
    phone = _PHONE.match(address.replace(" ", ""))
    if phone:
        digits = phone["digits"]
        # A fixed number of dots, so the mask does not tell the number's length either.
        return f"{phone['prefix'] or ''}{phone['plus']}{digits[:2]}•••••{digits[-3:]}"
    local, at, domain = address.rpartition("@")
    if at and local:
        return f"{local[0]}{_MASK}@{domain}"
    return f"{address[:1]}{_MASK}"


def _threading(message: OutboundMessage) -> str:
    """The mail's threading headers as the log may show them: our Message-ID, and only the fact of a
    Reply-To (its token lets whoever knows it write into the inquiry)."""
    parts = [f"Message-ID {message.message_id}"] if message.message_id else []
    if message.reply_to:
        parts.append("Reply-To of its inquiry")
    return "".join(f", {part}" for part in parts)


@dataclass(frozen=True)
class LoggedMessage:
    """One call to `LogProvider.send`: the message, the `time.monotonic()` of the call, the id given."""

    message: OutboundMessage
    at: float
    provider_message_id: str


class LogProvider:
    """Accepts every message, logs one masked line for it and keeps the most recent ones in memory."""

    def __init__(self, *, name: str = "log", capacity: int = 1000) -> None:
        self.name = name
        # Bounded, so a long-running development server does not grow without end.
        self._sent: deque[LoggedMessage] = deque(maxlen=capacity)
        # Worker threads share one provider.
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> Accepted:
        """Accept the message: log it with the recipient masked and remember it."""
        at = time.monotonic()
        provider_message_id = f"log-{uuid.uuid4().hex}"
        with self._lock:
            self._sent.append(LoggedMessage(message=message, at=at, provider_message_id=provider_message_id))
        logger.info(
            "%s message %s to %s (subject %r, %d characters%s) logged, not sent",
            message.channel.value,
            message.communication_id,
            masked(message.to),
            message.subject,
            len(message.body),
            _threading(message),
        )
        return Accepted(self.name, provider_message_id)

    @property
    def sent(self) -> list[LoggedMessage]:
        """A copy of the recorded calls, oldest first."""
        with self._lock:
            return list(self._sent)

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._sent.clear()
