"""French number words, spelled letters and digits, as a recogniser writes them.

"vingt trois" is 23, "quatre vingt dix sept" is 97, "deux mille vingt sept" is
2027; "a b un deux trois quatre" spells AB1234, and so do the ways callers spell
on the phone: "zéro" is always a digit of its own ("zéro zéro quatre cinq" is
0045), "double zéro" or "deux fois zéro" is 00, "deux b" or "double b" is BB,
"double vé" is W, "i grec" is Y, and "p comme pierre" is P (the word after
"comme" says which letter was meant: "t comme paris" is P).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

UNITS = {
    "zero": 0, "zéro": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12,
    "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
}  # fmt: skip
TENS = {
    "vingt": 20,
    "vingts": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "septante": 70,
    "huitante": 80,
    "octante": 80,
    "nonante": 90,
}
NUMBER_WORDS = frozenset({*UNITS, *TENS, "cent", "cents", "mille", "et"})

LETTER_NAMES = {
    "a": "A", "ah": "A", "b": "B", "bé": "B", "be": "B", "c": "C", "cé": "C", "ce": "C",
    "d": "D", "dé": "D", "de": "D", "e": "E", "f": "F", "effe": "F", "ef": "F", "g": "G",
    "gé": "G", "ge": "G", "h": "H", "hache": "H", "ache": "H", "i": "I", "j": "J", "ji": "J",
    "k": "K", "ka": "K", "ca": "K", "l": "L", "elle": "L", "el": "L", "m": "M", "emme": "M",
    "em": "M", "n": "N", "enne": "N", "en": "N", "o": "O", "oh": "O", "p": "P", "pé": "P",
    "pe": "P", "q": "Q", "qu": "Q", "ku": "Q", "r": "R", "erre": "R", "air": "R", "s": "S",
    "esse": "S", "es": "S", "t": "T", "té": "T", "te": "T", "u": "U", "v": "V", "vé": "V",
    "ve": "V", "w": "W", "x": "X", "ixe": "X", "iks": "X", "y": "Y", "z": "Z", "zède": "Z",
    "zede": "Z", "zed": "Z", "thé": "T", "the": "T", "cul": "Q",
}  # fmt: skip
"""A letter as heard: the letter itself, its name, or a word that sounds the same
("thé" for T, "cul" for Q). Accented and folded forms both, for callers of either."""
SPELLING_ALPHABET = {
    "anatole": "A", "berthe": "B", "celestin": "C", "desire": "D", "eugene": "E",
    "emile": "E", "francois": "F", "gaston": "G", "henri": "H", "irma": "I", "joseph": "J",
    "kleber": "K", "louis": "L", "marcel": "M", "nicolas": "N", "oscar": "O", "pierre": "P",
    "quintal": "Q", "raoul": "R", "suzanne": "S", "therese": "T", "ursule": "U",
    "victor": "V", "william": "W", "xavier": "X", "yvonne": "Y", "zoe": "Z",
}  # fmt: skip
"""The traditional French spelling alphabet (folded): "comme thérèse" alone names T."""
_LIKE = "comme"
_MULTIPLIERS = {"double": 2, "triple": 3}
_TIMES = {"deux": 2, "trois": 3}
"""Before "fois": "deux fois zéro" is 00."""
_WORD_LIKE_LETTERS = frozenset(
    {"ce", "de", "te", "en", "es", "el", "elle", "ca", "qu", "ah", "oh", "the", "air", "cul"}
)
"""Letter forms that are also everyday words: "deux de mes enfants" is no DD."""
_VE = frozenset({"v", "ve", "vé"})


def parse_number(words: Sequence[str]) -> tuple[int, int] | None:
    """Parse the longest number at the start of ``words``: (value, words used), or None."""
    total = 0
    current = 0
    used = 0
    seen_any = False
    index = 0
    while index < len(words):
        word = words[index]
        if word.isdigit():
            if seen_any:
                break
            return int(word), 1
        if (
            word == "et"
            and seen_any
            and index + 1 < len(words)
            and words[index + 1] in ("un", "une", "onze")
        ):
            index += 1
            continue
        if word in UNITS:
            value = UNITS[word]
            if value == 0:  # "zéro" is a digit of its own: "zéro six" is 0 then 6
                if seen_any:
                    break
                return 0, 1
            if seen_any and not _unit_continues(current % 100, value, words[index - 1]):
                break
            current += value
        elif word in TENS:
            value = TENS[word]
            if word.startswith("vingt") and current % 100 == 4:  # quatre vingt
                current += 76
            elif seen_any and current % 100 != 0:
                break
            else:
                current += value
        elif word in ("cent", "cents"):
            current = (current or 1) * 100
        elif word == "mille":
            total += (current or 1) * 1000
            current = 0
        else:
            break
        seen_any = True
        index += 1
        used = index
    if not seen_any:
        return None
    return total + current, used


def spell(words: Sequence[str]) -> str:
    """What ``words`` spell: letters and digits, a space for each other word.

    "c est a b zero zero un deux" → "C AB0012", "deux b double zero quatre cinq" → "BB0045".
    Numbers said whole are read as their digits ("douze trente quatre" → 1234).
    """
    out: list[str] = []
    run_has_digit = False  # since the last space: "deux b" counts only before the digits
    index = 0
    while index < len(words):
        symbols, used = _symbols_at(words, index, run_has_digit)
        if symbols == " ":
            run_has_digit = False
        elif any(c.isdigit() for c in symbols):
            run_has_digit = True
        out.append(symbols)
        index += used
    return "".join(out)


def _symbols_at(words: Sequence[str], index: int, run_has_digit: bool) -> tuple[str, int]:
    word = words[index]
    letter = _letter_at(words, index)  # before repeats: "double v" is W
    if letter is not None:
        return letter
    repeated = _repeated_at(words, index, run_has_digit)
    if repeated is not None:
        return repeated
    if word.isdigit():
        return word, 1
    if word in NUMBER_WORDS and word != "et":
        parsed = parse_number(words[index:])
        if parsed is not None:
            return str(parsed[0]), parsed[1]
    if len(word) == 2 and word.isalpha():  # "ab", two letters written as one word
        return word.upper(), 1
    return " ", 1


def _repeated_at(words: Sequence[str], index: int, run_has_digit: bool) -> tuple[str, int] | None:
    """ "double zéro", "deux fois zéro", "triple a", "deux b": a digit or letter repeated."""
    word = words[index]
    following = words[index + 1] if index + 1 < len(words) else ""
    if word in _MULTIPLIERS:
        count, used = _MULTIPLIERS[word], 1
    elif word in _TIMES and following == "fois":
        count, used = _TIMES[word], 2
    elif word == "deux" and following and following not in _WORD_LIKE_LETTERS:
        if run_has_digit:  # "un deux b": the digits have started, "deux" is one of them
            return None
        letter = _letter_at(words, index + 1)
        return (letter[0] * 2, 1 + letter[1]) if letter else None
    else:
        return None
    if index + used >= len(words):
        return None
    target = words[index + used]
    if len(target) == 1 and target.isdigit():
        return target * count, used + 1
    if UNITS.get(target, 10) < 10:
        return str(UNITS[target]) * count, used + 1
    letter = _letter_at(words, index + used)
    return (letter[0] * count, used + letter[1]) if letter else None


def _letter_at(words: Sequence[str], index: int) -> tuple[str, int] | None:
    """The letter spelled at ``index`` and the words it takes, with its "comme pierre"."""
    word = words[index]
    following = words[index + 1] if index + 1 < len(words) else ""
    if word == _LIKE and following in SPELLING_ALPHABET:  # "thé" not heard as a letter
        return SPELLING_ALPHABET[following], 2
    if word == "i" and following == "grec":
        letter, used = "Y", 2
    elif word == "double" and following in _VE:
        letter, used = "W", 2
    elif word in LETTER_NAMES:
        letter, used = LETTER_NAMES[word], 1
    else:
        return None
    if index + used + 1 < len(words) and words[index + used] == _LIKE:
        name = words[index + used + 1]
        if name in SPELLING_ALPHABET:
            return SPELLING_ALPHABET[name], used + 2
        if len(name) >= 3 and name.isalpha() and name not in NUMBER_WORDS:
            # The name is what makes the letter clear on the phone: it wins.
            return _initial(name), used + 2
    return letter, used


def _initial(word: str) -> str:
    return unicodedata.normalize("NFKD", word[0])[0].upper()


def _unit_continues(low: int, value: int, previous: str) -> bool:
    """Whether a unit word extends the number read so far ("vingt" + "trois")."""
    if low == 0:
        return True  # after cent, mille
    if low in (60, 80):
        return value < 17  # soixante douze, quatre vingt seize
    if low % 10 == 0 and low >= 20:
        return value < 10 or (previous == "dix" and 7 <= value <= 9)
    return low == 10 and previous == "dix" and 7 <= value <= 9  # dix sept
