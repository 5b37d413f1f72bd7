"""Our French number reading against text2num's, on what callers say on the phone.

    .venv/bin/pip install text2num==3.1.0
    .venv/bin/python scripts/numbers_vs_text2num.py

Two tasks, each a table of utterances as the recogniser writes them:

- ``nombre``: the value of the first number said (a time, a day, a count);
- ``épelé``: the code spelled (a dossier number: letters, digits, « zéro zéro »,
  « deux b », « p comme pierre »), spaces dropped.

For text2num, a number is ``alpha2digit`` then the first run of digits; a code is
``alpha2digit``, each one-letter word kept, spaces dropped (it has no letters by
name). Prints each parser's score and the cases either gets wrong.
"""

from __future__ import annotations

import re
import sys

from voicebot.nlu.normalize import fold
from voicebot.nlu.numbers import parse_number, spell

NUMBERS = [
    ("dix heures", 10),
    ("quatorze heures trente", 14),
    ("le vingt et un mars", 21),
    ("le premier décembre", 1),
    ("soixante dix", 70),
    ("soixante et onze", 71),
    ("quatre vingt", 80),
    ("quatre vingts", 80),
    ("quatre vingt dix sept", 97),
    ("cent deux", 102),
    ("trois cent quarante deux", 342),
    ("mille neuf cent quatre vingt", 1980),
    ("deux mille vingt six", 2026),
    ("trente et un", 31),
    ("vingt deux", 22),
    ("seize heures quinze", 16),
    ("onze heures non pardon midi", 11),
    ("douze", 12),
    ("zéro", 0),
    ("il me reste trois jours", 3),
]

SPELLED = [
    ("a b un deux trois quatre", "AB1234"),
    ("r t zéro zéro quatre cinq", "RT0045"),
    ("m n douze trente quatre", "MN1234"),
    ("deux b double zéro quatre cinq", "BB0045"),
    ("p comme pierre a comme anatole un deux", "PA12"),
    ("c d zéro six neuf neuf", "CD0699"),
    ("double zéro un", "001"),
    ("x y vingt trois quarante", "XY2340"),
    ("a a zéro zéro zéro un", "AA0001"),
    ("b comme bernard douze", "B12"),
    ("e f quatre vingt dix", "EF90"),
    ("z zéro un deux", "Z012"),
]


def ours_number(text: str) -> int | None:
    words = fold(text).split()  # as the slot readers get them
    for start in range(len(words)):
        found = parse_number(words[start:])
        if found is not None:
            return found[0]
    return None


def ours_spelled(text: str) -> str:
    return spell(fold(text).split()).replace(" ", "").upper()


def theirs_number(text: str) -> int | None:
    from text_to_num import alpha2digit

    digits = re.search(r"\d+", alpha2digit(text, "fr"))
    return int(digits.group()) if digits else None


def theirs_spelled(text: str) -> str:
    from text_to_num import alpha2digit

    kept = [w for w in alpha2digit(text, "fr").split() if w.isdigit() or len(w) == 1]
    return "".join(kept).upper()


def main() -> int:
    try:
        import text_to_num  # noqa: F401
    except ImportError:
        print("text2num n'est pas installé : .venv/bin/pip install text2num==3.1.0")
        return 2
    for task, cases, ours, theirs in (
        ("nombre", NUMBERS, ours_number, theirs_number),
        ("épelé", SPELLED, ours_spelled, theirs_spelled),
    ):
        ok_ours = ok_theirs = 0
        for text, wanted in cases:
            mine, other = ours(text), theirs(text)  # type: ignore[operator]
            ok_ours += mine == wanted
            ok_theirs += other == wanted
            if mine != wanted or other != wanted:
                print(
                    f"  {task} « {text} » : attendu {wanted!r}, nous {mine!r}, text2num {other!r}"
                )
        print(f"{task}: nous {ok_ours}/{len(cases)}, text2num {ok_theirs}/{len(cases)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
