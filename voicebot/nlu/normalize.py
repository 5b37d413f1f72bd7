"""French normalisation of what the recogniser heard.

Lower case, accents folded for comparison, punctuation and hyphens to spaces,
elisions split ("l'état" → "l etat"), hesitations dropped, number words to
digits ("vingt trois" → "23"), and frequent recognition slips joined
("passe port" → "passeport").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from voicebot.nlu.numbers import NUMBER_WORDS, parse_number

FILLERS = frozenset({"euh", "heu", "euhm", "hum", "hmm", "hm", "ben", "bah", "beh", "hein", "bé"})
_STOPWORDS_TEXT = """
    le la les l un une des du de d au aux a et ou en je j me m moi mon ma mes tu te t ton ta
    tes il elle on nous vous ils elles leur leurs lui se s ce c cet cette ces ca cela qui que
    qu quoi est suis es sommes etes sont ai as avons avez ont pour par sur dans avec sans
    ne n y alors donc bon bien voila enfin bonjour bonsoir allo madame monsieur mademoiselle
    svp plait sil
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
SLIPS = (
    ("passe port", "passeport"),
    ("passe ports", "passeports"),
    ("rendez vous", "rendezvous"),
    ("rendez vou", "rendezvous"),
    ("rende vous", "rendezvous"),
    ("r d v", "rendezvous"),
    ("rdv", "rendezvous"),
    ("c n i", "cni"),
    ("r t t", "rtt"),
    ("c c a s", "ccas"),
    ("c a f", "caf"),
    ("p l u", "plu"),
    ("r s a", "rsa"),
    ("s m s", "sms"),
    ("texto", "sms"),
    ("d accord", "daccord"),
    ("aujourd hui", "aujourdhui"),
    ("est ce que", "estceque"),
    ("ou en est", "ouenest"),
    ("ou ca en est", "ouenest"),
    ("ou en sont", "ouenest"),
    ("quelqu un", "quelquun"),
    ("s il vous plait", "svp"),
    ("s il te plait", "svp"),
)
_APOSTROPHES = str.maketrans({"’": "'", "`": "'", "´": "'"})
_NON_WORD = re.compile(r"[^\w']+|_")
_ELISION = re.compile(r"\b(l|d|j|m|t|s|c|n|qu|jusqu|lorsqu|puisqu)'")


@dataclass(frozen=True, slots=True)
class Normalized:
    """One utterance, ready for matching."""

    text: str
    """Folded, fillers out, numbers as digits, slips joined."""
    tokens: tuple[str, ...]
    words: tuple[str, ...]
    """Folded words before number conversion (for spelled letters and digits)."""
    content: tuple[str, ...]
    """Tokens without function words."""


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces, elisions split."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _ELISION.sub(r"\1 ", text)
    text = text.replace("'", " ").replace("-", " ")
    return " ".join(_NON_WORD.sub(" ", text).split())


def _join_slips(words: list[str]) -> list[str]:
    text = " " + " ".join(words) + " "
    for slip, fixed in SLIPS:
        text = text.replace(f" {slip} ", f" {fixed} ")
    return text.split()


def _numbers_to_digits(words: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in NUMBER_WORDS and word != "et":
            parsed = parse_number(words[index:])
            if parsed is not None:
                value, used = parsed
                lone_article = used == 1 and word in ("un", "une")
                if not lone_article:
                    out.append(str(value))
                    index += used
                    continue
        out.append(word)
        index += 1
    return out


@lru_cache(maxsize=4096)
def normalize(text: str) -> Normalized:
    folded = fold(text).split()
    # A hesitation alone ("hein ?") is a request to repeat, not nothing.
    words = [w for w in folded if w not in FILLERS] or folded
    words = _join_slips(words)
    tokens = _numbers_to_digits(words)
    content = tuple(t for t in tokens if t not in STOPWORDS)
    return Normalized(
        text=" ".join(tokens), tokens=tuple(tokens), words=tuple(words), content=content
    )
