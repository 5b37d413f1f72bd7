"""Spelling on the phone: zeros, repeated digits and letters, letters by names, from tables."""

from __future__ import annotations

import json

import pytest

from tests.cli import run_cli
from voicebot.nlu.normalize import normalize
from voicebot.nlu.numbers import parse_number, spell
from voicebot.nlu.slots import dossier_number


@pytest.mark.parametrize(
    ("words", "parsed"),
    [
        ("zéro", (0, 1)),
        ("zero six", (0, 1)),
        ("zéro zéro quatre", (0, 1)),
        ("vingt zéro", (20, 1)),
        ("cent zéro", (100, 1)),
        ("deux mille zéro", (2000, 2)),
    ],
)
def test_zero_is_a_digit_of_its_own(words: str, parsed: tuple[int, int]) -> None:
    assert parse_number(words.split()) == parsed


@pytest.mark.parametrize(
    ("heard", "spelled"),
    [
        # Zeros at the start, in the middle, at the end
        ("zéro zéro quatre cinq", "0045"),
        ("quatre zéro zéro un", "4001"),
        ("un deux zéro zéro", "1200"),
        ("zéro six", "06"),
        # Repeated digits
        ("double zéro quatre cinq", "0045"),
        ("deux fois zéro quatre cinq", "0045"),
        ("trois fois zéro un", "0001"),
        ("triple sept un", "7771"),
        ("un double cinq huit", "1558"),
        ("double 0 1 2", "0012"),
        # Letters repeated, by count
        ("deux b", "BB"),
        ("double b", "BB"),
        ("deux fois b", "BB"),
        ("deux a zéro zéro un deux", "AA0012"),
        # W and Y, said the French way
        ("double vé", "W"),
        ("double v", "W"),
        ("deux v", "VV"),
        ("i grec", "Y"),
        # Letters by names
        ("p comme pierre", "P"),
        ("a comme anatole b comme berthe", "AB"),
        ("é comme émile", "E"),
        ("c comme célestin", "C"),
        ("k comme kléber", "K"),
        ("z comme zoé", "Z"),
        ("c comme charles", "C"),
        ("p comme paris", "P"),
        ("t comme paris", "P"),  # the name is what the caller says to be understood
        ("b comme désiré", "D"),
        ("comme thérèse", "T"),  # the letter itself lost by the recogniser
        ("thé comme thérèse", "T"),
        # Sound-alike words for letters
        ("air thé", "RT"),
        ("cul", "Q"),
        # Numbers said whole stay whole
        ("douze trente quatre", "1234"),
        ("deux mille vingt", "2020"),
        ("a b 0 0 1 2", "AB0012"),
        # Words that spell nothing
        ("mon dossier", "  "),
    ],
)
def test_spell(heard: str, spelled: str) -> None:
    assert spell(normalize(heard).words) == spelled


@pytest.mark.parametrize(
    ("heard", "number"),
    [
        ("r t zéro zéro quatre cinq", "RT0045"),
        ("c'est a b zéro zéro un deux", "AB0012"),
        ("zéro zéro un deux a b", None),
        ("g h zéro zéro quatre deux", "GH0042"),
        ("m n zéro zéro zéro un", "MN0001"),
        ("b c sept sept zéro un", "BC7701"),
        ("u v quatre zéro zéro un", "UV4001"),
        ("k l trois deux un zéro", "KL3210"),
        ("s t un deux zéro zéro", "ST1200"),
        ("a b zéro zéro zéro zéro", "AB0000"),
        ("a b 0 0 1 2", "AB0012"),
        ("a b zéro 0 un 2", "AB0012"),
        ("a b double zéro un deux", "AB0012"),
        ("a b deux fois zéro un deux", "AB0012"),
        ("a b zéro douze trente", None),
        ("a b zéro cent vingt trois", "AB0123"),
        ("p comme pierre t comme thérèse un deux trois quatre", "PT1234"),
        ("c'est p comme paris c comme charles zéro six zéro zéro", "PC0600"),
        ("le dossier de p comme pierre a comme anatole cinq cinq cinq un", "PA5551"),
        ("deux b zéro zéro quatre cinq", "BB0045"),
        ("double b zéro zéro quatre cinq", "BB0045"),
        ("mon dossier c'est deux a un deux trois quatre", "AA1234"),
        ("double vé x un deux trois quatre", "WX1234"),
        ("i grec z un deux trois quatre", "YZ1234"),
        ("air thé zéro zéro quatre cinq", "RT0045"),
        ("a b un deux trois deux de mes enfants", "AB1232"),
        ("j'ai appelé deux fois pour mon dossier", None),
        ("a b un deux zéro", None),
    ],
)
def test_dossier_number_spelled_on_the_phone(heard: str, number: str | None) -> None:
    assert dossier_number(normalize(heard).words) == number


def test_zero_stays_a_digit_in_the_tokens() -> None:
    assert normalize("zéro six douze").tokens == ("0", "6", "12")


def test_understand_a_dossier_spelled_with_zeros() -> None:
    result = run_cli(
        "understand", "je voudrais savoir où en est mon dossier r t zéro zéro quatre cinq"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["intent"] == "suivi_dossier"
    assert document["slots"] == {"numero_dossier": "RT0045"}
