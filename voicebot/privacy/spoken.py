"""Numbers in a transcript, written or spoken, as the digit groups a person reads out.

A recogniser writes "zéro six douze trente-quatre" for 06 12 34; people read
long numbers in groups, so here "soixante-quinze cent vingt-trois" is 75 then
123 (not 7 523) and "zéro" is always a digit of its own. The token list keeps
every character of the text, so that spans can be replaced in place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from voicebot.nlu.numbers import LETTER_NAMES, TENS, UNITS, parse_number

TOKEN = re.compile(r"\d+|[^\W\d_]+|\s+|.", re.UNICODE)
ZERO = frozenset({"zéro", "zero"})
PLUS = frozenset({"plus", "+"})
HUNDRED = frozenset({"cent", "cents"})
THOUSAND = "mille"
SMALL = frozenset(word for word in {*UNITS, *TENS} if word not in ZERO)
NUMBER_WORDS = SMALL | ZERO | HUNDRED | {THOUSAND}
JOINERS = frozenset({"-", ".", "(", ")"})
"""Characters that may stand between the groups of one number (besides spaces)."""


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        return self.text.lower()

    @property
    def is_space(self) -> bool:
        return self.text.isspace()

    @property
    def is_digits(self) -> bool:
        return self.text.isdigit()

    @property
    def is_word(self) -> bool:
        return self.text.isalpha()


@dataclass(frozen=True)
class Group:
    """One group of a number as read out: its digits (or ``+``) and its tokens."""

    digits: str
    first: int
    last: int
    """Indices of its first and last token (inclusive)."""


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def letter(token: Token) -> str | None:
    """The letter a spelled-out token names ("effe" → F), if it is one."""
    return LETTER_NAMES.get(token.word) if token.is_word else None


def number_runs(tokens: Sequence[Token], blocked: set[int]) -> list[list[Group]]:
    """Runs of consecutive number groups; a token in ``blocked`` ends a run."""
    runs: list[list[Group]] = []
    run: list[Group] = []
    words: list[int] = []  # indices of the number words not yet grouped

    def flush_words() -> None:
        run.extend(_word_groups(tokens, words))
        words.clear()

    for index, token in enumerate(tokens):
        if index in blocked:
            kind = "stop"
        elif token.is_digits:
            kind = "digits"
        elif token.text == "+" or (token.is_word and _is_number_word(tokens, index)):
            kind = "word"
        elif token.is_space or token.text in JOINERS:
            continue
        else:
            kind = "stop"
        if kind == "digits":
            flush_words()
            run.append(Group(token.text, index, index))
        elif kind == "word":
            words.append(index)
        else:
            flush_words()
            if run:
                runs.append(run)
            run = []
    flush_words()
    if run:
        runs.append(run)
    return runs


def _is_number_word(tokens: Sequence[Token], index: int) -> bool:
    word = tokens[index].word
    if word in NUMBER_WORDS or word in PLUS:
        return True
    if word != "et":  # "et" only inside "vingt et un", "soixante et onze"
        return False
    before = _neighbour(tokens, index, -1)
    after = _neighbour(tokens, index, 1)
    return (
        before is not None
        and after is not None
        and before.word in TENS
        and after.word in ("un", "une", "onze")
    )


def _neighbour(tokens: Sequence[Token], index: int, step: int) -> Token | None:
    index += step
    while 0 <= index < len(tokens) and (tokens[index].is_space or tokens[index].text == "-"):
        index += step
    return tokens[index] if 0 <= index < len(tokens) else None


def _word_groups(tokens: Sequence[Token], indices: list[int]) -> list[Group]:
    words = [tokens[i].word for i in indices]
    groups: list[Group] = []
    position = 0
    while position < len(words):
        word = words[position]
        if word in ZERO or word in PLUS:
            digits, used = ("0" if word in ZERO else "+"), 1
        else:
            parsed = _group(words, position)
            if parsed is None:
                position += 1  # a lone "et": not part of a number
                continue
            value, used = parsed
            digits = str(value)
        groups.append(Group(digits, indices[position], indices[position + used - 1]))
        position += used
    return groups


def _group(words: Sequence[str], start: int) -> tuple[int, int] | None:
    """A group read as one number: below 100, hundreds, or with "mille"."""
    if words[start] == THOUSAND:
        value, used = 1000, 1
    else:
        head = _hundreds(words, start)
        if head is None:
            return None
        value, used = head
        if start + used < len(words) and words[start + used] == THOUSAND and value < 1000:
            value, used = value * 1000, used + 1
        else:
            return value, used
    tail = _hundreds(words, start + used)
    if tail is not None:
        value, used = value + tail[0], used + tail[1]
    return value, used


def _hundreds(words: Sequence[str], start: int) -> tuple[int, int] | None:
    if start >= len(words):
        return None
    if words[start] in HUNDRED:
        value, used = 100, 1
    elif (
        start + 1 < len(words)
        and words[start + 1] in HUNDRED
        and 2 <= UNITS.get(words[start], 0) <= 9
    ):
        value, used = UNITS[words[start]] * 100, 2
    else:
        return _below_hundred(words, start)
    rest = _below_hundred(words, start + used)
    if rest is not None:
        value, used = value + rest[0], used + rest[1]
    return value, used


def _below_hundred(words: Sequence[str], start: int) -> tuple[int, int] | None:
    end = start
    while end < len(words) and (words[end] in SMALL or words[end] == "et"):
        end += 1
    if end == start:
        return None
    return parse_number(words[start:end])
