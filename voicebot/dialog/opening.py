"""« Est-ce ouvert aujourd'hui ? »: whether a place is open at the moment asked about.

Callers rarely want the weekly schedule first: they want to know whether they
can go now, tonight, tomorrow, this weekend or at noon. The moment is read
from their words; the answer comes from the place's opening hours in the
content, public holidays where the service is, and (for the town hall's own
services) its extra closures. Pure: the dialog says the sentence before the
weekly schedule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from voicebot.content.model import Opening, Service
from voicebot.dialog.hours import local_time, public_holidays
from voicebot.nlu.normalize import fold

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
EVENING = time(18, 0)
NOON = time(12, 0)


@dataclass(frozen=True, slots=True)
class Moment:
    kind: str
    """now, today, tonight, noon, day (a named day or tomorrow), weekend."""
    day: date
    label: str = ""
    """How the day is said: « demain », « samedi »."""


_NOW = re.compile(r"\b(maintenant|en ce moment|actuellement|tout de suite|la ouvert)\b")
_TODAY = re.compile(r"\b(aujourd hui|ce matin|cet apres midi|cette apres midi|ce jour)\b")
_TONIGHT = re.compile(r"\b(ce soir|en soiree|tard le soir|apres le travail)\b")
_NOON = re.compile(
    r"\b(a midi|entre midi et deux|entre midi|pause de midi|le midi|heure du dejeuner)\b"
)
_TOMORROW = re.compile(r"\b(apres demain|demain)\b")
_WEEKEND = re.compile(
    r"\b(ce week end|ce weekend|le week end|le weekend|du week end|en fin de semaine)\b"
)
_DAY = re.compile(r"\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b")


def moment_asked(text: str, now: datetime) -> Moment | None:
    """The moment the caller asks about, or None (they asked for the hours in general)."""
    folded = fold(text)
    today = now.date()
    if _NOON.search(folded):
        return Moment("noon", today)
    if _TONIGHT.search(folded):
        return Moment("tonight", today)
    if _WEEKEND.search(folded):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            saturday = today - timedelta(days=1)
        return Moment("weekend", saturday)
    tomorrow = _TOMORROW.search(folded)
    if tomorrow:
        days = 2 if tomorrow.group(1) == "apres demain" else 1
        label = "après-demain" if days == 2 else "demain"
        return Moment("day", today + timedelta(days=days), label)
    named = _DAY.search(folded)
    if named:
        index = DAYS.index(named.group(1))
        ahead = (index - today.weekday()) % 7
        if ahead == 0:
            return Moment("today", today)
        label = "demain" if ahead == 1 else named.group(1)
        return Moment("day", today + timedelta(days=ahead), label)
    if _NOW.search(folded):
        return Moment("now", today)
    if _TODAY.search(folded):
        return Moment("today", today)
    return None


def opening_sentence(service: Service, place: Opening, moment: Moment, now: datetime) -> str:
    """What the caller needs to hear first: open or closed then, and until or from when."""
    local = local_time(service, now)
    words = _words_for(place)
    if moment.kind == "weekend":
        sunday = moment.day + timedelta(days=1)
        return f"Ce week-end, {place.name} {_weekend(service, place, moment.day, sunday, words)}."
    if moment.kind == "day":
        return _day_sentence(service, place, moment.day, moment.label, words)
    day = local.date()
    periods = _periods(service, place, day)
    closed_why = _closed_why(service, place, day)
    if not periods:
        reopen = _next_opening(service, place, local)
        return f"Aujourd'hui, {closed_why}, {place.name} {words.be} {words.closed}{reopen}."
    moment_time = local.time()
    if moment.kind == "noon":
        return _at(place, periods, NOON, "À midi", words)
    if moment.kind == "tonight":
        last_start, last_end = periods[-1]
        if last_end > EVENING:
            if last_start <= moment_time:
                return f"Ce soir, {place.name} {words.be} {words.open} jusqu'à {_hour(last_end)}."
            span = f"de {_hour(last_start)} à {_hour(last_end)}"
            return f"Ce soir, {place.name} {words.be} {words.open} {span}."
        return (
            f"Ce soir, {place.name} {words.be} {words.closed} : "
            f"{words.it} ferme{words.nt} à {_hour(last_end)}."
        )
    current = next(((s, e) for s, e in periods if s <= moment_time < e), None)
    if current is not None:
        later = [p for p in periods if p[0] >= current[1]]
        then = f", puis de {_hour(later[0][0])} à {_hour(later[0][1])}" if later else ""
        return (
            f"Oui, {place.name} {words.be} {words.open} en ce moment, "
            f"jusqu'à {_hour(current[1])}{then}."
        )
    coming = [p for p in periods if p[0] > moment_time]
    if coming:
        return (
            f"{_cap(place.name)} {words.be} {words.closed} en ce moment : "
            f"{words.it} ouvre{words.nt} à {_hour(coming[0][0])} aujourd'hui."
        )
    reopen = _next_opening(service, place, local)
    return f"{_cap(place.name)} {words.be} {words.closed} pour aujourd'hui{reopen}."


# ---------------------------------------------------------------- helpers
@dataclass(frozen=True, slots=True)
class _Words:
    """The place's agreement: « la mairie est ouverte », « les services techniques
    sont ouverts », « elle rouvre », « ils rouvrent »."""

    be: str
    open: str
    closed: str
    it: str
    nt: str


def _words_for(place: Opening) -> _Words:
    ending = ("e" if place.feminine else "") + ("s" if place.plural else "")
    if place.plural:
        pronoun = "elles" if place.feminine else "ils"
    else:
        pronoun = "elle" if place.feminine else "il"
    return _Words(
        be="sont" if place.plural else "est",
        open="ouvert" + ending,
        closed="fermé" + ending,
        it=pronoun,
        nt="nt" if place.plural else "",
    )


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _hour(moment: time) -> str:
    if moment == time.max:
        return "minuit"
    return f"{moment.hour} h {moment.minute:02d}" if moment.minute else f"{moment.hour} h"


def _holiday(service: Service, day: date) -> str | None:
    if not service.closed_on_public_holidays:
        return None
    return public_holidays(service.public_holidays, day.year).get(day)


def _closed_day(service: Service, place: Opening, day: date) -> bool:
    if _holiday(service, day) is not None:
        return True
    return place.town_hall and day in service.closed_dates


def _periods(service: Service, place: Opening, day: date) -> tuple[tuple[time, time], ...]:
    if _closed_day(service, place, day):
        return ()
    return place.hours.get(day.weekday(), ())


def _closed_why(service: Service, place: Opening, day: date) -> str:
    holiday = _holiday(service, day)
    if holiday is not None:
        return f"{DAYS[day.weekday()]}, jour férié"
    if place.town_hall and day in service.closed_dates:
        return f"{DAYS[day.weekday()]}, jour de fermeture exceptionnelle"
    return DAYS[day.weekday()]


def _spans(periods: tuple[tuple[time, time], ...]) -> str:
    parts = [f"de {_hour(start)} à {_hour(end)}" for start, end in periods]
    return " et ".join(parts)


def _next_opening(service: Service, place: Opening, local: datetime) -> str:
    """« ; elle rouvre lundi à 8 h 30 » (empty when it never opens within two weeks)."""
    words = _words_for(place)
    for ahead in range(1, 15):
        day = local.date() + timedelta(days=ahead)
        periods = _periods(service, place, day)
        if periods:
            when = (
                "demain" if ahead == 1 else (DAYS[day.weekday()] if ahead < 7 else f"le {day.day}")
            )
            return f" ; {words.it} rouvre{words.nt} {when} à {_hour(periods[0][0])}"
    return ""


def _day_sentence(service: Service, place: Opening, day: date, label: str, words: _Words) -> str:
    periods = _periods(service, place, day)
    name = DAYS[day.weekday()]
    said = f"{_cap(label)}, {name}" if label in ("demain", "après-demain") else _cap(name)
    if not periods:
        why = _closed_why(service, place, day)
        said = f"{_cap(label)}, {why}" if label in ("demain", "après-demain") else _cap(why)
        return f"{said}, {place.name} {words.be} {words.closed}."
    return f"{said}, {place.name} {words.be} {words.open} {_spans(periods)}."


def _weekend(service: Service, place: Opening, saturday: date, sunday: date, words: _Words) -> str:
    parts = []
    state = ""
    for day in (saturday, sunday):
        periods = _periods(service, place, day)
        name = DAYS[day.weekday()]
        now = words.open if periods else words.closed
        said = f"le {name} {_spans(periods)}" if periods else f"le {name}"
        parts.append(
            said if now == state else f"{now} {said}"
        )  # « ouverte le samedi ..., et le dimanche ... »
        state = now
    return f"{words.be} " + ", et ".join(parts)


def _at(
    place: Opening, periods: tuple[tuple[time, time], ...], at: time, said: str, words: _Words
) -> str:
    current = next(((s, e) for s, e in periods if s <= at < e), None)
    if current is not None:
        return (
            f"{said}, {place.name} {words.be} {words.open} aujourd'hui, "
            f"de {_hour(current[0])} à {_hour(current[1])}."
        )
    before = [p for p in periods if p[1] <= at]
    after = [p for p in periods if p[0] > at]
    parts = [f"{said}, {place.name} {words.be} {words.closed} aujourd'hui"]
    if before and after:
        parts.append(
            f" : {words.it} ferme{words.nt} à {_hour(before[-1][1])} "
            f"et rouvre{words.nt} à {_hour(after[0][0])}"
        )
    elif after:
        parts.append(f" : {words.it} ouvre{words.nt} à {_hour(after[0][0])}")
    return "".join(parts) + "."
