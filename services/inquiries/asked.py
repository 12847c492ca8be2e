"""What a guest asks for in an inquiry (property, dates, party), checked like the booking form's
fields, except that every one of them may be missing: a question need not know its dates yet."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hospes.services import validation as check
from hospes.services.bookings import MAX_PARTY
from hospes.services.inquiries.core import Request
from hospes.services.rejections import Problems, UserErrorCode


def earliest_today() -> date:
    """The earliest calendar date that is today somewhere on Earth (UTC-12): a guest may ask for a
    stay from their own today, whatever our clock's date."""
    return (datetime.now(UTC) - timedelta(hours=12)).date()


def clean_request(
    problems: Problems,
    *,
    property_pk: uuid.UUID | None,
    check_in: date | None,
    check_out: date | None,
    adults: int | None,
    children: int | None,
    subject: str | None = None,
    message: str | None = None,
) -> Request:
    """The request with the fields given; each bad one is a field error in `problems`: a date in
    the past, check-out not after check-in (or a stay past the longest a booking may be), a party
    out of range."""
    today = earliest_today()
    for field_name, day in (("checkIn", check_in), ("checkOut", check_out)):
        if day is not None and day < today:
            problems.add(field_name, UserErrorCode.OUT_OF_RANGE, "Must not be in the past.")
    if check_in is not None and check_out is not None:
        check.stay_dates(problems, check_in, check_out)
    return Request(
        property_id=property_pk,
        check_in=check_in,
        check_out=check_out,
        adults=None
        if adults is None
        else check.count(problems, "adults", adults, minimum=1, maximum=MAX_PARTY),
        children=(
            None
            if children is None
            else check.count(problems, "children", children, minimum=0, maximum=MAX_PARTY)
        ),
        subject=subject,
        message=message,
    )


def _party(problems: Problems, field_name: str, value: int | None, *, minimum: int) -> int | None:
    if value is None:
        return None
    return check.count(problems, field_name, value, minimum=minimum, maximum=MAX_PARTY)
