"""Message templates: safe placeholders, clear errors at save time, localised values, the language
fallback, and default texts that are complete in English and Spanish."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hospes.models.tenant import Channel, MessageClass
from hospes.notifications.templates import (
    BUILT_IN_KEYS,
    DEFAULT_TEMPLATES,
    TemplateCandidate,
    TemplateError,
    TemplateProblem,
    check_template,
    choose,
    class_for,
    format_date,
    format_money,
    is_valid_key,
    language_chain,
    placeholders_for,
    placeholders_in,
    render,
)

BOOKING_KEYS = ["booking_confirmed", "payment_receipt", "pre_arrival", "check_in_instructions", "post_stay"]
COMMON = {"guest_name", "guest_first_name", "company_name"}
SMS_KEYS = {"booking_confirmed", "pre_arrival", "check_in_instructions", "payment_receipt"}


def candidate(language: str, channel: Channel | None, key: str = "pre_arrival") -> TemplateCandidate:
    return TemplateCandidate(
        key=key,
        language=language,
        channel=channel,
        message_class=MessageClass.TRANSACTIONAL,
        subject=None,
        body=f"{key} {language} {channel}",
    )


# --- keys and placeholders -----------------------------------------------------------------------


def test_built_in_keys() -> None:
    assert (
        frozenset({*BOOKING_KEYS, "inquiry_reply", "inquiry_reminder", "inquiry_quote", "account_created"})
        == BUILT_IN_KEYS
    )


@pytest.mark.parametrize("key", sorted(BUILT_IN_KEYS))
def test_every_key_offers_the_common_placeholders_and_is_transactional(key: str) -> None:
    assert placeholders_for(key) >= COMMON
    assert class_for(key) is MessageClass.TRANSACTIONAL


@pytest.mark.parametrize("key", BOOKING_KEYS)
def test_booking_keys_offer_the_booking(key: str) -> None:
    assert placeholders_for(key) >= {
        "property_name",
        "check_in",
        "check_out",
        "nights",
        "adults",
        "children",
        "booking_reference",
        "portal_link",
    }


@pytest.mark.parametrize(
    ("key", "extra"),
    [
        ("booking_confirmed", {"amount"}),
        ("payment_receipt", {"payment_amount", "payment_method", "amount_due"}),
        ("check_in_instructions", {"check_in_instructions", "property_address"}),
        ("inquiry_reply", {"message", "property_name", "check_in", "check_out"}),
        ("inquiry_reminder", {"property_name", "check_in", "check_out"}),
        ("account_created", {"account_email", "set_password_link"}),
    ],
)
def test_key_specific_placeholders(key: str, extra: set[str]) -> None:
    assert placeholders_for(key) >= extra


def test_placeholders_stay_with_their_key() -> None:
    assert "amount" not in placeholders_for("payment_receipt")
    assert "portal_link" not in placeholders_for("inquiry_reply")
    assert "set_password_link" not in placeholders_for("booking_confirmed")
    assert placeholders_for("inquiry_reminder") == COMMON | {"property_name", "check_in", "check_out"}


def test_custom_key_offers_only_the_common_placeholders_and_leaves_the_class_open() -> None:
    assert is_valid_key("spring_offer")
    assert placeholders_for("spring_offer") == COMMON
    assert class_for("spring_offer") is None


@pytest.mark.parametrize(
    "key", ["ab", "Spring_offer", "9lives", "spring-offer", "a" * 51, "spring_offer\n", ""]
)
def test_malformed_keys_are_refused(key: str) -> None:
    assert not is_valid_key(key)
    with pytest.raises(TemplateError):
        placeholders_for(key)


def test_key_of_fifty_characters_is_accepted() -> None:
    assert is_valid_key("a" * 50)


# --- syntax --------------------------------------------------------------------------------------


def test_placeholders_in_ignores_literal_braces() -> None:
    assert placeholders_in("Hi {guest_name}, {{not_a_placeholder}} at {company_name}") == {
        "guest_name",
        "company_name",
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{guest.name}", "{guest.name} is not allowed"),
        ("{guest.__class__}", "is not allowed"),
        ("{guests[0]}", "{guests[0]} is not allowed"),
        ("{}", "need a name"),
        ("{0}", "need a name"),
        ("{guest_name!r}", "{guest_name!r} is not allowed"),
        ("{guest_name:>10}", "{guest_name:>10} is not allowed"),
        ("{guest_name:{company_name}}", "is not allowed"),
        ("{guest name}", "is not a placeholder name"),
        ("Hello {guest_name", "never closed"),
        ("Hello guest_name}", "no matching '{'"),
        ("Hello {", "never closed"),
        ("Hello }", "no matching '{'"),
    ],
)
def test_unsafe_or_broken_syntax_is_refused_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(TemplateError) as raised:
        placeholders_in(text)
    assert says in str(raised.value)
    with pytest.raises(TemplateError):
        render(text, {"guest_name": "Ana", "company_name": "Casa"})


# --- validation at save time ---------------------------------------------------------------------


def test_valid_template_has_no_problems() -> None:
    assert (
        check_template(key="booking_confirmed", subject="Welcome {guest_first_name}", body="Total: {amount}")
        == []
    )


def test_unknown_placeholder_lists_it_and_what_the_key_offers() -> None:
    problems = check_template(key="account_created", subject=None, body="Hi {guest_name}, {portal_link}")
    assert len(problems) == 1
    problem = problems[0]
    assert problem.field == "body"
    assert "{portal_link}" in problem.message
    assert "'account_created' templates offer: " in problem.message
    for name in placeholders_for("account_created"):
        assert "{" + name + "}" in problem.message


def test_several_unknown_placeholders_are_all_named() -> None:
    [problem] = check_template(key="spring_offer", subject="{discount} off", body="Hello")
    assert problem.field == "subject"
    assert "Unknown placeholder {discount}" in problem.message
    [problem] = check_template(key="spring_offer", subject=None, body="{discount} {code}")
    assert "Unknown placeholders {code}, {discount}" in problem.message


def test_syntax_problem_names_its_field() -> None:
    assert check_template(key="post_stay", subject="{guest.name}", body="Thanks") == [
        TemplateProblem(
            "subject", "{guest.name} is not allowed: use a plain placeholder name such as {guest_name}"
        )
    ]


@pytest.mark.parametrize("body", ["", "   \n\t"])
def test_body_is_required(body: str) -> None:
    assert check_template(key="post_stay", subject="Thanks", body=body) == [
        TemplateProblem("body", "The message text is required")
    ]


def test_length_limits() -> None:
    assert check_template(key="post_stay", subject="s" * 300, body="b" * 10_000) == []
    problems = check_template(key="post_stay", subject="s" * 301, body="b" * 10_001)
    assert [problem.field for problem in problems] == ["subject", "body"]
    assert "300" in problems[0].message
    assert "10,000" in problems[1].message


def test_subject_must_be_one_line() -> None:
    [problem] = check_template(key="post_stay", subject="Thanks\nBcc: someone", body="Thanks")
    assert problem == TemplateProblem("subject", "The subject must be a single line")


def test_malformed_key_is_a_key_problem() -> None:
    problems = check_template(key="Spring Offer", subject=None, body="Hello {guest_name}")
    assert [problem.field for problem in problems] == ["key"]


# --- rendering -----------------------------------------------------------------------------------


def test_render_substitutes_and_unescapes_braces() -> None:
    text = "Hi {guest_first_name}! Use code {{WELCOME}} at {company_name}."
    values = {"guest_first_name": "Ana", "company_name": "Casa Azul"}
    assert render(text, values) == "Hi Ana! Use code {WELCOME} at Casa Azul."


def test_render_never_interprets_values() -> None:
    # A guest who names themself "{company_name}" gets exactly that, not the company's name.
    assert render("Dear {guest_name}", {"guest_name": "{company_name} {0.__class__}"}) == (
        "Dear {company_name} {0.__class__}"
    )


def test_render_without_a_value_fails() -> None:
    with pytest.raises(TemplateError, match=r"\{portal_link\}"):
        render("See {portal_link}", {"guest_name": "Ana"})


def test_render_text_without_placeholders() -> None:
    assert render("Plain text }} and {{", {}) == "Plain text } and {"


# --- localised values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "December 1, 2026"),
        ("en-GB", "1 December 2026"),
        ("es", "1 de diciembre de 2026"),
        ("es-CR", "1 de diciembre de 2026"),
        ("ES_cr", "1 de diciembre de 2026"),
        ("es-XX", "1 de diciembre de 2026"),  # an unknown region keeps the language
        ("xx", "December 1, 2026"),
        ("", "December 1, 2026"),
        ("not a language!", "December 1, 2026"),
        ("en-US-x-private", "December 1, 2026"),
    ],
)
def test_format_date(language: str, text: str) -> None:
    assert format_date(date(2026, 12, 1), language) == text


@pytest.mark.parametrize(
    ("amount", "currency", "language", "text"),
    [
        (Decimal("1234.5"), "USD", "en", "$1,234.50"),
        (
            Decimal("12345.5"),
            "USD",
            "es",
            "12.345,50\xa0US$",
        ),  # grouping of 4-digit amounts varies across CLDR versions
        (Decimal("12345.5"), "EUR", "es", "12.345,50\xa0€"),
        (Decimal("250"), "eur", "en", "€250.00"),
        (Decimal("1234.5"), "USD", "zz", "$1,234.50"),
        (Decimal("1234.5"), "USD", "", "$1,234.50"),
    ],
)
def test_format_money(amount: Decimal, currency: str, language: str, text: str) -> None:
    assert format_money(amount, currency, language) == text


# --- choosing a template -------------------------------------------------------------------------


def test_language_chain() -> None:
    assert language_chain("es-CR", "pt-BR") == ["es-cr", "es", "pt-br", "pt", "en"]
    assert language_chain("ES", "es") == ["es", "en"]
    assert language_chain(None, "en") == ["en"]
    assert language_chain("en-GB", "en") == ["en-gb", "en"]


# Each step of the chain for a Costa Rican Spanish guest, tenant default French, sending by SMS:
# remove the winner and the next step must win.
CHAIN = [
    ("es-CR", Channel.SMS),
    ("es-CR", None),
    ("es", Channel.SMS),
    ("es", None),
    ("fr", Channel.SMS),
    ("fr", None),
    ("en", Channel.SMS),
    ("en", None),
]


@pytest.mark.parametrize("step", range(len(CHAIN)))
def test_fallback_chain_steps(step: int) -> None:
    pool = [candidate(language, channel) for language, channel in CHAIN[step:]]
    # Noise that must never win: another key, another channel, an unrelated language.
    pool += [
        candidate("es-CR", Channel.SMS, key="post_stay"),
        candidate("es-CR", Channel.WHATSAPP),
        candidate("de", Channel.SMS),
    ]
    chosen = choose(pool, key="pre_arrival", language="es-CR", channel=Channel.SMS, default_language="fr")
    assert chosen == candidate(*CHAIN[step])


def test_nothing_to_choose() -> None:
    pool = [candidate("de", None), candidate("es", Channel.WHATSAPP)]
    assert choose(pool, key="pre_arrival", language="es", channel=Channel.SMS, default_language="fr") is None


def test_languages_compare_case_insensitively() -> None:
    pool = [candidate("ES-cr", None)]
    chosen = choose(pool, key="pre_arrival", language="es-CR", channel=Channel.EMAIL, default_language="en")
    assert chosen == pool[0]


def test_guest_without_language_gets_the_tenant_default() -> None:
    pool = [candidate("en", None), candidate("es", None)]
    chosen = choose(pool, key="pre_arrival", language=None, channel=Channel.EMAIL, default_language="es")
    assert chosen == pool[1]


def test_regional_default_language_falls_back_to_its_base() -> None:
    pool = [candidate("en", None), candidate("es", None)]
    chosen = choose(pool, key="pre_arrival", language="de", channel=Channel.EMAIL, default_language="es-CR")
    assert chosen == pool[1]


def test_earlier_candidate_wins_a_tie_so_tenant_rows_override_defaults() -> None:
    own = TemplateCandidate(
        key="booking_confirmed",
        language="en",
        channel=None,
        message_class=MessageClass.TRANSACTIONAL,
        subject="Yay",
        body="Our own words {portal_link}",
    )
    chosen = choose(
        [own, *DEFAULT_TEMPLATES],
        key="booking_confirmed",
        language="en",
        channel=Channel.EMAIL,
        default_language="en",
    )
    assert chosen is own


def test_spanish_guest_gets_the_spanish_sms_default() -> None:
    chosen = choose(
        DEFAULT_TEMPLATES,
        key="booking_confirmed",
        language="es-MX",
        channel=Channel.SMS,
        default_language="en",
    )
    assert chosen is not None
    assert (chosen.language, chosen.channel) == ("es", Channel.SMS)
    assert "confirmada" in chosen.body


def test_unknown_language_guest_gets_english_email_default() -> None:
    chosen = choose(
        DEFAULT_TEMPLATES, key="post_stay", language="ja", channel=Channel.WHATSAPP, default_language="ja"
    )
    assert chosen is not None
    assert (chosen.language, chosen.channel) == ("en", None)


# --- the default texts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template", DEFAULT_TEMPLATES, ids=lambda t: f"{t.key}-{t.language}-{t.channel or 'any'}"
)
def test_every_default_template_is_valid(template: TemplateCandidate) -> None:
    assert check_template(key=template.key, subject=template.subject, body=template.body) == []
    assert template.message_class is MessageClass.TRANSACTIONAL
    if template.channel is None:
        assert template.subject  # channel-neutral defaults are used for email
    else:
        assert template.channel is Channel.SMS
        assert template.subject is None
        assert len(template.body) < 300
    # Every default renders once its key's values are known.
    values = {name: f"<{name}>" for name in placeholders_for(template.key)}
    for text in (template.subject or "", template.body):
        rendered = render(text, values)
        assert "{" not in rendered
        assert "}" not in rendered


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("key", sorted(BUILT_IN_KEYS))
def test_every_key_has_a_default_in_english_and_spanish(key: str, language: str) -> None:
    found = {(t.channel) for t in DEFAULT_TEMPLATES if t.key == key and t.language == language}
    assert None in found
    assert (Channel.SMS in found) is (key in SMS_KEYS)


def test_defaults_are_unique_per_key_language_and_channel() -> None:
    slots = [(t.key, t.language, t.channel) for t in DEFAULT_TEMPLATES]
    assert len(slots) == len(set(slots))
    assert len(slots) == 2 * (len(BUILT_IN_KEYS) + len(SMS_KEYS))


@pytest.mark.parametrize("language", ["en", "es"])
def test_defaults_carry_the_links_guests_need(language: str) -> None:
    by_key = {t.key: t for t in DEFAULT_TEMPLATES if t.language == language and t.channel is None}
    assert "{portal_link}" in by_key["booking_confirmed"].body
    assert "{set_password_link}" in by_key["account_created"].body
    assert "{message}" in by_key["inquiry_reply"].body
    assert "{check_in_instructions}" in by_key["check_in_instructions"].body
    assert "{payment_amount}" in by_key["payment_receipt"].body


def test_spanish_defaults_are_written_in_spanish() -> None:
    spanish = " ".join(t.body + (t.subject or "") for t in DEFAULT_TEMPLATES if t.language == "es")
    for word in ("está", "Niños", "huésped", "¡", "Dirección", "contraseña"):
        assert word in spanish
    for english in ("Dear", "Thank you", "booking reference"):
        assert english not in spanish


def test_realistic_sms_fits_in_two_messages() -> None:
    values = {
        "guest_name": "Ana María González",
        "guest_first_name": "Ana María",
        "company_name": "Pura Vida Villas",
        "property_name": "Villa Mar Azul",
        "check_in": format_date(date(2026, 12, 21), "es"),
        "check_out": format_date(date(2026, 12, 28), "es"),
        "nights": "7",
        "adults": "2",
        "children": "1",
        "booking_reference": "HX7K2P",
        "portal_link": "https://puravida.hospes.app/p/4f9c2a7e1b",
        "amount": format_money(Decimal("2450"), "USD", "es"),
        "payment_amount": format_money(Decimal("1225"), "USD", "es"),
        "payment_method": "tarjeta",
        "amount_due": format_money(Decimal("1225"), "USD", "es"),
        "property_address": "Playa Hermosa, Guanacaste",
        "check_in_instructions": "unused",
    }
    for template in DEFAULT_TEMPLATES:
        if template.channel is Channel.SMS:
            # Long texts split into many SMS parts, each billed; the portal holds the details.
            assert len(render(template.body, values)) <= 320, template
