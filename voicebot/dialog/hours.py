"""When agents answer: weekly hours, French public holidays, extra closures."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from voicebot.content.model import Service


def easter_sunday(year: int) -> date:
    """Gregorian Easter (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def french_holidays(year: int) -> dict[date, str]:
    """The eleven public holidays of metropolitan France."""
    easter = easter_sunday(year)
    return {
        date(year, 1, 1): "jour de l'An",
        easter + timedelta(days=1): "lundi de Pâques",
        date(year, 5, 1): "fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }


def local_time(service: Service, now: datetime) -> datetime:
    zone = ZoneInfo(service.timezone)
    return now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)


def agents_available(service: Service, now: datetime) -> bool:
    """Whether a hand-over can reach an agent right now."""
    local = local_time(service, now)
    today = local.date()
    holiday = service.closed_on_public_holidays and today in french_holidays(today.year)
    if holiday or today in service.closed_dates:
        return False
    moment = local.time()
    return any(start <= moment < end for start, end in service.hours.get(today.weekday(), ()))
