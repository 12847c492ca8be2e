"""Message templates: which placeholders each key offers, validation at save time, rendering at send
time, localised values, and the language/channel fallback that picks a template for a guest.

Templates are written by staff, so their text is never handed to `str.format`: a placeholder such as
`{guest.__class__}` would reach into real objects. We parse with `string.Formatter().parse`, refuse
anything but plain names, and substitute already-formatted strings ourselves."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
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
# Plain text, usable as an email body. The inquiry defaults leave out property and dates: an inquiry
# may have neither, and "your stay from  to " would read badly.


def _default(
    key: str, language: str, subject: str | None, body: str, channel: Channel | None = None
) -> TemplateCandidate:
    return TemplateCandidate(
        key=key,
        language=language,
        channel=channel,
        message_class=MessageClass.TRANSACTIONAL,
        subject=subject,
        body=body,
    )


def _sms(key: str, language: str, body: str) -> TemplateCandidate:
    return _default(key, language, None, body, channel=Channel.SMS)


_ENGLISH: tuple[TemplateCandidate, ...] = (
    _default(
        "booking_confirmed",
        "en",
        "Your booking at {property_name} is confirmed",
        """Dear {guest_first_name},

Thank you for booking with {company_name}. We are delighted to confirm your stay at {property_name}.

Booking reference: {booking_reference}
Check-in: {check_in}
Check-out: {check_out}
Nights: {nights}
Adults: {adults}
Children: {children}
Total: {amount}

Your guest portal has your booking, your arrival details and the services we can arrange for you:
{portal_link}

If you have any questions or special requests, simply reply to this message. We are happy to help.

We look forward to welcoming you.

Warm regards,
The {company_name} team""",
    ),
    _sms(
        "booking_confirmed",
        "en",
        "Hi {guest_first_name}, your stay at {property_name} is confirmed: {check_in} to {check_out}, "
        "ref. {booking_reference}. Your booking: {portal_link} - {company_name}",
    ),
    _default(
        "payment_receipt",
        "en",
        "Payment received for your stay at {property_name}",
        """Dear {guest_first_name},

Thank you for your payment. We have received {payment_amount} by {payment_method} for your stay at \
{property_name} from {check_in} to {check_out} (booking reference {booking_reference}).

Balance remaining: {amount_due}

You can see your payments and booking details at any time in your guest portal:
{portal_link}

Kind regards,
The {company_name} team""",
    ),
    _sms(
        "payment_receipt",
        "en",
        "Hi {guest_first_name}, we have received your payment of {payment_amount} for booking "
        "{booking_reference}. Balance remaining: {amount_due}. Thank you! - {company_name}",
    ),
    _default(
        "pre_arrival",
        "en",
        "Getting ready for your stay at {property_name}",
        """Dear {guest_first_name},

Your stay at {property_name} is coming up soon, and we are getting everything ready for your arrival \
on {check_in}.

Booking reference: {booking_reference}
Check-in: {check_in}
Check-out: {check_out}
Adults: {adults}
Children: {children}

In your guest portal you will find directions, the property guide and services you can book ahead, \
such as airport transfers and tours:
{portal_link}

Please let us know your expected arrival time, and tell us if there is anything we can prepare for you.

Safe travels, and see you soon!
The {company_name} team""",
    ),
    _sms(
        "pre_arrival",
        "en",
        "Hi {guest_first_name}, we look forward to welcoming you to {property_name} on {check_in}! "
        "Directions and your guide: {portal_link}. Please reply with your arrival time. - {company_name}",
    ),
    _default(
        "check_in_instructions",
        "en",
        "Check-in instructions for {property_name}",
        """Dear {guest_first_name},

Here is everything you need to check in at {property_name} on {check_in}.

Address:
{property_address}

How to check in:
{check_in_instructions}

Your booking reference is {booking_reference}. These details are also in your guest portal:
{portal_link}

If anything is unclear or your plans change, reply to this message and we will help right away.

We wish you a wonderful stay.
The {company_name} team""",
    ),
    _sms(
        "check_in_instructions",
        "en",
        "Hi {guest_first_name}, check-in at {property_name} on {check_in}. Address: {property_address}. "
        "Instructions and directions: {portal_link} - {company_name}",
    ),
    _default(
        "post_stay",
        "en",
        "Thank you for staying at {property_name}",
        """Dear {guest_first_name},

Thank you for choosing {property_name}. We hope you had a wonderful stay and a safe journey home.

We would love to hear how everything went. Your feedback helps us care for every guest a little \
better, so please reply to this message with your thoughts.

Your booking details remain available in your guest portal:
{portal_link}

It would be a pleasure to welcome you back.

Warm regards,
The {company_name} team""",
    ),
    _default(
        "inquiry_reply",
        "en",
        "Your inquiry with {company_name}",
        """Dear {guest_first_name},

Thank you for getting in touch with {company_name}.

{message}

If you have any other questions, simply reply to this message.

Kind regards,
The {company_name} team""",
    ),
    _default(
        "inquiry_reminder",
        "en",
        "Following up on your inquiry with {company_name}",
        """Dear {guest_first_name},

We wanted to follow up on your recent inquiry with {company_name}. Have you had a chance to look at \
our reply?

If you have any questions, would like to change the dates, or are ready to book, simply reply to \
this message and we will take care of the rest.

We would be delighted to host you.

Kind regards,
The {company_name} team""",
    ),
    _default(
        "account_created",
        "en",
        "Your {company_name} guest account",
        """Dear {guest_first_name},

We have created a guest account for you with {company_name}, for {account_email}. With it you can \
see your bookings, payments and arrival details, and request services for your stay.

To get started, please choose your password:
{set_password_link}

This link can be used only once and expires after a short time. If you did not expect this email, \
you can safely ignore it.

Kind regards,
The {company_name} team""",
    ),
)

_SPANISH: tuple[TemplateCandidate, ...] = (
    _default(
        "booking_confirmed",
        "es",
        "Su reserva en {property_name} está confirmada",
        """Hola, {guest_first_name}:

Gracias por reservar con {company_name}. Nos complace confirmar su estancia en {property_name}.

Referencia de la reserva: {booking_reference}
Llegada: {check_in}
Salida: {check_out}
Noches: {nights}
Adultos: {adults}
Niños: {children}
Total: {amount}

En su portal de huésped encontrará su reserva, los detalles de llegada y los servicios que podemos \
organizar para usted:
{portal_link}

Si tiene alguna pregunta o petición especial, basta con responder a este mensaje. Estaremos \
encantados de ayudarle.

Esperamos darle la bienvenida muy pronto.

Un cordial saludo,
El equipo de {company_name}""",
    ),
    _sms(
        "booking_confirmed",
        "es",
        "Hola, {guest_first_name}: su estancia en {property_name} está confirmada, del {check_in} al "
        "{check_out} (ref. {booking_reference}). Su reserva: {portal_link} - {company_name}",
    ),
    _default(
        "payment_receipt",
        "es",
        "Pago recibido para su estancia en {property_name}",
        """Hola, {guest_first_name}:

Muchas gracias por su pago. Hemos recibido {payment_amount} mediante {payment_method} para su \
estancia en {property_name} del {check_in} al {check_out} (referencia de la reserva \
{booking_reference}).

Saldo pendiente: {amount_due}

Puede consultar sus pagos y los detalles de su reserva en cualquier momento en su portal de huésped:
{portal_link}

Un cordial saludo,
El equipo de {company_name}""",
    ),
    _sms(
        "payment_receipt",
        "es",
        "Hola, {guest_first_name}: hemos recibido su pago de {payment_amount} para la reserva "
        "{booking_reference}. Saldo pendiente: {amount_due}. ¡Muchas gracias! - {company_name}",
    ),
    _default(
        "pre_arrival",
        "es",
        "Preparando su estancia en {property_name}",
        """Hola, {guest_first_name}:

Su estancia en {property_name} se acerca y ya estamos preparándolo todo para su llegada el \
{check_in}.

Referencia de la reserva: {booking_reference}
Llegada: {check_in}
Salida: {check_out}
Adultos: {adults}
Niños: {children}

En su portal de huésped encontrará cómo llegar, la guía de la propiedad y los servicios que puede \
reservar con antelación, como traslados desde el aeropuerto y excursiones:
{portal_link}

Le agradeceríamos que nos indicara su hora prevista de llegada y que nos dijera si hay algo que \
podamos preparar para usted.

¡Buen viaje y hasta muy pronto!
El equipo de {company_name}""",
    ),
    _sms(
        "pre_arrival",
        "es",
        "Hola, {guest_first_name}: ¡le esperamos en {property_name} el {check_in}! Cómo llegar y guía: "
        "{portal_link}. Por favor, responda con su hora de llegada. - {company_name}",
    ),
    _default(
        "check_in_instructions",
        "es",
        "Instrucciones de llegada a {property_name}",
        """Hola, {guest_first_name}:

Aquí tiene todo lo necesario para su llegada a {property_name} el {check_in}.

Dirección:
{property_address}

Cómo hacer el check-in:
{check_in_instructions}

La referencia de su reserva es {booking_reference}. Estos datos también están en su portal de \
huésped:
{portal_link}

Si algo no está claro o cambian sus planes, responda a este mensaje y le ayudaremos enseguida.

Le deseamos una estancia maravillosa.
El equipo de {company_name}""",
    ),
    _sms(
        "check_in_instructions",
        "es",
        "Hola, {guest_first_name}: llegada a {property_name} el {check_in}. Dirección: "
        "{property_address}. Instrucciones y cómo llegar: {portal_link} - {company_name}",
    ),
    _default(
        "post_stay",
        "es",
        "Gracias por alojarse en {property_name}",
        """Hola, {guest_first_name}:

Muchas gracias por elegir {property_name}. Esperamos que haya disfrutado de su estancia y que haya \
tenido un buen viaje de regreso.

Nos encantaría saber qué tal fue todo. Sus comentarios nos ayudan a cuidar cada día mejor a nuestros \
huéspedes, así que no dude en responder a este mensaje con su opinión.

Los detalles de su reserva siguen disponibles en su portal de huésped:
{portal_link}

Será un placer recibirle de nuevo.

Un cordial saludo,
El equipo de {company_name}""",
    ),
    _default(
        "inquiry_reply",
        "es",
        "Su consulta a {company_name}",
        """Hola, {guest_first_name}:

Muchas gracias por ponerse en contacto con {company_name}.

{message}

Si tiene cualquier otra pregunta, basta con responder a este mensaje.

Un cordial saludo,
El equipo de {company_name}""",
    ),
    _default(
        "inquiry_reminder",
        "es",
        "Seguimiento de su consulta a {company_name}",
        """Hola, {guest_first_name}:

Queríamos hacer un seguimiento de su reciente consulta a {company_name}. ¿Ha tenido ocasión de leer \
nuestra respuesta?

Si tiene alguna pregunta, desea cambiar las fechas o ya quiere reservar, basta con responder a este \
mensaje y nos encargaremos del resto.

Será un placer recibirle.

Un cordial saludo,
El equipo de {company_name}""",
    ),
    _default(
        "account_created",
        "es",
        "Su cuenta de huésped en {company_name}",
        """Hola, {guest_first_name}:

Hemos creado una cuenta de huésped para usted en {company_name}, con la dirección {account_email}. \
Con ella podrá consultar sus reservas, pagos y detalles de llegada, y solicitar servicios para su \
estancia.

Para empezar, elija su contraseña:
{set_password_link}

Este enlace solo puede usarse una vez y caduca al poco tiempo. Si no esperaba este correo, puede \
ignorarlo sin problema.

Un cordial saludo,
El equipo de {company_name}""",
    ),
)

DEFAULT_TEMPLATES: tuple[TemplateCandidate, ...] = _ENGLISH + _SPANISH
