"""Which channel a message to a guest goes on, or why it may not go at all.

Pure rules, no I/O: the caller loads the guest into a `Recipient`, and records a `Suppressed` result
as a `suppressed` communication with its reason. The rules are DESIGN.md's "Messaging" section."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers

from hospes.models.tenant import Channel, MessageClass

# The order for a guest without a usable preference: WhatsApp reaches most mobiles at no cost to the
# guest; SMS needs an explicit opt-in; email is the fallback everyone with an address can get.
_DEFAULT_ORDER: tuple[Channel, ...] = (Channel.WHATSAPP, Channel.SMS, Channel.EMAIL)

# Where a message goes after a permanent failure on a channel.
_FALLBACKS: dict[Channel, tuple[Channel, ...]] = {
    Channel.WHATSAPP: (Channel.SMS, Channel.EMAIL),
    Channel.SMS: (Channel.EMAIL,),
    Channel.EMAIL: (),
}

_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)

_CHANNEL_NAMES = {Channel.WHATSAPP: "WhatsApp", Channel.SMS: "SMS", Channel.EMAIL: "email"}


@dataclass(frozen=True)
class Recipient:
    """What routing needs to know about a guest; `phone` is E.164."""

    email: str | None
    phone: str | None
    preferred_channel: Channel | None
    sms_opt_in: bool
    marketing_email_consent: bool
    erased: bool = False


@dataclass(frozen=True)
class Routed:
    """Send on `channel`."""

    channel: Channel


@dataclass(frozen=True)
class Suppressed:
    """Do not send; `reason` is stored on the communication for staff to read."""

    reason: str


def is_mobile(phone: str) -> bool:
    """True if `phone` (E.164) is a mobile number, or one its country does not tell apart from a
    landline (US and Canada numbers are FIXED_LINE_OR_MOBILE). Unparsable numbers are not mobile."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(parsed) in _MOBILE_TYPES


def usable(recipient: Recipient, channel: Channel) -> str | None:
    """None if `channel` can reach the recipient, else the reason it cannot."""
    if recipient.erased:
        return "the guest's personal data was erased"
    if channel == Channel.EMAIL:
        return None if recipient.email and recipient.email.strip() else "no email address"
    if channel == Channel.SMS and not recipient.sms_opt_in:
        # Consent comes first: without it, having a number would not help.
        return "no SMS opt-in"
    if recipient.phone is None or not is_mobile(recipient.phone):
        return f"no mobile number for {_CHANNEL_NAMES[channel]}"
    return None


def _may_send(recipient: Recipient, message_class: MessageClass) -> Suppressed | None:
    if recipient.erased:
        return Suppressed("the guest's personal data was erased")
    # Marketing needs consent whatever the channel; transactional messages always go.
    if message_class == MessageClass.MARKETING and not recipient.marketing_email_consent:
        return Suppressed("no marketing consent")
    return None


def _first_usable(recipient: Recipient, channels: Collection[Channel]) -> Routed | list[str]:
    """The first channel that reaches the recipient, or every channel's reason why not."""
    reasons: list[str] = []
    for channel in channels:
        reason = usable(recipient, channel)
        if reason is None:
            return Routed(channel)
        reasons.append(reason)
    return reasons


def route(
    recipient: Recipient,
    *,
    message_class: MessageClass,
    requested: Channel | None = None,
    exclude: Collection[Channel] = (),
) -> Routed | Suppressed:
    """The channel for a message, or why it may not be sent.

    A `requested` channel (chosen by staff) is used only if it reaches the guest; otherwise the
    message is suppressed with the reason, never sent elsewhere behind the staff's back. Without one:
    the guest's preferred channel if usable, else WhatsApp, SMS (opt-in only), email. Channels in
    `exclude` (already tried) are never chosen."""
    refused = _may_send(recipient, message_class)
    if refused is not None:
        return refused

    if requested is not None:
        if requested in exclude:
            return Suppressed(f"{_CHANNEL_NAMES[requested]} was already tried")
        reason = usable(recipient, requested)
        return Routed(requested) if reason is None else Suppressed(reason)

    order = list(_DEFAULT_ORDER)
    if recipient.preferred_channel is not None:
        order.remove(recipient.preferred_channel)
        order.insert(0, recipient.preferred_channel)
    remaining = [channel for channel in order if channel not in exclude]
    found = _first_usable(recipient, remaining)
    if isinstance(found, Routed):
        return found
    reasons = found + [f"{_CHANNEL_NAMES[channel]} already tried" for channel in order if channel in exclude]
    return Suppressed("no way to reach the guest: " + "; ".join(reasons))


def fallback_after(
    failed: Channel,
    recipient: Recipient,
    *,
    message_class: MessageClass,
    tried: Collection[Channel],
) -> Routed | Suppressed:
    """Where to send after a permanent failure on `failed`: WhatsApp falls back to SMS (opted-in
    mobile only) and then email, SMS to email, email to nothing. Channels in `tried` are skipped."""
    refused = _may_send(recipient, message_class)
    if refused is not None:
        return refused

    failed_name = _CHANNEL_NAMES[failed]
    remaining = [channel for channel in _FALLBACKS[failed] if channel not in tried and channel != failed]
    if not remaining:
        return Suppressed(f"{failed_name} failed permanently and no other channel is left to try")
    found = _first_usable(recipient, remaining)
    if isinstance(found, Routed):
        return found
    return Suppressed(
        f"{failed_name} failed permanently and no fallback reaches the guest: " + "; ".join(found)
    )
