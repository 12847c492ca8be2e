"""Fixture dates relative to today. A calendar date in a fixture turns into a failure on the day it
is near: a booking "today" makes its check-in message fall due."""

from __future__ import annotations

from datetime import date, timedelta

# Far enough ahead that no lifecycle message (pre-arrival, check-in) of a fixture booking is due.
AHEAD = 60


def days_from_today(days: int) -> date:
    return date.today() + timedelta(days=days)


def iso(days: int) -> str:
    """The ISO date `days` from today (negative for the past)."""
    return days_from_today(days).isoformat()


def next_occurrence(month: int, day: int, *, at_least: int = AHEAD) -> date:
    """The first `month`/`day` at least `at_least` days from today, for tests that need a season
    (summer time in Madrid) rather than a distance."""
    earliest = days_from_today(at_least)
    candidate = date(earliest.year, month, day)
    return candidate if candidate >= earliest else date(earliest.year + 1, month, day)
