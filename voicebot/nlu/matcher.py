"""Intent scoring: rapidfuzz against the examples, word evidence, keywords, coverage.

Several signals, each in [0, 1]:

- ``nearest``: the best rapidfuzz similarity to an example of the intent
  (token set and token sort ratios over content words, plain ratio over the
  whole text, so both long preambles and short answers are handled);
- ``vote``: how much of what the caller said points to the intent, from the
  words of its examples, each weighted by how specific it is to that intent
  (a word found in every intent's examples carries nothing);
- ``keyword``: one of the intent's strong words or phrases was heard;
- ``coverage``: how much of what was said the line knows at all; out-of-scope
  requests ("quel temps fera-t-il") are mostly unknown words.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from voicebot.content.model import Line
from voicebot.nlu.normalize import Normalized, normalize


@dataclass(frozen=True)
class Weights:
    nearest: float = 0.55
    vote: float = 0.35
    keyword: float = 0.15
    fuzzy_word_cutoff: float = 84.0
    min_fuzzy_word_len: int = 4


@dataclass(frozen=True, slots=True)
class IntentScore:
    intent: str
    score: float
    nearest: float
    vote: float
    keyword: float
    example: str


@dataclass(frozen=True, slots=True)
class Scored:
    ranking: tuple[IntentScore, ...]
    coverage: float
    content_words: int


class IntentMatcher:
    """The examples of one line, indexed once, scored per utterance."""

    def __init__(self, line: Line, weights: Weights | None = None) -> None:
        self.line = line
        self.weights = weights or Weights()
        self.intent_ids = list(line.intents)
        index_of = {intent: i for i, intent in enumerate(self.intent_ids)}
        texts, contents, owners = [], [], []
        counts: dict[str, Counter[int]] = defaultdict(Counter)
        sizes = Counter[int]()
        for intent in line.intents.values():
            owner = index_of[intent.id]
            for example in intent.examples:
                n = normalize(example)
                texts.append(n.text)
                contents.append(" ".join(n.content) or n.text)
                owners.append(owner)
                sizes[owner] += 1
                for word in set(n.content or n.tokens):
                    counts[word][owner] += 1
        self._texts = texts
        self._contents = contents
        self._owners = np.array(owners, dtype=np.int64)
        self._vote: dict[str, npt.NDArray[np.float64]] = {}
        for word, per_intent in counts.items():
            vector = np.zeros(len(self.intent_ids))
            for owner, count in per_intent.items():
                vector[owner] = count / sizes[owner]
            total = vector.sum()
            support = sum(per_intent.values())
            reliability = min(1.0, support / 2.0)
            self._vote[word] = vector / total * reliability
        self._vocabulary = list(self._vote)
        self._keywords: list[tuple[int, str]] = []
        for intent in line.intents.values():
            for keyword in intent.keywords:
                self._keywords.append((index_of[intent.id], normalize(keyword).text))

    def _word_vector(self, word: str) -> tuple[npt.NDArray[np.float64] | None, bool]:
        vector = self._vote.get(word)
        if vector is not None:
            return vector, True
        if len(word) < self.weights.min_fuzzy_word_len or word.isdigit():
            return None, False
        match = process.extractOne(
            word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=self.weights.fuzzy_word_cutoff
        )
        if match is None:
            return None, False
        return self._vote[match[0]] * (match[1] / 100.0), True

    def score(self, utterance: Normalized | str) -> Scored:
        n = normalize(utterance) if isinstance(utterance, str) else utterance
        size = len(self.intent_ids)
        content = " ".join(n.content) or n.text
        if not n.text:
            empty = tuple(IntentScore(i, 0.0, 0.0, 0.0, 0.0, "") for i in self.intent_ids)
            return Scored(empty, 0.0, 0)

        set_scores = process.cdist([content], self._contents, scorer=fuzz.token_set_ratio)[0]
        sort_scores = process.cdist([content], self._contents, scorer=fuzz.token_sort_ratio)[0]
        plain_scores = process.cdist([n.text], self._texts, scorer=fuzz.ratio)[0]
        example_scores = (0.45 * set_scores + 0.35 * sort_scores + 0.20 * plain_scores) / 100.0
        nearest = np.zeros(size)
        best_example = [-1] * size
        for position in np.argsort(-example_scores):
            owner = int(self._owners[position])
            if best_example[owner] < 0:
                best_example[owner] = int(position)
                nearest[owner] = example_scores[position]

        words = n.content or n.tokens
        vote = np.zeros(size)
        known = 0
        for word in words:
            vector, found = self._word_vector(word)
            if vector is not None:
                vote += vector
            known += found
        vote /= max(1, len(words))
        coverage = known / max(1, len(words))

        keyword = np.zeros(size)
        padded = f" {n.text} "
        for owner, phrase in self._keywords:
            if f" {phrase} " in padded:
                keyword[owner] = 1.0
            elif len(phrase) >= 6 and keyword[owner] < 1.0:
                similarity = fuzz.partial_ratio(phrase, n.text) / 100.0
                if similarity >= 0.9:
                    keyword[owner] = max(keyword[owner], similarity)

        w = self.weights
        total = w.nearest * nearest + w.vote * vote + w.keyword * keyword
        order = np.argsort(-total)
        ranking = tuple(
            IntentScore(
                intent=self.intent_ids[i],
                score=float(total[i]),
                nearest=float(nearest[i]),
                vote=float(vote[i]),
                keyword=float(keyword[i]),
                example=self._texts[best_example[i]] if best_example[i] >= 0 else "",
            )
            for i in order
        )
        return Scored(ranking, coverage, len(words))


def squash(value: float, midpoint: float, steepness: float) -> float:
    return 1.0 / (1.0 + math.exp(-steepness * (value - midpoint)))
