"""Personal data out of French transcripts: numbers and addresses become markers.

``redact`` replaces social security numbers (NIR), phone numbers (French,
overseas departments' as "0692 12 34 56" or "+262 692 12 34 56", and other
countries' given with + or 00), e-mail addresses, IBANs and bank card
numbers, whether written ("06 12 34 56 78",
"jean.dupont@exemple.fr") or spoken as a recogniser writes them ("zéro six
douze trente-quatre…", "jean point dupont arobase exemple point fr"). Dates,
amounts, postcodes and hours are left alone: a number is replaced only when
it has the exact shape of one of these, checked (Luhn for cards, the key of a
NIR when it is given).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from voicebot.phone import is_assigned
from voicebot.privacy.spoken import NUMBER_WORDS, Group, Token, letter, number_runs, tokenize

NIR = "[numéro de sécurité sociale]"
PHONE = "[téléphone]"
EMAIL = "[e-mail]"
IBAN = "[IBAN]"
CARD = "[carte bancaire]"

WRITTEN_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
WRITTEN_IBAN = re.compile(r"\bFR\s?\d{2}(?:[ ]?[0-9A-Z]){23}\b", re.IGNORECASE)
WRITTEN_CORSICAN_NIR = re.compile(
    r"\b[12][ .]?\d{2}[ .]?\d{2}[ .]?2[AB][ .]?\d{3}[ .]?\d{3}(?:[ .]?\d{2})?\b", re.IGNORECASE
)
PHONE_DIGITS = re.compile(r"(?:0|\+33|0033|\+330)[1-9]\d{8}")
"""A French number, metropolitan or overseas (0692… is La Réunion), as dialled in France."""
INTERNATIONAL_DIGITS = re.compile(r"(?:\+|00)[1-9]\d{6,14}")
"""Any other country's, overseas departments' included (+262…): kept when its plan assigns it."""
NIR_DIGITS = re.compile(r"[12]\d{12}(?:\d{2})?")
CARD_DIGITS = re.compile(r"[2-6]\d{12,18}")
RIB_DIGITS = re.compile(r"\d{23}")
SPOKEN_IBAN_DIGITS = re.compile(r"\d{25}")

AT_WORDS = frozenset({"arobase", "arrobase", "arobas", "arrobas", "@"})
SEPARATORS: tuple[tuple[str, ...], ...] = (
    ("tiret", "du", "six"),
    ("tiret", "du", "huit"),
    ("tiret", "bas"),
    ("point",),
    ("tiret",),
    ("underscore",),
    ("souligné",),
    (".",),
    ("-",),
    ("_",),
)
MAX_DIGITS = 34


def redact(text: str) -> str:
    """``text`` with every phone number, NIR, e-mail, IBAN and card number replaced."""
    text = WRITTEN_EMAIL.sub(EMAIL, text)
    text = WRITTEN_IBAN.sub(IBAN, text)
    text = WRITTEN_CORSICAN_NIR.sub(NIR, text)
    tokens = tokenize(text)
    spans = _spoken_emails(tokens)
    blocked = {index for first, last, _ in spans for index in range(first, last + 1)}
    for run in number_runs(tokens, blocked):
        spans.extend(_numbers(tokens, run))
    if not spans:
        return text
    out: list[str] = []
    position = 0
    for first, last, marker in sorted(spans):
        out.append(text[position : tokens[first].start])
        out.append(marker)
        position = tokens[last].end
    out.append(text[position:])
    return "".join(out)


# ------------------------------------------------------------------ numbers
def kind_of(digits: str) -> str | None:
    """The marker for a digit string with the exact shape of a personal number, else None."""
    if PHONE_DIGITS.fullmatch(digits) or (
        INTERNATIONAL_DIGITS.fullmatch(digits) and is_assigned(digits)
    ):
        return PHONE
    if NIR_DIGITS.fullmatch(digits) and _nir_plausible(digits):
        return NIR
    if RIB_DIGITS.fullmatch(digits):
        return IBAN
    if CARD_DIGITS.fullmatch(digits) and luhn_valid(digits):
        return CARD
    return None


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def nir_key(first13: str) -> int:
    return 97 - int(first13) % 97


def _nir_plausible(digits: str) -> bool:
    """A NIR: its key when given is right, or else its month is one INSEE uses."""
    if len(digits) == 15 and nir_key(digits[:13]) == int(digits[13:]):
        return True
    month = int(digits[3:5])
    return 1 <= month <= 12 or month == 20 or 30 <= month <= 42 or month >= 50


def _numbers(tokens: Sequence[Token], run: list[Group]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    start = 0
    while start < len(run):
        found = _spoken_iban(tokens, run, start) or _longest_match(run, start)
        if found is None:
            start += 1
            continue
        end, first_token, marker = found
        spans.append((first_token, run[end].last, marker))
        start = end + 1
    return spans


def _longest_match(run: list[Group], start: int) -> tuple[int, int, str] | None:
    digits = ""
    best: tuple[int, int, str] | None = None
    for end in range(start, len(run)):
        digits += run[end].digits
        if len(digits) > MAX_DIGITS:
            break
        marker = kind_of(digits)
        if marker is not None:
            best = (end, run[start].first, marker)
    return best


def _spoken_iban(
    tokens: Sequence[Token], run: list[Group], start: int
) -> tuple[int, int, str] | None:
    """ "F R" (or "effe erre") then the 25 digits of a French IBAN."""
    before = _previous_words(tokens, run[start].first, 2)
    if [letter(t) for t in before[-2:]] == ["F", "R"] and len(before) >= 2:
        first = before[-2]
    elif before and before[-1].word == "fr":
        first = before[-1]
    else:
        return None
    digits = ""
    for end in range(start, len(run)):
        digits += run[end].digits
        if SPOKEN_IBAN_DIGITS.fullmatch(digits):
            return end, tokens.index(first), IBAN
        if len(digits) > 25:
            break
    return None


def _previous_words(tokens: Sequence[Token], index: int, count: int) -> list[Token]:
    found: list[Token] = []
    index -= 1
    while index >= 0 and len(found) < count:
        if not tokens[index].is_space:
            if not tokens[index].is_word:
                break
            found.insert(0, tokens[index])
        index -= 1
    return found


# ------------------------------------------------------------------ spoken e-mails
def _spoken_emails(tokens: Sequence[Token]) -> list[tuple[int, int, str]]:
    items = [i for i, t in enumerate(tokens) if not t.is_space]
    spans: list[tuple[int, int, str]] = []
    for position, index in enumerate(items):
        if tokens[index].word not in AT_WORDS:
            continue
        if spans and spans[-1][1] >= index:
            continue
        first = _local_part_start(tokens, items, position)
        last = _domain_end(tokens, items, position)
        spans.append((first, last, EMAIL))
    return spans


def _is_part(token: Token) -> bool:
    return (token.is_word or token.is_digits) and token.word not in AT_WORDS


def _local_part_start(tokens: Sequence[Token], items: list[int], at: int) -> int:
    """Back from "arobase": word (separator word)*, numbers attached to the word before."""
    position = at - 1
    if position < 0 or not _is_part(tokens[items[position]]):
        return items[at]
    while True:
        before = _separator_before(tokens, items, position)
        if before is not None and before >= 0 and _is_part(tokens[items[before]]):
            position = before
        elif _is_numeric(tokens[items[position]]) and position > 0:
            previous = tokens[items[position - 1]]
            if not _is_part(previous) or _is_separator_word(previous):
                break
            position -= 1
        else:
            break
    return items[position]


def _domain_end(tokens: Sequence[Token], items: list[int], at: int) -> int:
    """Forward from "arobase": word (separator word)*."""
    position = at + 1
    if position >= len(items) or not _is_part(tokens[items[position]]):
        return items[at]
    while True:
        after = _separator_after(tokens, items, position)
        if after is None or after >= len(items) or not _is_part(tokens[items[after]]):
            break
        position = after
    return items[position]


def _separator_before(tokens: Sequence[Token], items: list[int], position: int) -> int | None:
    """The position of the part before a separator that ends just before ``position``."""
    for separator in SEPARATORS:
        size = len(separator)
        if position - size < 1:
            continue
        words = [tokens[items[position - size + k]].word for k in range(size)]
        if tuple(words) == separator:
            return position - size - 1
    return None


def _separator_after(tokens: Sequence[Token], items: list[int], position: int) -> int | None:
    for separator in SEPARATORS:
        size = len(separator)
        if position + size + 1 >= len(items):
            continue
        words = [tokens[items[position + 1 + k]].word for k in range(size)]
        if tuple(words) == separator:
            return position + size + 1
    return None


def _is_separator_word(token: Token) -> bool:
    return any(token.word in separator for separator in SEPARATORS)


def _is_numeric(token: Token) -> bool:
    return token.is_digits or token.word in NUMBER_WORDS
