"""Message templates: which placeholders each key offers, validation at save time, rendering at send
time, localised values, and the language/channel fallback that picks a template for a guest.

Templates are written by staff, so their text is never handed to `str.format`: a placeholder such as
`{guest.__class__}` would reach into real objects. We parse with `string.Formatter().parse`, refuse
anything but plain names, and substitute already-formatted strings ourselves."""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency

from hospes.models.tenant import Channel, MessageClass

SUBJECT_MAX = 300
BODY_MAX = 10_000
FALLBACK_LANGUAGE = "en"

_KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{2,49}")
_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_COMMON = frozenset({"guest_name", "guest_first_name", "company_name"})
_BOOKING = _COMMON | {
    "property_name",
    "check_in",
    "check_out",
    "nights",
    "adults",
    "children",
    "booking_reference",
    "portal_link",
}
_STAY_DATES = frozenset({"property_name", "check_in", "check_out"})

_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "booking_confirmed": _BOOKING | {"amount"},
    "payment_receipt": _BOOKING | {"payment_amount", "payment_method", "amount_due"},
    "pre_arrival": _BOOKING,
    "check_in_instructions": _BOOKING | {"check_in_instructions", "property_address"},
    "post_stay": _BOOKING,
    "inquiry_reply": _COMMON | _STAY_DATES | {"message"},
    "inquiry_reminder": _COMMON | _STAY_DATES,
    "inquiry_quote": _COMMON | _STAY_DATES | {"quote_amount", "quote_lines", "quote_valid_until"},
    "account_created": _COMMON | {"account_email", "set_password_link"},
}

BUILT_IN_KEYS: frozenset[str] = frozenset(_PLACEHOLDERS)


class TemplateError(ValueError):
    """A template's text cannot be used; the message is written for the person who wrote it."""


@dataclass(frozen=True)
class TemplateProblem:
    """One reason a template cannot be saved, attached to the input field it is about."""

    field: Literal["subject", "body", "key"]
    message: str


@dataclass(frozen=True)
class TemplateCandidate:
    """A template that could be sent: a tenant's own row or one of `DEFAULT_TEMPLATES`.
    `channel` None means channel-neutral (used on any channel without a more specific variant)."""

    key: str
    language: str
    channel: Channel | None
    message_class: MessageClass
    subject: str | None
    body: str


# --- keys ----------------------------------------------------------------------------------------


def is_valid_key(key: str) -> bool:
    """True for a built-in key or a well-formed custom key (`^[a-z][a-z0-9_]{2,49}$`)."""
    return key in BUILT_IN_KEYS or _KEY_PATTERN.fullmatch(key) is not None


def placeholders_for(key: str) -> frozenset[str]:
    """The placeholders a template with this key may use. Custom keys offer only the common ones,
    because the sender has no booking or inquiry to fill the others from."""
    if not is_valid_key(key):
        raise TemplateError(f"'{key}' is not a valid template key")
    return _PLACEHOLDERS.get(key, _COMMON)


def class_for(key: str) -> MessageClass | None:
    """The message class a key always has, or None for a custom key (the caller decides)."""
    return MessageClass.TRANSACTIONAL if key in BUILT_IN_KEYS else None


# --- syntax --------------------------------------------------------------------------------------


def _pieces(text: str) -> list[tuple[str, str | None]]:
    """Split `text` into (literal text, placeholder name or None), refusing everything but `{name}`.
    `{{` and `}}` come back already collapsed to single braces in the literal text."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        if "Single '}'" in str(error):
            raise TemplateError("A '}' has no matching '{'; write '}}' for a literal brace") from None
        raise TemplateError("A '{' is never closed; write '{{' for a literal brace") from None

    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None))
            continue
        if name == "" or name.isdigit():
            raise TemplateError("Placeholders need a name, such as {guest_name}; {} and {0} are not allowed")
        shown = "{" + name + "}"
        if "." in name or "[" in name:
            raise TemplateError(
                f"{shown} is not allowed: use a plain placeholder name such as {{guest_name}}"
            )
        if conversion is not None:
            raise TemplateError(f"{{{name}!{conversion}}} is not allowed: write just {{{name}}}")
        if spec:
            raise TemplateError(f"{{{name}:{spec}}} is not allowed: values arrive already formatted")
        if _NAME_PATTERN.fullmatch(name) is None:
            raise TemplateError(
                f"{shown} is not a placeholder name: use letters, digits and underscores, "
                "without spaces (write {{ and }} for literal braces)"
            )
        pieces.append((literal, name))
    return pieces


def placeholders_in(text: str) -> set[str]:
    """The placeholder names used in `text`. Raises `TemplateError` if the syntax is not allowed."""
    return {name for _, name in _pieces(text) if name is not None}


def _check_text(
    field: Literal["subject", "body"], text: str, offered: frozenset[str] | None, key: str
) -> list[TemplateProblem]:
    try:
        used = placeholders_in(text)
    except TemplateError as error:
        return [TemplateProblem(field, str(error))]
    unknown = used - offered if offered is not None else set()
    if not unknown:
        return []
    listed = ", ".join(f"{{{name}}}" for name in sorted(unknown))
    available = ", ".join(f"{{{name}}}" for name in sorted(offered or ()))
    noun = "placeholder" if len(unknown) == 1 else "placeholders"
    return [TemplateProblem(field, f"Unknown {noun} {listed}; '{key}' templates offer: {available}")]


def check_template(*, key: str, subject: str | None, body: str) -> list[TemplateProblem]:
    """Everything wrong with a template, for the save mutation's `errors`; empty when it may be saved.
    A template that passes always renders, given the values its key promises."""
    problems: list[TemplateProblem] = []
    offered: frozenset[str] | None = None
    if is_valid_key(key):
        offered = placeholders_for(key)
    else:
        problems.append(
            TemplateProblem(
                "key",
                "Template keys are 3 to 50 lowercase letters, digits or underscores, starting with a letter",
            )
        )

    if subject is not None:
        if len(subject) > SUBJECT_MAX:
            problems.append(
                TemplateProblem("subject", f"The subject is longer than {SUBJECT_MAX} characters")
            )
        # A line break in a subject would end the email header early.
        if "\n" in subject or "\r" in subject:
            problems.append(TemplateProblem("subject", "The subject must be a single line"))
        problems.extend(_check_text("subject", subject, offered, key))

    if not body.strip():
        problems.append(TemplateProblem("body", "The message text is required"))
    elif len(body) > BODY_MAX:
        problems.append(TemplateProblem("body", f"The message text is longer than {BODY_MAX:,} characters"))
    else:
        problems.extend(_check_text("body", body, offered, key))
    return problems


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with each `{name}` replaced by `values[name]` and `{{`/`}}` by single braces. Values are
    inserted verbatim (never parsed again), so a guest named "{company_name}" stays "{company_name}"."""
    parts: list[str] = []
    for literal, name in _pieces(text):
        parts.append(literal)
        if name is None:
            continue
        if name not in values:
            raise TemplateError(f"No value for the placeholder {{{name}}}")
        parts.append(values[name])
    return "".join(parts)


# --- localised values ----------------------------------------------------------------------------


def _locale(language: str | None) -> Locale:
    """The babel locale for a BCP 47 tag; its base language if babel lacks the region or the tag has
    extensions babel cannot read; English otherwise. Never raises: a guest's odd tag must not stop a
    confirmation from going out."""
    tag = _normalise(language or "")
    for attempt in (tag, _base(tag)):
        if not attempt:
            continue
        try:
            return Locale.parse(attempt, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
    return Locale.parse(FALLBACK_LANGUAGE)


def format_date(d: date, language: str | None) -> str:
    """A date written out in the guest's language, e.g. "December 1, 2026" / "1 de diciembre de 2026"."""
    return babel_format_date(d, format="long", locale=_locale(language))


def format_money(amount: Decimal, currency: str, language: str | None) -> str:
    """An amount with its currency in the guest's language's conventions, e.g. "$1,234.50" /
    "12.345,50 US$"."""
    return format_currency(amount, currency.upper(), locale=_locale(language))


# --- choosing a template -------------------------------------------------------------------------


def _normalise(language: str) -> str:
    # BCP 47 tags compare case-insensitively; some sources write "es_CR".
    return language.strip().replace("_", "-").lower()


def _base(language: str) -> str:
    return language.split("-", 1)[0]


def base_language(language: str | None) -> str:
    """The base language of a BCP 47 tag, lower-case: `es-CR` → `es`."""
    return _base(_normalise(language or ""))


def language_chain(language: str | None, default_language: str) -> list[str]:
    """The languages to try, most specific first, without repeats: the guest's language, its base
    language, the tenant's default language, that one's base language, then English."""
    chain: list[str] = []
    for tag in (language or "", default_language):
        normalised = _normalise(tag)
        for candidate in (normalised, _base(normalised)):
            if candidate and candidate not in chain:
                chain.append(candidate)
    if FALLBACK_LANGUAGE not in chain:
        chain.append(FALLBACK_LANGUAGE)
    return chain


def choose(
    candidates: Iterable[TemplateCandidate],
    *,
    key: str,
    language: str | None,
    channel: Channel,
    default_language: str,
) -> TemplateCandidate | None:
    """The template to send for `key` on `channel`, or None if there is none in any fallback language.
    For each language of `language_chain`, a channel-specific template beats a channel-neutral one.
    At the same step the earliest candidate wins, so pass a tenant's own rows before the defaults."""
    by_step: dict[tuple[str, Channel | None], TemplateCandidate] = {}
    for candidate in candidates:
        if candidate.key == key and candidate.channel in (channel, None):
            by_step.setdefault((_normalise(candidate.language), candidate.channel), candidate)
    for tag in language_chain(language, default_language):
        for wanted in (channel, None):
            found = by_step.get((tag, wanted))
            if found is not None:
                return found
    return None


# --- defaults ------------------------------------------------------------------------------------


def _load_defaults() -> tuple[TemplateCandidate, ...]:
    """The default copy, kept as data in `default_templates.toml` beside this module (the wheel
    carries it as package data)."""
    data = resources.files("hospes.notifications").joinpath("default_templates.toml")
    text = data.read_text(encoding="utf-8")
    return tuple(
        TemplateCandidate(
            key=entry["key"],
            language=entry["language"],
            channel=Channel(entry["channel"]) if "channel" in entry else None,
            message_class=MessageClass(entry["message_class"]),
            subject=entry.get("subject"),
            body=entry["body"],
        )
        for entry in tomllib.loads(text)["template"]
    )


# Every company starts with these texts in English and Spanish (seeded by migration t0004, which
# keeps its own copy); later edits are the company's own rows.
DEFAULT_TEMPLATES: tuple[TemplateCandidate, ...] = _load_defaults()
