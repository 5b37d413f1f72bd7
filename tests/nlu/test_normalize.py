"""French normalisation, numbers and spelled letters, from tables."""

from __future__ import annotations

import pytest

from voicebot.nlu.normalize import fold, normalize
from voicebot.nlu.numbers import parse_number
from voicebot.nlu.slots import dossier_number


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("zéro", 0), ("un", 1), ("dix sept", 17), ("vingt et un", 21), ("vingt trois", 23),
        ("soixante et onze", 71), ("soixante dix sept", 77), ("quatre vingts", 80),
        ("quatre vingt onze", 91), ("quatre vingt dix sept", 97), ("cent deux", 102),
        ("trois cents", 300), ("mille", 1000), ("dix huit cents", 1800),
        ("deux mille vingt sept", 2027), ("mille neuf cent quatre vingt", 1980),
    ],
)  # fmt: skip
def test_number_words(words: str, value: int) -> None:
    parsed = parse_number(words.split())
    assert parsed is not None and parsed[0] == value and parsed[1] == len(words.split())


def test_a_number_stops_where_another_starts() -> None:
    assert parse_number("deux trois".split()) == (2, 1)
    assert parse_number("quatorze heures".split()) == (14, 1)
    assert parse_number("passeport".split()) is None


@pytest.mark.parametrize(
    ("heard", "text"),
    [
        ("Euh, bonjour ! Je voudrais un passe port", "bonjour je voudrais un passeport"),
        ("l'état civil", "l etat civil"),
        ("rendez vous à quatorze heures trente", "rendezvous a 14 heures 30"),
        ("aujourd'hui c'est l'Ascension", "aujourdhui c est l ascension"),
        ("ben heu la déchèterie", "la decheterie"),
        ("un passeport", "un passeport"),
        ("vingt-trois", "23"),
        ("R T T", "rtt"),
    ],
)
def test_normalize(heard: str, text: str) -> None:
    assert normalize(heard).text == text


def test_fold_keeps_words_and_drops_accents_and_punctuation() -> None:
    assert fold("Où est l'Hôtel-de-Ville ?") == "ou est l hotel de ville"


def test_content_words_drop_function_words() -> None:
    assert normalize("je voudrais savoir pour l'état civil").content == (
        "voudrais", "savoir", "etat", "civil",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("heard", "number"),
    [
        ("mon dossier a b un deux trois quatre", "AB1234"),
        ("c'est le ab1234", "AB1234"),
        ("numéro c d cinq six sept huit", "CD5678"),
        ("m n douze trente quatre", "MN1234"),
        ("p r deux mille vingt", "PR2020"),
        ("k l trois trois un cinq merci", "KL3315"),
        ("bé cé un deux trois quatre", "BC1234"),
        ("je n'ai pas mon numéro", None),
        ("a b un deux trois", None),
    ],
)
def test_dossier_numbers_spelled_or_not(heard: str, number: str | None) -> None:
    assert dossier_number(normalize(heard).words) == number
