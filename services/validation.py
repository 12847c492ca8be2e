"""Input checks shared by the services. Each check records a `UserError` for its field and
returns the cleaned value (or None), so a caller can report every problem at once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from zoneinfo import available_timezones

import langcodes
import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from hospes.services.rejections import Problems, UserErrorCode

MAX_AMOUNT = Decimal("9999999999.99")
CENT = Decimal("0.01")


def text(
    problems: Problems,
    field_name: str,
    value: str | None,
    *,
    max_length: int,
    required: bool = False,
) -> str | None:
    """Trimmed text, None when blank; REQUIRED when blank and required, TOO_LONG past the limit."""
    cleaned = value.strip() if value is not None else None
    if not cleaned:
        if required:
            problems.add(field_name, UserErrorCode.REQUIRED, "Must not be empty.")
        return None
    if len(cleaned) > max_length:
        problems.add(field_name, UserErrorCode.TOO_LONG, f"Must be at most {max_length} characters.")
        return None
    return cleaned


def email(problems: Problems, field_name: str, value: str | None, *, required: bool = False) -> str | None:
    """A syntactically valid address, trimmed and lower-cased (the matching key)."""
    cleaned = text(problems, field_name, value, max_length=320, required=required)
    if cleaned is None:
        return None
    try:
        # test_environment admits the reserved `.test` domain used by demos and staging logins.
        result = validate_email(cleaned, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        problems.add(field_name, UserErrorCode.INVALID, "Not a valid email address.")
        return None
    return result.normalized.lower()


def phone(problems: Problems, field_name: str, value: str | None, *, region: str | None) -> str | None:
    """The number in E.164; national numbers are read in the tenant's default region."""
    cleaned = text(problems, field_name, value, max_length=40)
    if cleaned is None:
        return None
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        problems.add(
            field_name,
            UserErrorCode.INVALID,
            "Not a valid phone number; use international format (+…).",
        )
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country(problems: Problems, field_name: str, value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper-cased."""
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        problems.add(field_name, UserErrorCode.INVALID, "Not an ISO 3166-1 alpha-2 country code.")
        return None
    return code


def language(problems: Problems, field_name: str, value: str | None) -> str | None:
    """A valid BCP 47 tag whose language exists, in its standard form (`es`, `pt-BR`)."""
    cleaned = text(problems, field_name, value, max_length=35)
    if cleaned is None:
        return None
    if not langcodes.tag_is_valid(cleaned):
        problems.add(field_name, UserErrorCode.INVALID, "Not a valid BCP 47 language tag.")
        return None
    return langcodes.standardize_tag(cleaned)


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone(problems: Problems, field_name: str, value: str | None) -> str | None:
    cleaned = text(problems, field_name, value, max_length=64)
    if cleaned is None:
        return None
    if cleaned not in _timezones():
        problems.add(field_name, UserErrorCode.INVALID, "Not an IANA time zone (e.g. America/Costa_Rica).")
        return None
    return cleaned


def currency(problems: Problems, field_name: str, value: str | None) -> str | None:
    """An ISO 4217 code, upper-cased."""
    cleaned = (value or "").strip().upper()
    if not cleaned:
        problems.add(field_name, UserErrorCode.REQUIRED, "Must not be empty.")
        return None
    if len(cleaned) != 3 or pycountry.currencies.get(alpha_3=cleaned) is None:
        problems.add(field_name, UserErrorCode.INVALID, "Not an ISO 4217 currency code.")
        return None
    return cleaned


def amount(
    problems: Problems, field_name: str, value: Decimal | None, *, positive: bool = False
) -> Decimal | None:
    """A finite amount with at most two decimals, not negative (or above zero if `positive`)."""
    if value is None:
        problems.add(field_name, UserErrorCode.REQUIRED, "Must not be empty.")
        return None
    if not value.is_finite():
        problems.add(field_name, UserErrorCode.INVALID, "Must be a number.")
        return None
    if value < 0 or (positive and value == 0):
        message = "Must be greater than zero." if positive else "Must not be negative."
        problems.add(field_name, UserErrorCode.OUT_OF_RANGE, message)
        return None
    if value > MAX_AMOUNT:
        problems.add(field_name, UserErrorCode.OUT_OF_RANGE, f"Must be at most {MAX_AMOUNT}.")
        return None
    quantized = value.quantize(CENT)
    if quantized != value:
        problems.add(field_name, UserErrorCode.INVALID, "At most two decimal places.")
        return None
    return quantized


def count(
    problems: Problems, field_name: str, value: int | None, *, minimum: int, maximum: int
) -> int | None:
    if value is None:
        problems.add(field_name, UserErrorCode.REQUIRED, "Must not be empty.")
        return None
    if not minimum <= value <= maximum:
        problems.add(field_name, UserErrorCode.OUT_OF_RANGE, f"Must be between {minimum} and {maximum}.")
        return None
    return value


def stay_dates(problems: Problems, check_in: date, check_out: date, *, max_nights: int = 366) -> None:
    if check_out <= check_in:
        problems.add("checkOut", UserErrorCode.OUT_OF_RANGE, "Check-out must be after check-in.")
    elif (check_out - check_in).days > max_nights:
        problems.add("checkOut", UserErrorCode.OUT_OF_RANGE, f"A stay is at most {max_nights} nights.")
