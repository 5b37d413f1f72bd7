"""Dates typed in the console's forms (``AAAA-MM-JJ``, what ``<input type=date>`` sends)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 7
MAX_DAYS = 366
INVALID_DATE = {
    "since": "La date « du » n'est pas une date valide (AAAA-MM-JJ).",
    "until": "La date « au » n'est pas une date valide (AAAA-MM-JJ).",
}


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def read_date(raw: str, field: Literal["since", "until"], errors: list[str]) -> date | None:
    """The date, or None: when ``raw`` is empty, or not a date (then ``errors`` says so)."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(INVALID_DATE[field])
        return None


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date
    """Inclusive."""

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        return midnight(self.first, zone), midnight(self.last + timedelta(days=1), zone)


def parse_period(since: str, until: str, today: date) -> tuple[Period, list[str]]:
    """The days from ``since`` to ``until``: by default the last week up to today."""
    errors: list[str] = []
    last = read_date(until, "until", errors) or today
    first = read_date(since, "since", errors) or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        errors.append("La période commence après sa fin : les dates ont été inversées.")
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        errors.append(f"La période est limitée à {MAX_DAYS} jours.")
        first = last - timedelta(days=MAX_DAYS - 1)
    return Period(first, last), errors
