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

from voicebot.content.model import Content, Line
from voicebot.nlu.matcher import IntentMatcher, Scored
from voicebot.nlu.normalize import normalize
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
        normalized = normalize(text)
        scored = self._matchers[line].score(normalized)
        confidences = [(s.intent, confidence(s.score, scored)) for s in scored.ranking[:3]]
        best_intent, best_confidence = confidences[0]
        intent = best_intent if best_confidence >= REJECT_BELOW else None
        slots: dict[str, str] = {}
        if intent is not None:
            wanted = line_content.intents[intent].slots
            slots = self._extractors[line].extract(
                normalized, wanted, today or date.today(), stations
            )
        return Understanding(
            intent=intent,
            confidence=best_confidence,
            slots=slots,
            text=text,
            candidates=tuple(confidences),
        )

    def understand_best(
        self,
        alternatives: Sequence[tuple[str, float]],
        line: str = "mairie",
        today: date | None = None,
        stations: Sequence[str] = (),
    ) -> Understanding:
        """Best of the recogniser's n-best list, each weighed by its posterior."""
        best: Understanding | None = None
        best_weight = -1.0
        for text, posterior in alternatives:
            if not text.strip():
                continue
            result = self.understand(text, line, today, stations)
            weight = result.confidence * (0.7 + 0.3 * posterior)
            if weight > best_weight:
                best, best_weight = result, weight
        return best or Understanding(intent=None, confidence=0.0)

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
        return self._extractors[line].extract(
            normalize(text), names, today or date.today(), stations
        )

    def line(self, line_id: str) -> Line:
        return self.content.line(line_id)


# Logistic calibration of "the best intent is right", fitted on held-out examples
# (5-fold over the content) and out-of-scope requests (tests/nlu/dev), never on the
# evaluation set. Features: bias, score, nearest example, word vote, keyword,
# coverage, margin over the runner-up, length (content words / 10, at most 1).
CALIBRATION = (-5.182, 2.401, 1.918, 0.494, 1.269, 3.462, 3.324, -1.427)


def confidence(score: float, scored: Scored) -> float:
    """Probability that the intent with this ``score`` is what the caller wants."""
    top = scored.ranking[0]
    runner_up = scored.ranking[1].score if len(scored.ranking) > 1 else 0.0
    if score != top.score:
        chosen = next(s for s in scored.ranking if s.score == score)
        margin = score - top.score
    else:
        chosen = top
        margin = score - runner_up
    features = (
        1.0,
        score,
        chosen.nearest,
        chosen.vote,
        chosen.keyword,
        scored.coverage,
        margin,
        min(scored.content_words, 10) / 10,
    )
    logit = sum(w * f for w, f in zip(CALIBRATION, features, strict=True))
    return 1.0 / (1.0 + math.exp(-logit))
