"""What happens to a call (events) and what the dialog asks for (actions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


# ---------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class CallStarted:
    now: datetime
    caller: str | None = None
    keypad_only: bool = False
    """No speech recognition on this call: the greeting offers the keypad."""


@dataclass(frozen=True, slots=True)
class Heard:
    """A final transcript; ``alternatives`` is the recogniser's n-best with posteriors."""

    text: str
    alternatives: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Keypad:
    digit: str


@dataclass(frozen=True, slots=True)
class Silence:
    """The caller said nothing before the listening timeout."""


@dataclass(frozen=True, slots=True)
class LiveData:
    """Result of a :class:`FetchLive`: the station's figures, or None when the feed is down."""

    station: str | None
    bikes: int | None = None
    docks: int | None = None
    available: bool = True


@dataclass(frozen=True, slots=True)
class StageFailed:
    """A component (recogniser, synthesizer, content, live data) failed mid-call."""

    stage: str
    detail: str = ""


Event = CallStarted | Heard | Keypad | Silence | LiveData | StageFailed


# ---------------------------------------------------------------- actions
@dataclass(frozen=True, slots=True)
class Speak:
    text: str
    speed: float = 1.0
    protect_ms: int = 0
    """Playout time from the start during which the caller's voice does not interrupt
    (a personal-data notice); a key always does."""


@dataclass(frozen=True, slots=True)
class Listen:
    """Wait for the caller up to ``timeout_ms``; ``grammar`` limits the vocabulary (None: open)."""

    timeout_ms: int
    grammar: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class FetchLive:
    """Read the live bike data for ``station`` (spoken name), then send :class:`LiveData`."""

    station: str


@dataclass(frozen=True, slots=True)
class SendSms:
    """Send ``text`` to the caller; the dialog asks for it only when a sender is configured."""

    text: str


@dataclass(frozen=True, slots=True)
class HandOver:
    """Pass the call to the human queue, with why and what was learned."""

    reason: str
    intent: str | None
    slots: tuple[tuple[str, str], ...]
    summary: str


@dataclass(frozen=True, slots=True)
class HangUp:
    outcome: str
    """``resolved``, ``closed`` or ``no_input``."""


Action = Speak | Listen | FetchLive | SendSms | HandOver | HangUp
