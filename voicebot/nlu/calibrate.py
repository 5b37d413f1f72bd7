"""Fit the confidence calibration from the content itself.

Five-fold cross-validation over every line's examples (out-of-scope examples
included) plus a list of out-of-scope requests kept apart: each held-out
phrase is scored by a matcher built without it, and a logistic regression
learns when the best intent is right. `voicebot bench nlu --calibrate` prints
the figures and the constants to put in ``understand.CALIBRATION``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from voicebot.content.model import OUT_OF_SCOPE, Content
from voicebot.nlu.matcher import IntentMatcher
from voicebot.nlu.understand import features

FOLDS = 5


@dataclass(frozen=True)
class Calibration:
    weights: tuple[float, ...]
    in_scope: int
    out_of_scope: int
    accuracy: float
    """Cross-validated: share of in-scope phrases given their right intent."""
    rejection: float
    """Cross-validated: share of out-of-scope phrases given no intent."""


def held_out_rows(
    content: Content, out_of_scope: Sequence[str], seed: int = 1
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    rows: list[list[float]] = []
    right: list[float] = []
    outside: list[bool] = []
    shuffle = random.Random(seed)
    for line in content.lines.values():
        items = [(e, i.id) for i in line.intents.values() for e in i.examples]
        shuffle.shuffle(items)
        for fold in range(FOLDS):
            held = set(items[fold::FOLDS])
            intents = {
                key: replace(i, examples=tuple(e for e in i.examples if (e, key) not in held))
                for key, i in line.intents.items()
            }
            matcher = IntentMatcher(replace(line, intents=intents))
            for text, gold in items[fold::FOLDS]:
                scored = matcher.score(text)
                best = next(s for s in scored.ranking if s.intent != OUT_OF_SCOPE)
                rows.append(list(features(best, scored)))
                right.append(float(gold != OUT_OF_SCOPE and best.intent == gold))
                outside.append(gold == OUT_OF_SCOPE)
        matcher = IntentMatcher(line)
        for text in out_of_scope:
            scored = matcher.score(text)
            best = next(s for s in scored.ranking if s.intent != OUT_OF_SCOPE)
            rows.append(list(features(best, scored)))
            right.append(0.0)
            outside.append(True)
    return np.array(rows), np.array(right), np.array(outside)


def fit(content: Content, out_of_scope: Sequence[str], threshold: float) -> Calibration:
    x, y, outside = held_out_rows(content, out_of_scope)
    # Out-of-scope calls are more frequent on the phone than in the examples.
    weight = np.where(outside, 3.0, 1.0)
    theta = np.zeros(x.shape[1])
    for _ in range(30000):
        p = 1.0 / (1.0 + np.exp(-x @ theta))
        gradient = x.T @ ((p - y) * weight) / weight.sum() + 1e-3 * np.r_[0.0, theta[1:]]
        theta -= 2.0 * gradient
    p = 1.0 / (1.0 + np.exp(-x @ theta))
    inside = ~outside
    return Calibration(
        weights=tuple(round(float(t), 3) for t in theta),
        in_scope=int(inside.sum()),
        out_of_scope=int(outside.sum()),
        accuracy=float(((p >= threshold) & (y == 1) & inside).sum() / max(1, inside.sum())),
        rejection=float(((p < threshold) & outside).sum() / max(1, outside.sum())),
    )
