"""Understanding: text (or the recogniser's alternatives) in, intent, confidence and slots out.

Pure: no dialog state. The dialog and `voicebot understand` both call
:meth:`Understander.understand`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from voicebot.content.model import OUT_OF_SCOPE, Content, Line
from voicebot.nlu.corrections import Reading, correctable, corrected_slots, read
from voicebot.nlu.matcher import IntentMatcher, IntentScore, Scored
from voicebot.nlu.normalize import Normalized, fold, normalize
from voicebot.nlu.slots import SlotExtractor

# Below this confidence nothing fits: the intent is None.
REJECT_BELOW = 0.5


@dataclass(frozen=True, slots=True)
class Understanding:
    intent: str | None
    confidence: float
    slots: dict[str, str] = field(default_factory=dict)
    text: str = ""
    candidates: tuple[tuple[str, float], ...] = ()
    """The best intents with their confidences, best first (the dialog offers them)."""
    redirect: str | None = None
    """Nothing of the line fits, but the request is for another body the content knows
    (a ``redirections`` entry): its id, for the dialog to say where to turn."""
    corrected: bool = False
    """The caller corrected themselves (« non pardon... », « non pas X Y »): what was said
    after the correction decided the slots, and the intent when it named another request."""

    def to_contract(self) -> dict[str, Any]:
        """The JSON object `voicebot understand` prints."""
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 3),
            "slots": dict(self.slots),
        }


class Understander:
    """Matchers and slot extractors for every line, built once from the content."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self._matchers = {line_id: IntentMatcher(line) for line_id, line in content.lines.items()}
        self._extractors = {line_id: SlotExtractor(line) for line_id, line in content.lines.items()}

    def understand(
        self,
        text: str,
        line: str = "mairie",
        today: date | None = None,
        stations: Sequence[str] = (),
    ) -> Understanding:
        line_content = self.content.line(line)
        reading = read(normalize(text))
        normalized = reading.for_intent
        today = today or date.today()
        intent, best_confidence, real = self._intent(normalized, line)
        if reading.corrected:
            intent, best_confidence, real = self._correction(
                reading, line, today, intent, best_confidence, real
            )
        slots: dict[str, str] = {}
        if intent is not None:
            wanted = line_content.intents[intent].slots
            slots = corrected_slots(
                self._extractors[line], normalized, wanted, today, stations, raw=text,
            )  # fmt: skip
        redirect = self._redirection(text, line_content, intent)
        if redirect is not None:
            # La Poste, the CAF, a doctor: their words are the line's too, the request is not.
            intent, slots, best_confidence = None, {}, min(best_confidence, 0.1)
        # The confidence is that of the answer given: for "nothing fits", that nothing does.
        value = best_confidence if intent is not None else 1.0 - best_confidence
        return Understanding(
            intent=intent,
            confidence=value,
            slots=slots,
            text=text,
            candidates=tuple(real),
            corrected=reading.corrected,
            redirect=redirect,
        )

    @staticmethod
    def _redirection(text: str, line: Line, intent: str | None) -> str | None:
        """The redirection whose phrase the caller said (a control request, « conseiller »,
        « au revoir », stays what it is)."""
        if intent is not None and line.intents[intent].kind == "control":
            return None
        said = f" {fold(text)} "
        for redirection in line.redirections:
            if any(f" {phrase} " in said for phrase in redirection.unless):
                continue
            if any(f" {phrase} " in said for phrase in redirection.phrases):
                return redirection.id
        return None

    def _intent(
        self, normalized: Normalized, line: str
    ) -> tuple[str | None, float, list[tuple[str, float]]]:
        scored = self._matchers[line].score(normalized)
        real = [
            (s.intent, confidence(s, scored)) for s in scored.ranking if s.intent != OUT_OF_SCOPE
        ][:3]
        best_intent, best_confidence = real[0]
        intent = best_intent if best_confidence >= REJECT_BELOW else None
        return intent, best_confidence, real

    def _correction(
        self,
        reading: Reading,
        line: str,
        today: date,
        intent: str | None,
        best_confidence: float,
        real: list[tuple[str, float]],
    ) -> tuple[str | None, float, list[tuple[str, float]]]:
        """The intent once the caller corrected themselves: the corrected request wins.

        A correction of a slot of the request (« dix heures non pardon onze heures »)
        keeps the request; one that names another request (« un passeport non pardon
        un acte de naissance ») or follows a bare « non » (« non pas mardi mercredi »)
        is understood from what follows it.
        """
        line_content = self.content.line(line)
        unchanged = intent, best_confidence, real
        tail = reading.tail
        if tail is None:
            return unchanged
        extractor = self._extractors[line]
        if reading.head is not None and intent is not None and intent not in ("oui", "non"):
            wanted = correctable(line_content, line_content.intents[intent].slots)
            if extractor.extract(tail, wanted, today, use_defaults=False):
                return unchanged  # a slot of the request was corrected
        tail_intent, tail_confidence, tail_real = self._intent(tail, line)
        if tail_intent is not None and line_content.intents[tail_intent].kind != "control":
            if reading.head is None or tail_intent != intent:
                return tail_intent, tail_confidence, tail_real
            return unchanged
        if reading.head is None and intent in (None, "non"):
            # « non pas mardi mercredi »: the request whose slots the correction gives.
            carriers = [
                candidate.id
                for candidate in line_content.intents.values()
                if candidate.kind != "control"
                and extractor.extract(
                    tail, correctable(line_content, candidate.slots), today, use_defaults=False
                )
            ]
            if len(carriers) == 1:
                chosen = carriers[0]
                score = dict(tail_real).get(chosen, REJECT_BELOW)
                return chosen, max(REJECT_BELOW, score), tail_real
        return unchanged

    def understand_best(
        self,
        alternatives: Sequence[tuple[str, float]],
        line: str = "mairie",
        today: date | None = None,
        stations: Sequence[str] = (),
    ) -> Understanding:
        """Best of the recogniser's n-best list, each weighed by its posterior."""
        best: Understanding | None = None
        best_key = (False, -1.0)
        for text, posterior in alternatives:
            if not text.strip():
                continue
            result = self.understand(text, line, today, stations)
            # An alternative that makes sense beats one that does not.
            key = (result.intent is not None, result.confidence * (0.7 + 0.3 * posterior))
            if key > best_key:
                best, best_key = result, key
        return best or Understanding(intent=None, confidence=1.0)

    def slots_for(
        self,
        text: str,
        line: str,
        names: Sequence[str],
        today: date | None = None,
        stations: Sequence[str] = (),
    ) -> dict[str, str]:
        """Only the named slots, whatever the intent (an answer to "quelle date ?")."""
        self.content.line(line)
        return corrected_slots(
            self._extractors[line], normalize(text), names, today or date.today(), stations,
            raw=text, use_defaults=False,
        )  # fmt: skip

    def line(self, line_id: str) -> Line:
        return self.content.line(line_id)


# Logistic calibration of "this intent is what the caller wants", fitted on held-out
# examples (5-fold over the content, out-of-scope examples included) and on the
# out-of-scope requests of tests/nlu/dev; never on the evaluation set. Features: bias,
# score, nearest example, word vote, keyword, coverage, margin over the next intent,
# length (content words / 10, at most 1), and how much closer the out-of-scope
# examples are than this intent.
CALIBRATION = (-4.499, 0.568, 1.07, 0.153, -0.02, 2.743, 1.473, -0.266, -5.87)


def features(chosen: IntentScore, scored: Scored) -> tuple[float, ...]:
    real = [s for s in scored.ranking if s.intent != OUT_OF_SCOPE]
    others = [s.score for s in real if s.intent != chosen.intent]
    margin = chosen.score - (others[0] if others else 0.0)
    reject = next((s.score for s in scored.ranking if s.intent == OUT_OF_SCOPE), None)
    closer_out_of_scope = reject - chosen.score if reject is not None else -0.5
    return (1.0, chosen.score, chosen.nearest, chosen.vote, chosen.keyword,
            scored.coverage, margin, min(scored.content_words, 10) / 10,
            closer_out_of_scope)  # fmt: skip


def confidence(chosen: IntentScore, scored: Scored) -> float:
    """Probability that ``chosen`` is what the caller wants."""
    values = features(chosen, scored)
    logit = sum(w * f for w, f in zip(CALIBRATION, values, strict=True))
    return 1.0 / (1.0 + math.exp(-logit))
