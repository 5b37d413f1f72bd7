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
    nearest: float = 0.50
    vote: float = 0.35
    keyword: float = 0.15
    control_keyword: float = 0.40
    """A control phrase ("parler à quelqu'un", "par sms") outweighs topic words."""
    fuzzy_word_cutoff: float = 84.0
    min_fuzzy_word_len: int = 4
    synonym_weight: float = 0.5
    """How much a slot synonym counts as an example word of the intents carrying the slot."""


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
    """Share of the caller's informative words the line knows, in [0, 1]."""
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
        synonym_counts = self._synonym_counts(line, index_of)
        self._texts = texts
        self._contents = contents
        self._owners = np.array(owners, dtype=np.int64)
        size = len(self.intent_ids)
        self._vote: dict[str, npt.NDArray[np.float64]] = {}
        self._info: dict[str, float] = {}
        # Sorted: the fuzzy lookup breaks ties by order, which must not depend on hashing.
        for word in sorted(set(counts) | set(synonym_counts)):
            vector = np.zeros(size)
            for owner, count in counts.get(word, Counter()).items():
                vector[owner] += count / sizes[owner]
            for owner, weight in synonym_counts.get(word, {}).items():
                vector[owner] += weight / max(1, sizes[owner]) * 3
            total = vector.sum()
            if total <= 0:
                continue
            distribution = vector / total
            support = sum(counts.get(word, Counter()).values()) + len(synonym_counts.get(word, {}))
            reliability = min(1.0, support / 2.0)
            self._vote[word] = distribution
            self._info[word] = _informativeness(distribution) * reliability
        self._vocabulary = list(self._vote)
        self._keywords: list[tuple[int, str, float]] = []
        for intent in line.intents.values():
            weight = (
                self.weights.control_keyword if intent.kind == "control" else (self.weights.keyword)
            )
            for keyword in intent.keywords:
                self._keywords.append((index_of[intent.id], normalize(keyword).text, weight))
        self._needs = [
            (index_of[intent.id], [normalize(need).text for need in intent.needs])
            for intent in line.intents.values()
            if intent.needs
        ]

    def _synonym_counts(self, line: Line, index_of: dict[str, int]) -> dict[str, dict[int, float]]:
        """Words of slot vocabularies, as evidence for the intents that carry the slot."""
        found: dict[str, dict[int, float]] = defaultdict(dict)
        for intent in line.intents.values():
            for slot_name in intent.slots:
                slot = line.slots.get(slot_name)
                if slot is None or slot.kind != "vocabulary":
                    continue
                for value in slot.values:
                    for form in (value.label, *value.synonyms):
                        for word in normalize(form).content:
                            owner = index_of[intent.id]
                            found[word][owner] = self.weights.synonym_weight
        return found

    def _lookup(self, word: str) -> tuple[str | None, float]:
        """The vocabulary word heard (exactly or nearly), and how sure the match is."""
        if word in self._vote:
            return word, 1.0
        if len(word) < self.weights.min_fuzzy_word_len or word.isdigit():
            return None, 0.0
        match = process.extractOne(
            word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=self.weights.fuzzy_word_cutoff
        )
        if match is None:
            return None, 0.0
        return match[0], match[1] / 100.0

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

        words = [w for w in (n.content or n.tokens) if not w.isdigit()]
        vote = np.zeros(size)
        known_info = unknown_info = 0.0
        for word in words:
            match, sureness = self._lookup(word)
            if match is None:
                unknown_info += 1.0 if len(word) >= 4 else 0.3
                continue
            info = self._info[match] * sureness
            vote += self._vote[match] * info
            known_info += max(info, 0.15)
        vote /= max(known_info, 1e-9)
        coverage = known_info / (known_info + unknown_info) if words else 1.0

        keyword = np.zeros(size)
        padded = f" {n.text} "
        for owner, phrase, weight in self._keywords:
            if f" {phrase} " in padded:
                keyword[owner] = max(keyword[owner], weight)
            elif len(phrase) >= 6 and len(n.text) >= 0.9 * len(phrase):
                # The phrase said with a slip (« parler a quelqu un »). Not a short
                # utterance found inside the phrase: « la mairie » is not « quelqu'un de
                # la mairie ».
                similarity = fuzz.partial_ratio(phrase, n.text) / 100.0
                if similarity >= 0.9:
                    keyword[owner] = max(keyword[owner], weight * similarity)

        w = self.weights
        total = w.nearest * nearest + w.vote * vote + keyword
        for owner, needs in self._needs:
            if not any(f" {need} " in padded for need in needs):
                total[owner] = 0.0  # not without the words it needs
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


def _informativeness(distribution: npt.NDArray[np.float64]) -> float:
    """1 for a word found under one intent only, 0 for one spread evenly over all."""
    nonzero = distribution[distribution > 0]
    if len(distribution) <= 1:
        return 1.0
    entropy = float(-(nonzero * np.log(nonzero)).sum())
    return 1.0 - entropy / math.log(len(distribution))


def squash(value: float, midpoint: float, steepness: float) -> float:
    return 1.0 / (1.0 + math.exp(-steepness * (value - midpoint)))
