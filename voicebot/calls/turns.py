"""Turn-taking decisions: when the caller starts, is really speaking, and has finished.

Pure and table-tested; the call's input stage feeds it one voice decision per
20 ms frame, the recognition stage tells it what the words say so far.

- A few voiced frames open a *candidate*: the recogniser starts listening
  (with the pre-roll), nothing is interrupted yet.
- The candidate is *confirmed* by sustained voicing (``confirm_ms`` of voiced
  frames) or by a partial transcript with words: only then does a prompt stop
  (barge-in). A cough, a door, a short click drop back to nothing.
- The end of the turn listens to what was said: a partial that is already a
  complete request the understanding is sure of ends after ``end_short_ms``
  of silence; a hesitation (« euh ») or an unfinished phrase (« c'est pour
  le », digits being spelled) waits ``end_long_ms``; anything else ``end_ms``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from voicebot.nlu.normalize import fold


class TurnEvent(Enum):
    CANDIDATE = "candidate"
    """Voice began: start feeding the recogniser (pre-roll included)."""
    CONFIRMED = "confirmed"
    """It is the caller speaking: barge in."""
    DROPPED = "dropped"
    """It was not speech after all (a click, a cough): forget the audio fed."""
    ENDED = "ended"
    """The caller's turn is over: take the final transcript."""


@dataclass(frozen=True)
class TurnSettings:
    start_ms: int = 60
    """Voiced time that opens a candidate."""
    confirm_ms: int = 180
    """Voiced time within a candidate that confirms caller speech (barge-in)."""
    bridge_ms: int = 40
    """A gap this short between voiced frames (the closure of a « p », a « t », a « k »)
    is speech too: it counts toward ``confirm_ms``."""
    drop_ms: int = 300
    """Quiet that drops a candidate not yet confirmed."""
    end_short_ms: int = 200
    """Silence that ends a turn whose words already make a complete request."""
    end_ms: int = 800
    """Silence that ends any other turn."""
    end_long_ms: int = 1200
    """Silence that ends a turn left hanging (hesitation, unfinished phrase, digits)."""
    max_utterance_ms: int = 15000


class Ending(Enum):
    COMPLETE = "complete"
    OPEN = "open"
    HANGING = "hanging"


HESITATIONS = frozenset({"euh", "heu", "hum", "hmm", "mmh", "bah", "ben", "bon", "alors", "enfin"})
CONTINUATIONS = frozenset(
    """le la les l un une des du de d au aux a en et ou mais pour par sur sous avec sans
    dans chez mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs ce cet cette ces
    que qu qui quoi dont c est je j voudrais veux voulais aimerais souhaite souhaiterais
    suis vais peux pouvez faut faudrait comment quand quel quelle quels quelles combien
    pourquoi ou si parce numero""".split()
)
DIGIT_WORDS = frozenset(
    """zero un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze
    seize vingt trente quarante cinquante soixante cent mille""".split()
)
_WORD = re.compile(r"[\w']+")


def ending(
    partial: str, complete: bool, spelling_digits: bool = False, min_words: int = 1
) -> Ending:
    """How the words heard so far end: a complete request, a phrase left hanging, or open.

    ``min_words``: fewer words are never complete, whatever the understanding says (one
    word is too little to know it is the whole request: the first word of a sentence,
    a noise heard as a word)."""
    words = _WORD.findall(fold(partial))
    if not words:
        return Ending.OPEN
    last = words[-1].split("'")[-1] or words[-1]
    if last in HESITATIONS or last in CONTINUATIONS:
        return Ending.HANGING
    if spelling_digits and (last.isdigit() or last in DIGIT_WORDS):
        return Ending.HANGING
    return Ending.COMPLETE if complete and len(words) >= min_words else Ending.OPEN


def end_wait_ms(kind: Ending, settings: TurnSettings) -> int:
    if kind is Ending.COMPLETE:
        return settings.end_short_ms
    if kind is Ending.HANGING:
        return settings.end_long_ms
    return settings.end_ms


class TurnDetector:
    """One call's turn state, advanced one 20 ms voice decision at a time."""

    def __init__(self, settings: TurnSettings | None = None, frame_ms: int = 20) -> None:
        self.settings = settings or TurnSettings()
        self.frame_ms = frame_ms
        self.wait_ms = self.settings.end_ms
        self.wait_ms_at_end = 0
        """The silence that ended the last turn (its speech ended that long ago)."""
        self.wait_that_ended = 0
        """The wait the last turn was given when it ended (short, ordinary or long)."""
        self.reset()

    def reset(self) -> None:
        self.candidate = False
        self.confirmed = False
        self._run_ms = 0
        self._voiced_ms = 0
        self._quiet_ms = 0
        self._length_ms = 0
        self.wait_ms = self.settings.end_ms

    @property
    def speaking(self) -> bool:
        """Voice is being followed (candidate or confirmed): no silence timeout now."""
        return self.candidate

    def heard_words(self, kind: Ending) -> TurnEvent | None:
        """The recogniser's partial has words: they confirm speech, and say how long the
        end of the turn may wait."""
        self.wait_ms = end_wait_ms(kind, self.settings)
        if self.candidate and not self.confirmed:
            self.confirmed = True
            return TurnEvent.CONFIRMED
        return None

    def push(self, voiced: bool) -> TurnEvent | None:
        step = self.frame_ms
        if not self.candidate:
            self._run_ms = self._run_ms + step if voiced else 0
            if self._run_ms >= self.settings.start_ms:
                self.candidate = True
                self._voiced_ms = self._run_ms
                self._quiet_ms = 0
                self._length_ms = self._run_ms
                return self._maybe_confirm() or TurnEvent.CANDIDATE
            return None
        self._length_ms += step
        if voiced:
            if 0 < self._quiet_ms <= self.settings.bridge_ms:
                self._voiced_ms += self._quiet_ms  # a consonant's closure, not a pause
            self._voiced_ms += step
            self._quiet_ms = 0
        else:
            self._quiet_ms += step
        if not self.confirmed:
            if self._quiet_ms >= self.settings.drop_ms:
                self.reset()
                return TurnEvent.DROPPED
            return self._maybe_confirm()
        if self._quiet_ms >= self.wait_ms or self._length_ms >= self.settings.max_utterance_ms:
            self.wait_ms_at_end = self._quiet_ms
            self.wait_that_ended = self.wait_ms
            self.reset()
            return TurnEvent.ENDED
        return None

    @property
    def quiet_ms(self) -> int:
        return self._quiet_ms if self.candidate else 0

    def _maybe_confirm(self) -> TurnEvent | None:
        if self._voiced_ms >= self.settings.confirm_ms:
            self.confirmed = True
            return TurnEvent.CONFIRMED
        return None
