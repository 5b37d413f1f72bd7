"""French number words, spelled letters and digits, as a recogniser writes them.

"vingt trois" is 23, "quatre vingt dix sept" is 97, "deux mille vingt sept" is
2027; "a b un deux trois quatre" spells AB1234.
"""

from __future__ import annotations

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
    "zed": "Z",
}  # fmt: skip


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


def digits_of(words: Sequence[str]) -> str:
    """Spelled digits: each number word read as its own digits ("douze trente quatre" → 1234)."""
    out = []
    index = 0
    while index < len(words):
        parsed = parse_number(words[index:])
        if parsed is None:
            break
        value, used = parsed
        out.append(str(value))
        index += used
    return "".join(out)


def _unit_continues(low: int, value: int, previous: str) -> bool:
    """Whether a unit word extends the number read so far ("vingt" + "trois")."""
    if low == 0:
        return True  # after cent, mille
    if low in (60, 80):
        return value < 17  # soixante douze, quatre vingt seize
    if low % 10 == 0 and low >= 20:
        return value < 10 or (previous == "dix" and 7 <= value <= 9)
    return low == 10 and previous == "dix" and 7 <= value <= 9  # dix sept
