"""What the recogniser hands to understanding, parsed from Vosk's JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class WordInfo:
    word: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Alternative:
    text: str
    confidence: float
    """Posterior in [0, 1] among the n-best list."""


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    is_final: bool
    confidence: float = 0.0
    words: tuple[WordInfo, ...] = ()
    alternatives: tuple[Alternative, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_partial(raw: str) -> Transcript:
    return Transcript(text=json.loads(raw).get("partial", "").strip(), is_final=False)


def parse_final(raw: str) -> Transcript:
    """Parse ``Result()``/``FinalResult()``: plain (word confidences) or n-best form."""
    data = json.loads(raw)
    if "alternatives" in data:
        return _parse_nbest(data["alternatives"])
    words = tuple(
        WordInfo(w["word"], float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
        for w in data.get("result", [])
    )
    text = data.get("text", "").strip()
    confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
    return Transcript(
        text=text,
        is_final=True,
        confidence=confidence,
        words=words,
        alternatives=(Alternative(text, confidence),) if text else (),
    )


def _parse_nbest(raw_alternatives: list[dict[str, Any]]) -> Transcript:
    """Turn Vosk's n-best scores into posteriors, and words into consensus confidences.

    Vosk gives each alternative a total score (higher is better) and no word
    confidence. A softmax over the scores gives each alternative a posterior; a
    word of the best alternative is as sure as the posterior mass of the
    alternatives that hold the same word at the same time.
    """
    if not raw_alternatives:
        return Transcript(text="", is_final=True)
    scores = [float(a.get("confidence", 0.0)) for a in raw_alternatives]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    posteriors = [w / total for w in weights]
    alternatives = tuple(
        Alternative(a.get("text", "").strip(), p)
        for a, p in zip(raw_alternatives, posteriors, strict=True)
    )
    best_words = raw_alternatives[0].get("result", [])
    words = []
    for w in best_words:
        support = 0.0
        for alt, p in zip(raw_alternatives, posteriors, strict=True):
            if any(_same_word(w, other) for other in alt.get("result", [])):
                support += p
        words.append(WordInfo(w["word"], float(w["start"]), float(w["end"]), min(1.0, support)))
    text = alternatives[0].text
    confidence = posteriors[0] if text else 0.0
    return Transcript(
        text=text,
        is_final=True,
        confidence=confidence,
        words=tuple(words),
        alternatives=tuple(a for a in alternatives if a.text),
    )


def _same_word(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["word"] != b["word"]:
        return False
    overlap = min(a["end"], b["end"]) - max(a["start"], b["start"])
    span = max(a["end"] - a["start"], 1e-3)
    return bool(overlap / span > 0.5)
