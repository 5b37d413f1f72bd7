"""The content as typed values: what the loader builds and everything else reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Literal

SlotKind = Literal["vocabulary", "dossier", "date", "time", "month", "address", "station", "text"]
IntentKind = Literal["task", "control", "reject"]
OUT_OF_SCOPE = "hors_sujet"
"""The intent made of out-of-scope examples: when it wins, nothing fits."""
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
REQUIRED_PROMPTS = (
    "greeting", "ask", "reprompt", "keypad_menu", "confirm", "handover", "closed",
    "anything_else", "goodbye", "not_understood", "repeat_nothing", "slower", "error",
    "live_data_down", "sms_unavailable",
)  # fmt: skip
"""``sms_sent`` is optional: it is said only when an SMS sender is configured."""


@dataclass(frozen=True, slots=True)
class SlotValue:
    canonical: str
    label: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    kind: SlotKind
    prompt: str
    values: tuple[SlotValue, ...] = ()
    default: str | None = None
    """Value understood when the caller names none ("un rendez-vous" is to take one)."""

    def label_of(self, canonical: str) -> str:
        for value in self.values:
            if value.canonical == canonical:
                return value.label
        return canonical


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    when: tuple[tuple[str, str], ...] = ()
    sms: str | None = None

    def matches(self, slots: dict[str, str]) -> bool:
        return all(slots.get(name) == value for name, value in self.when)


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    label: str
    kind: IntentKind
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    """When set, the intent is chosen only if one of these words or phrases is said (« au
    revoir » ends the call: « c'est pour un renseignement » must not, for lack of
    « merci »)."""
    slots: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    answers: tuple[Answer, ...] = ()
    keypad: str | None = None

    def answer_for(self, slots: dict[str, str]) -> Answer | None:
        for answer in self.answers:
            if answer.matches(slots):
                return answer
        return None


@dataclass(frozen=True, slots=True)
class Redirection:
    """A request for another body (La Poste, the CAF, a doctor) that shares the line's
    words: recognised by its phrases and answered with where to turn instead."""

    id: str
    phrases: tuple[str, ...]
    """Folded phrases; any of them in what the caller said decides it..."""
    answer: str
    unless: tuple[str, ...] = ()
    """... unless one of these is said too (« la station de la poste » is about bikes)."""


@dataclass(frozen=True, slots=True)
class Line:
    id: str
    name: str
    intents: dict[str, Intent]
    slots: dict[str, Slot]
    prompts: dict[str, str]
    redirections: tuple[Redirection, ...] = ()

    @property
    def keypad(self) -> dict[str, str]:
        """Digit → intent id."""
        return {i.keypad: i.id for i in self.intents.values() if i.keypad}


@dataclass(frozen=True, slots=True)
class PublicHolidays:
    """Whose public holidays close the agents' line: a country (ISO 3166-1) and, for
    holidays of its own, a subdivision ("57" Moselle, "974" La Réunion...)."""

    country: str = "FR"
    subdivision: str | None = None


@dataclass(frozen=True, slots=True)
class Opening:
    """When a place opens to the public (the ``service`` slot's value it belongs to)."""

    name: str
    """How it is named in a sentence: « la mairie », « les services techniques »."""
    hours: dict[int, tuple[tuple[time, time], ...]]
    feminine: bool = False
    plural: bool = False
    town_hall: bool = False
    """Closed on the service's extra closures (``closed_dates``) too, not only on
    public holidays."""


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    timezone: str
    hours: dict[int, tuple[tuple[time, time], ...]]
    """Weekday (0 = Monday) → opening periods of the agents."""
    closed_dates: tuple[date, ...] = ()
    closed_on_public_holidays: bool = True
    public_holidays: PublicHolidays = field(default_factory=PublicHolidays)
    gbfs_url: str | None = None
    sms_enabled: bool = False
    """The administration wants SMS; they are offered only when a sender is configured too."""
    facts: dict[str, str] = field(default_factory=dict)
    opening: dict[str, Opening] = field(default_factory=dict)
    """Public opening hours by place, for « est-ce ouvert aujourd'hui ? »."""


@dataclass(frozen=True, slots=True)
class Content:
    service: Service
    lines: dict[str, Line]
    warnings: tuple[str, ...] = ()
    """What was skipped while loading (file: entry: what to do); the rest is loaded."""

    def line(self, line_id: str) -> Line:
        from voicebot.errors import ContentError

        try:
            return self.lines[line_id]
        except KeyError:
            known = ", ".join(sorted(self.lines))
            raise ContentError(
                f"ligne inconnue : « {line_id} »", hint=f"lignes disponibles : {known}"
            ) from None
