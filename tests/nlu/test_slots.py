"""Dates, times and months as callers say them."""

from __future__ import annotations

from datetime import date

import pytest

from voicebot.nlu.normalize import normalize
from voicebot.nlu.slots import parse_address, parse_date, parse_month, parse_time

TODAY = date(2026, 11, 26)  # a Thursday


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("demain", date(2026, 11, 27)),
        ("après demain", date(2026, 11, 28)),
        ("aujourd'hui", TODAY),
        ("mardi prochain", date(2026, 12, 1)),
        ("jeudi", date(2026, 12, 3)),  # today is Thursday: the next one
        ("le douze mars deux mille vingt sept", date(2027, 3, 12)),
        ("le premier décembre", date(2026, 12, 1)),
        ("le trois janvier", date(2027, 1, 3)),  # past this year: next year
        ("le trente et un décembre", date(2026, 12, 31)),
        ("le trente février", None),
        ("bientôt", None),
    ],
)
def test_dates(heard: str, expected: date | None) -> None:
    assert parse_date(normalize(heard).tokens, TODAY) == expected


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("quatorze heures trente", "14:30"),
        ("à dix heures", "10:00"),
        ("neuf heures et demie", "09:30"),
        ("dix heures et quart", "10:15"),
        ("onze heures moins le quart", "10:45"),
        ("deux heures de l'après midi", "14:00"),
        ("midi", "12:00"),
        ("vers 8 h 15", "08:15"),
        ("vingt cinq heures", None),
        ("dans une heure", None),
    ],
)
def test_times(heard: str, expected: str | None) -> None:
    assert parse_time(normalize(heard).tokens) == expected


@pytest.mark.parametrize(
    ("heard", "expected"),
    [("ma paie de janvier", 1), ("le bulletin d'août", 8), ("le mois dernier", 10),
     ("ce mois ci", 11), ("ma paie", None)],
)  # fmt: skip
def test_months(heard: str, expected: int | None) -> None:
    assert parse_month(normalize(heard).tokens, TODAY) == expected


def test_addresses() -> None:
    assert parse_address(normalize("un trou au douze rue des lilas depuis hier").tokens) == (
        "12 rue des lilas"
    )
    assert parse_address(normalize("place de la république").tokens) == "place de la republique"
    assert parse_address(normalize("devant chez moi").tokens) is None
