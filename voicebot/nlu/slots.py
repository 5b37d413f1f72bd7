"""Slot extraction: vocabularies matched fuzzily, dossier numbers, dates, times, months."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rapidfuzz import fuzz

from voicebot.content.model import Line
from voicebot.nlu.normalize import Normalized, normalize
from voicebot.nlu.numbers import spell

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
}  # fmt: skip
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
STREET_TYPES = frozenset(
    "rue avenue boulevard bd place chemin impasse allee route quai square cours passage "
    "residence lotissement parking parc rond point".split()
)
_ADDRESS_STOP = frozenset(
    "il elle qui depuis y a et mais est sont devant pres a cote en face car parce voila merci "
    "svp sil hier ne n marche marchent fonctionne fonctionnent plus pas est eteint eteints "
    "clignote tombe casse cassee bouche bouchee ce cette ces".split()
)
_STREET_OWNER = frozenset("ma mon notre votre leur cette".split())
"""« ma rue », « notre quartier »: a street named by whose it is, not by its name."""
_DOSSIER_TOKEN = re.compile(r"^([a-z]{2})(\d{4})$")
FUZZY_SLOT_CUTOFF = 88.0


@dataclass(frozen=True, slots=True)
class _Synonym:
    slot: str
    canonical: str
    text: str


class SlotExtractor:
    """Every slot of one line, extracted from an utterance."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self._synonyms: list[_Synonym] = []
        for slot in line.slots.values():
            if slot.kind != "vocabulary":
                continue
            for value in slot.values:
                forms = {value.canonical.replace("_", " "), value.label, *value.synonyms}
                for form in forms:
                    text = normalize(form).text
                    if text:
                        self._synonyms.append(_Synonym(slot.name, value.canonical, text))
        # Longest forms first: "carte nationale d'identité" before "carte".
        self._synonyms.sort(key=lambda s: -len(s.text))

    def extract(
        self,
        n: Normalized,
        wanted: Sequence[str],
        today: date,
        stations: Sequence[str] = (),
        raw: str = "",
        use_defaults: bool = True,
    ) -> dict[str, str]:
        """The ``wanted`` slots heard in ``n`` (``raw``: the text as heard, for free text)."""
        slots: dict[str, str] = {}
        vocabulary = self._vocabulary(n, set(wanted))
        for name in wanted:
            slot = self.line.slots.get(name)
            if slot is None:
                continue
            value: str | None
            if slot.kind == "vocabulary":
                value = vocabulary.get(name) or (slot.default if use_defaults else None)
            elif slot.kind == "dossier":
                value = dossier_number(n.words)
            elif slot.kind == "date":
                found = parse_date(n.tokens, today)
                value = found.isoformat() if found else None
            elif slot.kind == "time":
                value = parse_time(n.tokens)
            elif slot.kind == "month":
                month = parse_month(n.tokens, today)
                value = str(month) if month else None
            elif slot.kind == "address":
                value = parse_address(n.tokens)
            elif slot.kind == "station":
                value = match_station(n.text, stations)
            else:
                others = self._vocabulary(n, set(self.line.slots) - set(wanted))
                value = self._free_text(raw or n.text, others)
            if value:
                slots[name] = value
        return slots

    def _vocabulary(self, n: Normalized, wanted: set[str]) -> dict[str, str]:
        found: dict[str, tuple[float, int, str]] = {}
        padded = f" {n.text} "
        taken: list[tuple[int, int]] = []
        for synonym in self._synonyms:
            if synonym.slot not in wanted:
                continue
            position = padded.find(f" {synonym.text} ")
            score = 1.0
            if position < 0:
                # Fuzzy only for a synonym that fits inside what was said: the other way
                # round, a long synonym would contain a short utterance and always match.
                if len(synonym.text) < 5 or len(synonym.text) > len(n.text):
                    continue
                alignment = fuzz.partial_ratio_alignment(synonym.text, n.text)
                if alignment is None or alignment.score < FUZZY_SLOT_CUTOFF:
                    continue
                if alignment.src_end - alignment.src_start < 0.8 * len(synonym.text):
                    continue
                score = alignment.score / 100.0
                position = alignment.dest_start
            span = (position, position + len(synonym.text))
            if any(start < span[1] and span[0] < end for start, end in taken) and score < 1.0:
                continue
            best = found.get(synonym.slot)
            candidate = (score, len(synonym.text), synonym.canonical)
            if best is None or candidate[:2] > best[:2]:
                found[synonym.slot] = candidate
                if score == 1.0:
                    taken.append(span)
        return {slot: value for slot, (_, _, value) in found.items()}

    def _free_text(self, raw: str, vocabulary: dict[str, str]) -> str | None:
        """A reason in the caller's words: what follows "pour", or a term the line knows."""
        words = [w for w in re.split(r"[^\w'-]+", raw.lower()) if w]
        for marker in ("pour", "avec"):  # « pour mon mariage », « avec monsieur le maire »
            if marker in words:
                after = words[words.index(marker) + 1 :][:6]
                if after:
                    return " ".join(after)
        for slot, canonical in vocabulary.items():
            other = self.line.slots.get(slot)
            if other is not None:
                return other.label_of(canonical)
        return None


def dossier_number(words: Sequence[str]) -> str | None:
    """Two letters then four digits, whole ("ab1234") or spelled ("p comme pierre t zéro zéro
    quatre cinq"), as ``numbers.spell`` reads them."""
    for word in words:
        whole = _DOSSIER_TOKEN.match(word)
        if whole:
            return (whole.group(1) + whole.group(2)).upper()
    match = re.search(r"([A-Z]{2})(\d{4})(?!\d)", spell(words))
    return match.group(1) + match.group(2) if match else None


def parse_date(tokens: Sequence[str], today: date) -> date | None:
    text = " ".join(tokens)
    if "apres demain" in text:
        return today + timedelta(days=2)
    if "demain" in tokens:
        return today + timedelta(days=1)
    if "aujourdhui" in tokens:
        return today
    for index, token in enumerate(tokens):
        day = 1 if token in ("premier", "1er") else int(token) if token.isdigit() else None
        if day is None or not 1 <= day <= 31:
            continue
        rest = tokens[index + 1 : index + 3]
        if rest and rest[0] in MONTHS:
            month = MONTHS[rest[0]]
            year = (
                int(rest[1]) if len(rest) > 1 and rest[1].isdigit() and len(rest[1]) == 4 else None
            )
            candidate = _safe_date(year or today.year, month, day)
            if candidate and year is None and candidate < today:
                candidate = _safe_date(today.year + 1, month, day)
            if candidate:
                return candidate
    for token in tokens:
        if token in WEEKDAYS:
            ahead = (WEEKDAYS.index(token) - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_time(tokens: Sequence[str]) -> str | None:
    for index, token in enumerate(tokens):
        if token in ("midi", "minuit"):
            hour = 12 if token == "midi" else 0
            return f"{hour:02d}:{_minutes_after(tokens, index + 1):02d}"
        if not token.isdigit() or index + 1 >= len(tokens):
            continue
        if tokens[index + 1] not in ("heure", "heures", "h"):
            continue
        hour = int(token)
        minutes = _minutes_after(tokens, index + 2)
        tail = " ".join(tokens[index + 2 : index + 7])
        if hour < 12 and ("apres midi" in tail or "du soir" in tail):
            hour += 12
        if "moins le quart" in tail or "moins quart" in tail:
            hour, minutes = (hour - 1) % 24, 45
        if 0 <= hour <= 23 and 0 <= minutes <= 59:
            return f"{hour:02d}:{minutes:02d}"
    return None


def _minutes_after(tokens: Sequence[str], index: int) -> int:
    following = list(tokens[index : index + 2])
    if following[:1] and following[0].isdigit():
        return int(following[0])
    if following[:2] == ["et", "quart"] or following[:1] == ["quart"]:
        return 15
    if following[:2] in (["et", "demie"], ["et", "demi"]) or following[:1] == ["demie"]:
        return 30
    return 0


def parse_month(tokens: Sequence[str], today: date) -> int | None:
    for token in tokens:
        if token in MONTHS:
            return MONTHS[token]
    text = " ".join(tokens)
    if "mois dernier" in text or "mois precedent" in text:
        return 12 if today.month == 1 else today.month - 1
    if "mois prochain" in text:
        return 1 if today.month == 12 else today.month + 1
    if "ce mois" in text or "mois ci" in text:
        return today.month
    return None


def parse_address(tokens: Sequence[str]) -> str | None:
    for index, token in enumerate(tokens):
        if token not in STREET_TYPES:
            continue
        if index > 0 and tokens[index - 1] in _STREET_OWNER:
            continue
        start = index - 1 if index > 0 and tokens[index - 1].isdigit() else index
        end = index + 1
        while end < len(tokens) and end - index <= 4 and tokens[end] not in _ADDRESS_STOP:
            end += 1
        if end - index >= 2:
            return " ".join(tokens[start:end])
    return None


def match_station(text: str, stations: Sequence[str]) -> str | None:
    """The known station the caller named; without a list, the words after "station"."""
    if not stations:
        words = text.split()
        if "station" in words:
            return " ".join(words[words.index("station") + 1 :][:4]) or None
        return None
    best: tuple[float, str] | None = None
    for station in stations:
        score = fuzz.partial_ratio(normalize(station).text, text)
        if score >= 80 and (best is None or score > best[0]):
            best = (score, station)
    return best[1] if best else None
