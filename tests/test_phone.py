"""Caller numbers in E.164, from every way Asterisk or a person writes them."""

from __future__ import annotations

import pytest

from voicebot.phone import caller_number, is_assigned, stored_forms

NORMALISED = [
    # Metropolitan mobiles and landlines, as written, typed or given by a trunk
    ("06 12 34 56 78", "+33612345678"),
    ("0612345678", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"),
    ("06-12-34-56-78", "+33612345678"),
    ("06/12/34/56/78", "+33612345678"),
    (" 06 12 34 56 78 ", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+33612345678", "+33612345678"),
    ("+33 (0)6 12 34 56 78", "+33612345678"),
    ("+330612345678", "+33612345678"),
    ("0033 6 12 34 56 78", "+33612345678"),
    ("33612345678", "+33612345678"),
    ("612345678", "+33612345678"),
    ("07 81 23 45 67", "+33781234567"),
    ("01 45 21 33 00", "+33145213300"),
    ("(01) 45 21 33 00", "+33145213300"),
    ("09 70 80 90 10", "+33970809010"),
    ("01 99 00 10 20", "+33199001020"),
    # La Réunion (+262): the three forms, a landline, a bare trunk form
    ("0692 12 34 56", "+262692123456"),
    ("+262692123456", "+262692123456"),
    ("00262 692 12 34 56", "+262692123456"),
    ("+262 692 12 34 56", "+262692123456"),
    ("0693 12 34 56", "+262693123456"),
    ("0262 16 12 34", "+262262161234"),
    ("262692123456", "+262692123456"),
    # Mayotte (+262)
    ("0269 60 12 34", "+262269601234"),
    ("0639 01 23 45", "+262639012345"),
    # Guadeloupe, Saint-Barthélemy, Saint-Martin (+590)
    ("0590 20 12 34", "+590590201234"),
    ("0690 00 12 34", "+590690001234"),
    ("0590 27 12 34", "+590590271234"),
    # Martinique (+596)
    ("0596 30 12 34", "+596596301234"),
    ("0696 20 12 34", "+596696201234"),
    # Guyane (+594)
    ("0594 10 12 34", "+594594101234"),
    ("0694 20 12 34", "+594694201234"),
    # Saint-Pierre-et-Miquelon and abroad: given internationally
    ("+508 41 12 34", "+508411234"),
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    ("+32 2 123 45 67", "+3221234567"),
]

NO_NUMBER = [
    None,
    "",
    "   ",
    "anonymous",
    "Anonymous",
    "unknown",
    "Unavailable",
    "restricted",
    "private",
    "masqué",
    "abc",
    "06 12 34 56 7a",
    "sip:0612345678@pbx.exemple.fr",
    "0612",
    "3949",
    "17",
    "0",
    "00",
    "+",
    "++33612345678",
    "06 12 34 56 78 9",
    "41 12 34",  # six digits: a fragment, not Saint-Pierre-et-Miquelon without its +508
    "0" * 60,
    "+33 6 12 34 56 78 +33 6 12 34 56 78",
]


@pytest.mark.parametrize(("raw", "expected"), NORMALISED)
def test_numbers_become_e164(raw: str, expected: str) -> None:
    assert caller_number(raw) == expected


@pytest.mark.parametrize("raw", NO_NUMBER)
def test_withheld_anonymous_and_garbage_are_no_number(raw: str | None) -> None:
    assert caller_number(raw) is None


@pytest.mark.parametrize(("raw", "expected"), NORMALISED)
def test_normalising_twice_changes_nothing(raw: str, expected: str) -> None:
    assert caller_number(caller_number(raw)) == expected


@pytest.mark.parametrize(
    ("number", "forms"),
    [
        ("+33612345678", ["+33612345678", "0033612345678", "0612345678", "33612345678"]),
        ("+262692123456", ["+262692123456", "00262692123456", "0692123456", "262692123456"]),
        ("+596696201234", ["+596696201234", "00596696201234", "0696201234", "596696201234"]),
        # Abroad, a national form would be someone else's French number: none.
        ("+442079460958", ["+442079460958", "00442079460958", "442079460958"]),
    ],
)
def test_stored_forms(number: str, forms: list[str]) -> None:
    assert stored_forms(number) == forms


@pytest.mark.parametrize(
    ("text", "assigned"),
    [
        ("+262692123456", True),
        ("00262692123456", True),
        ("+33612345678", True),
        ("+442079460958", True),
        ("+262123456789", False),  # +262's plan has no 1…
        ("0012345678", False),
        ("+33", False),
    ],
)
def test_assigned_numbers(text: str, assigned: bool) -> None:
    assert is_assigned(text) is assigned
