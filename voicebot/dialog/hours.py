"""When agents answer: weekly hours, public holidays, extra closures.

Public holidays come from the maintained `holidays` library: France's eleven,
and with a subdivision those of Alsace-Moselle (Good Friday, 26 December) or
of an overseas department (the abolition of slavery, Victor Schœlcher's day).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays

from voicebot.content.model import PublicHolidays, Service

SCHOOL_ZONES = {"FR": frozenset({"Zone A", "Zone B", "Zone C"})}
"""Subdivisions that only add school holidays, which close no town hall: not offered."""


def public_holidays(choice: PublicHolidays, year: int) -> dict[date, str]:
    """The public holidays of ``year`` where the service is, by date."""
    calendar = holidays.country_holidays(choice.country, subdiv=choice.subdivision, years=year)
    return dict(calendar.items())


def countries() -> frozenset[str]:
    """The ISO 3166-1 codes the library has public holidays for."""
    return frozenset(holidays.list_supported_countries())


def subdivisions(country: str) -> dict[str, str]:
    """A country's subdivisions with their own public holidays: code → name (the code
    itself when the library names none). ``country`` is one of :func:`countries`."""
    calendar = holidays.country_holidays(country)
    names: dict[str, str] = {}
    for alias, code in calendar.subdivisions_aliases.items():
        if len(alias) > len(names.get(code, "")):
            names[code] = alias
    skipped = SCHOOL_ZONES.get(country, frozenset())
    return {code: names.get(code, code) for code in calendar.subdivisions if code not in skipped}


def subdivision_code(country: str, written: str) -> str | None:
    """The code of a subdivision written as its code or as one of its names
    ("974", "RE", "La Réunion"), or None when the country has no such subdivision."""
    known = subdivisions(country)
    if written in known:
        return written
    code = holidays.country_holidays(country).subdivisions_aliases.get(written)
    return code if code in known else None


def local_time(service: Service, now: datetime) -> datetime:
    zone = ZoneInfo(service.timezone)
    return now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)


def agents_available(service: Service, now: datetime) -> bool:
    """Whether a hand-over can reach an agent right now."""
    local = local_time(service, now)
    today = local.date()
    holiday = service.closed_on_public_holidays and today in public_holidays(
        service.public_holidays, today.year
    )
    if holiday or today in service.closed_dates:
        return False
    moment = local.time()
    return any(start <= moment < end for start, end in service.hours.get(today.weekday(), ()))
