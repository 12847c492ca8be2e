"""Channel routing: every guest reaches the right channel, and a message that may not go says why.

The expected outcomes come from the product rules written out below, not from the code under test."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import phonenumbers
import pytest

from hospes.models.tenant import Channel, MessageClass
from hospes.notifications.routing import (
    Recipient,
    Routed,
    Suppressed,
    fallback_after,
    is_mobile,
    route,
    usable,
)

SPANISH_MOBILE = "+34600111222"
SPANISH_LANDLINE = "+34915555555"
US_NUMBER = "+12015550123"  # the US numbering plan does not tell mobiles from landlines

EMAIL = "ana@example.com"
PHONES = {"no phone": None, "mobile": SPANISH_MOBILE, "landline": SPANISH_LANDLINE}

TRANSACTIONAL = MessageClass.TRANSACTIONAL
MARKETING = MessageClass.MARKETING
WHATSAPP, SMS, MAIL = Channel.WHATSAPP, Channel.SMS, Channel.EMAIL


def recipient(
    *,
    email: str | None = EMAIL,
    phone: str | None = SPANISH_MOBILE,
    preferred: Channel | None = None,
    sms_opt_in: bool = False,
    marketing: bool = False,
    erased: bool = False,
) -> Recipient:
    return Recipient(
        email=email,
        phone=phone,
        preferred_channel=preferred,
        sms_opt_in=sms_opt_in,
        marketing_email_consent=marketing,
        erased=erased,
    )


# --- the test numbers are what we say they are ---------------------------------------------------


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        (SPANISH_MOBILE, phonenumbers.PhoneNumberType.MOBILE),
        (SPANISH_LANDLINE, phonenumbers.PhoneNumberType.FIXED_LINE),
        (US_NUMBER, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE),
    ],
)
def test_sample_numbers_have_the_expected_type(number: str, kind: int) -> None:
    parsed = phonenumbers.parse(number, None)
    assert phonenumbers.is_valid_number(parsed)
    assert phonenumbers.number_type(parsed) == kind


@pytest.mark.parametrize(
    ("number", "mobile"),
    [
        (SPANISH_MOBILE, True),
        (SPANISH_LANDLINE, False),
        (US_NUMBER, True),
        ("", False),
        ("not a number", False),
        ("600111222", False),  # no country code: E.164 is required
        ("+34", False),
    ],
)
def test_is_mobile(number: str, mobile: bool) -> None:
    assert is_mobile(number) is mobile


# --- the whole matrix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    preferred: Channel | None
    has_email: bool
    phone: str  # a key of PHONES
    sms_opt_in: bool
    marketing_consent: bool
    message_class: MessageClass

    def __str__(self) -> str:
        return "-".join(
            [
                f"prefers {self.preferred or 'nothing'}",
                "email" if self.has_email else "no email",
                self.phone,
                "opted in" if self.sms_opt_in else "not opted in",
                "consent" if self.marketing_consent else "no consent",
                self.message_class.value,
            ]
        )


def expected_channel(case: Case) -> Channel | None:
    """The product rules, spelled out: None means the message is suppressed."""
    # Marketing needs consent on every channel; transactional messages always go.
    if case.message_class is MARKETING and not case.marketing_consent:
        return None
    has_mobile = case.phone == "mobile"
    reaches = {
        WHATSAPP: has_mobile,
        SMS: has_mobile and case.sms_opt_in,
        MAIL: case.has_email,
    }
    # The guest's own choice wins when it can reach them...
    if case.preferred is not None and reaches[case.preferred]:
        return case.preferred
    # ...else WhatsApp for a mobile, SMS only with opt-in, email for everyone else.
    if reaches[WHATSAPP]:
        return WHATSAPP
    if reaches[SMS]:
        return SMS
    if reaches[MAIL]:
        return MAIL
    return None


CASES = [
    Case(*values)
    for values in itertools.product(
        [None, MAIL, SMS, WHATSAPP],
        [True, False],
        list(PHONES),
        [True, False],
        [True, False],
        [TRANSACTIONAL, MARKETING],
    )
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_combination_routes_by_the_rules(case: Case) -> None:
    guest = recipient(
        email=EMAIL if case.has_email else None,
        phone=PHONES[case.phone],
        preferred=case.preferred,
        sms_opt_in=case.sms_opt_in,
        marketing=case.marketing_consent,
    )
    outcome = route(guest, message_class=case.message_class)

    channel = expected_channel(case)
    if channel is not None:
        assert outcome == Routed(channel)
    elif case.message_class is MARKETING and not case.marketing_consent:
        assert outcome == Suppressed("no marketing consent")
    else:
        assert isinstance(outcome, Suppressed)
        assert outcome.reason.startswith("no way to reach the guest: ")


def test_matrix_covers_every_combination() -> None:
    assert len(CASES) == 4 * 2 * 3 * 2 * 2 * 2
    assert len({str(case) for case in CASES}) == len(CASES)


# --- promises worth naming -----------------------------------------------------------------------


def test_guest_with_a_mobile_gets_whatsapp_by_default() -> None:
    assert route(recipient(), message_class=TRANSACTIONAL) == Routed(WHATSAPP)


def test_us_number_counts_as_mobile_for_whatsapp() -> None:
    assert route(recipient(phone=US_NUMBER), message_class=TRANSACTIONAL) == Routed(WHATSAPP)


def test_landline_guest_falls_back_to_email() -> None:
    guest = recipient(phone=SPANISH_LANDLINE, preferred=WHATSAPP, sms_opt_in=True)
    assert route(guest, message_class=TRANSACTIONAL) == Routed(MAIL)


def test_sms_preference_without_opt_in_is_not_honoured() -> None:
    guest = recipient(preferred=SMS, sms_opt_in=False)
    assert route(guest, message_class=TRANSACTIONAL) == Routed(WHATSAPP)


def test_preferred_email_beats_whatsapp() -> None:
    assert route(recipient(preferred=MAIL), message_class=TRANSACTIONAL) == Routed(MAIL)


def test_unreachable_guest_is_suppressed_with_every_reason() -> None:
    guest = recipient(email=None, phone=SPANISH_LANDLINE)
    assert route(guest, message_class=TRANSACTIONAL) == Suppressed(
        "no way to reach the guest: no mobile number for WhatsApp; no SMS opt-in; no email address"
    )


def test_marketing_without_consent_never_goes_even_by_whatsapp_or_sms() -> None:
    guest = recipient(sms_opt_in=True, marketing=False)
    for requested in (None, WHATSAPP, SMS, MAIL):
        assert route(guest, message_class=MARKETING, requested=requested) == Suppressed(
            "no marketing consent"
        )


def test_marketing_with_consent_follows_the_usual_rules() -> None:
    guest = recipient(preferred=SMS, sms_opt_in=True, marketing=True)
    assert route(guest, message_class=MARKETING) == Routed(SMS)


def test_blank_email_is_no_email() -> None:
    guest = recipient(email="  ", phone=None)
    assert usable(guest, MAIL) == "no email address"
    assert isinstance(route(guest, message_class=TRANSACTIONAL), Suppressed)


# --- erased guests -------------------------------------------------------------------------------


@pytest.mark.parametrize("message_class", [TRANSACTIONAL, MARKETING])
@pytest.mark.parametrize("requested", [None, WHATSAPP, SMS, MAIL])
def test_erased_guest_is_never_messaged(message_class: MessageClass, requested: Channel | None) -> None:
    guest = recipient(sms_opt_in=True, marketing=True, erased=True)
    outcome = route(guest, message_class=message_class, requested=requested)
    assert isinstance(outcome, Suppressed)
    assert "erased" in outcome.reason


def test_erased_guest_gets_no_fallback() -> None:
    guest = recipient(sms_opt_in=True, erased=True)
    outcome = fallback_after(WHATSAPP, guest, message_class=TRANSACTIONAL, tried=[WHATSAPP])
    assert isinstance(outcome, Suppressed)


# --- a channel chosen by staff -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guest", "requested", "outcome"),
    [
        (recipient(), MAIL, Routed(MAIL)),
        (recipient(preferred=MAIL), WHATSAPP, Routed(WHATSAPP)),
        (recipient(sms_opt_in=True), SMS, Routed(SMS)),
        (recipient(email=None), MAIL, Suppressed("no email address")),
        (recipient(phone=None), WHATSAPP, Suppressed("no mobile number for WhatsApp")),
        (recipient(phone=SPANISH_LANDLINE), WHATSAPP, Suppressed("no mobile number for WhatsApp")),
        (recipient(sms_opt_in=False), SMS, Suppressed("no SMS opt-in")),
        (recipient(phone=SPANISH_LANDLINE, sms_opt_in=True), SMS, Suppressed("no mobile number for SMS")),
    ],
    ids=[
        "email",
        "whatsapp-over-preference",
        "sms-opted-in",
        "email-missing",
        "whatsapp-no-phone",
        "whatsapp-landline",
        "sms-not-opted-in",
        "sms-landline",
    ],
)
def test_requested_channel_is_used_or_refused_never_swapped(
    guest: Recipient, requested: Channel, outcome: Routed | Suppressed
) -> None:
    assert route(guest, message_class=TRANSACTIONAL, requested=requested) == outcome


def test_requested_channel_already_tried_is_refused() -> None:
    outcome = route(recipient(), message_class=TRANSACTIONAL, requested=MAIL, exclude=[MAIL])
    assert outcome == Suppressed("email was already tried")


# --- excluding channels already tried ------------------------------------------------------------


def test_exclude_skips_the_preferred_channel() -> None:
    guest = recipient(preferred=WHATSAPP, sms_opt_in=True)
    assert route(guest, message_class=TRANSACTIONAL, exclude=[WHATSAPP]) == Routed(SMS)
    assert route(guest, message_class=TRANSACTIONAL, exclude=[WHATSAPP, SMS]) == Routed(MAIL)


def test_excluding_every_channel_suppresses_and_says_so() -> None:
    outcome = route(recipient(), message_class=TRANSACTIONAL, exclude=[WHATSAPP, SMS, MAIL])
    assert isinstance(outcome, Suppressed)
    assert "WhatsApp already tried" in outcome.reason
    assert "email already tried" in outcome.reason


# --- fallback after a permanent failure ----------------------------------------------------------


def test_whatsapp_failure_falls_back_to_sms_for_an_opted_in_mobile() -> None:
    guest = recipient(sms_opt_in=True)
    assert fallback_after(WHATSAPP, guest, message_class=TRANSACTIONAL, tried=[WHATSAPP]) == Routed(SMS)


def test_whatsapp_failure_falls_back_to_email_without_sms_opt_in() -> None:
    guest = recipient(sms_opt_in=False)
    assert fallback_after(WHATSAPP, guest, message_class=TRANSACTIONAL, tried=[WHATSAPP]) == Routed(MAIL)


def test_full_chain_whatsapp_then_sms_then_email_then_nothing() -> None:
    guest = recipient(sms_opt_in=True)
    tried: list[Channel] = [WHATSAPP]
    steps: list[Routed | Suppressed] = []
    failed = WHATSAPP
    while True:
        outcome = fallback_after(failed, guest, message_class=TRANSACTIONAL, tried=tried)
        steps.append(outcome)
        if not isinstance(outcome, Routed):
            break
        tried.append(outcome.channel)
        failed = outcome.channel
    assert steps[:2] == [Routed(SMS), Routed(MAIL)]
    assert steps[2] == Suppressed("email failed permanently and no other channel is left to try")


def test_sms_failure_falls_back_to_email() -> None:
    guest = recipient(sms_opt_in=True)
    assert fallback_after(SMS, guest, message_class=TRANSACTIONAL, tried=[SMS]) == Routed(MAIL)


def test_sms_failure_never_goes_back_to_whatsapp() -> None:
    guest = recipient(email=None, sms_opt_in=True)
    outcome = fallback_after(SMS, guest, message_class=TRANSACTIONAL, tried=[SMS])
    assert outcome == Suppressed("SMS failed permanently and no fallback reaches the guest: no email address")


def test_email_failure_has_no_fallback() -> None:
    outcome = fallback_after(MAIL, recipient(sms_opt_in=True), message_class=TRANSACTIONAL, tried=[MAIL])
    assert isinstance(outcome, Suppressed)


def test_fallback_skips_channels_already_tried() -> None:
    guest = recipient(sms_opt_in=True)
    # SMS was the first attempt; WhatsApp then failed: email is all that is left.
    assert fallback_after(WHATSAPP, guest, message_class=TRANSACTIONAL, tried=[SMS, WHATSAPP]) == Routed(MAIL)


def test_fallback_from_whatsapp_with_nothing_usable() -> None:
    guest = recipient(email=None, sms_opt_in=False)
    outcome = fallback_after(WHATSAPP, guest, message_class=TRANSACTIONAL, tried=[WHATSAPP])
    assert outcome == Suppressed(
        "WhatsApp failed permanently and no fallback reaches the guest: no SMS opt-in; no email address"
    )


def test_marketing_fallback_still_needs_consent() -> None:
    guest = recipient(sms_opt_in=True, marketing=False)
    outcome = fallback_after(WHATSAPP, guest, message_class=MARKETING, tried=[WHATSAPP])
    assert outcome == Suppressed("no marketing consent")
