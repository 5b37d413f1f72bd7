"""Corrections and negation in what the caller said.

People correct themselves as they speak: « dix heures non pardon onze heures »,
« acte de mariage non pardon de naissance », « non pas mardi mercredi ». What
they mean is what comes after the correction. And a control phrase under a
negation (« je ne veux pas parler à quelqu'un ») says the opposite of the phrase.

Pure functions over :class:`Normalized` utterances:

- :func:`read` finds the correction markers and the negated control phrases;
- :func:`corrected_slots` extracts slots so that the value said last, after a
  correction, wins over the one it corrects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from voicebot.content.model import Line
from voicebot.nlu.normalize import Normalized, normalize
from voicebot.nlu.slots import SlotExtractor

# Explicit corrections, as token sequences after normalisation. Longest first.
_STRONG = sorted(
    (
        tuple(m.split())
        for m in (
            "non non pardon", "non pardon", "nan pardon", "pardon non", "oh pardon", "ah pardon",
            "non non pas", "non pas", "nan pas", "ou plutot", "ou alors", "plutot",
            "je me suis trompe", "je me suis trompee", "je me trompe", "je voulais dire",
            "je veux dire", "excusez moi", "pardon", "non",
        )
    ),
    key=len,
    reverse=True,
)  # fmt: skip
# Softer markers: they only let a later value win over an earlier one for a slot.
_WEAK = (("enfin",), ("pas",), ("mais",))
# After these, what is named is what the caller does not want.
_AGAINST = (("plutot", "que"), ("au", "lieu", "de"), ("au", "lieu", "du"), ("et", "pas"),
            ("mais", "pas"))  # fmt: skip
# A lone "non" inside a sentence is a correction, except in these phrases.
_NOT_A_CORRECTION_AFTER_NON = frozenset({"plus", "merci", "rien"})
_CORRECTABLE_KINDS = frozenset({"vocabulary", "date", "time", "month", "dossier"})
_DETERMINERS = frozenset("le la les l un une des de du d a au aux en pour par".split())
_ANSWER_WORDS = frozenset("non nan pardon oui ah oh ben bah".split())

_HUMAN = (
    r"(?:conseiller|conseillere|quelquun|agent|humain|operateur|operatrice|standard|secretaire)"
)
_NEGATED_CONTROL = re.compile(
    r"\b(?:(?:je|j) )?(?:(?:ne|n) )?(?:(?:veux|voudrais|souhaite|demande|ai|cherche) )?pas "
    r"(?:(?:besoin|envie) )?(?:(?:de|d) )?"
    r"(?:(?:parler|passer|etre mis en relation|etre transfere|etre transferee|avoir) )?"
    r"(?:(?:a|au|avec|par|vers) )?(?:(?:un|une|le|la|l|d|de) )?" + _HUMAN + r"\b"
    r"|\bsans (?:(?:passer|parler|etre transfere|etre transferee) )?(?:(?:par|a|au|avec) )?"
    r"(?:(?:un|une|le|la|l) )?" + _HUMAN + r"\b"
)


@dataclass(frozen=True, slots=True)
class Reading:
    """What the markers of one utterance say."""

    for_intent: Normalized
    """The utterance to score for the intent: negated control phrases taken out."""
    corrected: bool
    """An explicit correction was heard (« non pardon », « non pas », « plutôt »...)."""
    head: Normalized | None = None
    """What was said before the first explicit correction, when something was."""
    tail: Normalized | None = None
    """What was said after the last explicit correction."""


def _matches(tokens: Sequence[str], index: int, marker: tuple[str, ...]) -> bool:
    return tuple(tokens[index : index + len(marker)]) == marker


def markers(tokens: Sequence[str], weak: bool = False) -> list[tuple[int, int, tuple[str, ...]]]:
    """The correction markers found, as (start, end, marker), left to right."""
    found: list[tuple[int, int, tuple[str, ...]]] = []
    kinds = (*_AGAINST, *_STRONG, *(_WEAK if weak else ()))
    index = 0
    while index < len(tokens):
        for marker in kinds:
            if not _matches(tokens, index, marker):
                continue
            end = index + len(marker)
            if marker == ("non",) and (
                index == 0 or end >= len(tokens) or tokens[end] in _NOT_A_CORRECTION_AFTER_NON
            ):
                continue  # a leading "non" answers; only one inside a sentence corrects
            if marker in (("pardon",), ("excusez", "moi")) and end >= len(tokens):
                continue  # "pardon ?" alone asks to repeat
            found.append((index, end, marker))
            index = end
            break
        else:
            index += 1
    return found


def read(n: Normalized) -> Reading:
    """The correction markers of ``n``, and ``n`` without its negated control phrases."""
    text = n.text
    if _NEGATED_CONTROL.search(text):
        rest = " ".join(_NEGATED_CONTROL.sub(" ", text).split())
        if not any(t not in _ANSWER_WORDS and t not in _DETERMINERS for t in rest.split()):
            rest = "non"  # "je ne veux pas de conseiller": a refusal and nothing more
        n = normalize(rest)
    found = [m for m in markers(n.tokens) if m[2] not in _AGAINST]
    if not found:
        return Reading(n, False)
    first, last = found[0], found[-1]
    head_tokens = [t for t in n.tokens[: first[0]] if t not in _ANSWER_WORDS]
    tail_tokens = n.tokens[last[1] :]
    if not tail_tokens and len(found) > 1:
        # « non pardon mercredi plutôt »: the last marker closes what it corrects.
        tail_tokens = n.tokens[found[-2][1] : last[0]]
    head = normalize(" ".join(head_tokens)) if head_tokens else None
    tail = normalize(" ".join(tail_tokens)) if tail_tokens else None
    return Reading(n, True, head, tail)


def corrected_slots(
    extractor: SlotExtractor,
    n: Normalized,
    wanted: Sequence[str],
    today: date,
    stations: Sequence[str] = (),
    raw: str = "",
    use_defaults: bool = True,
) -> dict[str, str]:
    """The slots of ``n``; after a correction marker, the value said last wins."""
    slots = extractor.extract(n, wanted, today, stations, raw=raw, use_defaults=use_defaults)
    tokens = list(n.tokens)
    found = markers(tokens, weak=True)
    if not found:
        return slots
    # What follows "plutôt que", "au lieu de" is what the caller does not want.
    kept = list(range(len(tokens)))
    for start, end, marker in found:
        if marker in _AGAINST:
            stop = next((s for s, _, m in found if s >= end and m not in _AGAINST), len(tokens))
            kept = [i for i in kept if not start <= i < stop]
    window = [tokens[i] for i in kept if i >= found[0][0]]
    names = correctable(extractor.line, wanted)
    last = _last_values(extractor, window, names, today, stations)
    if any(m in _AGAINST for _, _, m in found):
        before = [tokens[i] for i in kept]
        last = {**_last_values(extractor, before, names, today, stations), **last}
    return {**slots, **last}


def correctable(line: Line, names: Sequence[str]) -> list[str]:
    """The slots a correction can change: values, not free text (a reason, an address)."""
    return [
        name
        for name in names
        if (slot := line.slots.get(name)) is not None and slot.kind in _CORRECTABLE_KINDS
    ]


def _last_values(
    extractor: SlotExtractor,
    tokens: Sequence[str],
    names: Sequence[str],
    today: date,
    stations: Sequence[str],
) -> dict[str, str]:
    """For each slot, the value heard last in ``tokens``, unless « pas » negates it."""
    values: dict[str, str] = {}
    negated: dict[str, str] = {}
    ends = dict.fromkeys(names, len(tokens))
    for start in range(len(tokens) - 1, -1, -1):
        if tokens[start] in _DETERMINERS or tokens[start] in _ANSWER_WORDS:
            continue
        for end in sorted({e for name, e in ends.items() if name not in values and e > start}):
            missing = [name for name in names if name not in values and ends[name] == end]
            suffix = normalize(" ".join(tokens[start:end]))
            heard = extractor.extract(suffix, missing, today, stations, use_defaults=False)
            for name, value in heard.items():
                pas = _negation_before(tokens, start)
                if pas is not None and name not in negated:
                    # « pas mardi » : kept only if nothing else is said before it.
                    negated[name] = value
                    ends[name] = pas
                    continue
                values[name] = value
        if all(name in values for name in names):
            break
    return {**negated, **values}


def _negation_before(tokens: Sequence[str], start: int) -> int | None:
    """Where the « pas » that negates what starts at ``start`` is, if one does."""
    index = start - 1
    while index >= 0 and tokens[index] in _DETERMINERS:
        index -= 1
    return index if index >= 0 and tokens[index] == "pas" else None
