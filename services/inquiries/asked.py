"""What a guest asks for in an inquiry (property, dates, party), checked like the booking form's
fields, except that every one of them may be missing: a question need not know its dates yet."""

from __future__ import annotations

import uuid
from datetime import date

from hospes.services import validation as check
from hospes.services.bookings import MAX_PARTY
from hospes.services.inquiries import calendar
from hospes.services.inquiries.core import Request
from hospes.services.rejections import Problems


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
    # Checked before any property is looked up: the earliest today on Earth (see `calendar`).
    today = calendar.today_in(None)
    for field_name, day in (("checkIn", check_in), ("checkOut", check_out)):
        calendar.check_not_past(problems, field_name, day, today)
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
