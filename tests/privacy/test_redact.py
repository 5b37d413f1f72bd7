"""Redaction, from tables: what must become a marker, and what must stay as it is."""

from __future__ import annotations

import pytest

from voicebot.privacy import redact
from voicebot.privacy.redact import CARD, EMAIL, IBAN, NIR, PHONE, kind_of, luhn_valid, nir_key

REDACTED = [
    # Phone numbers, written
    ("06 12 34 56 78", PHONE),
    ("0612345678", PHONE),
    ("06.12.34.56.78", PHONE),
    ("06-12-34-56-78", PHONE),
    ("01 45 21 33 00", PHONE),
    ("09 70 80 90 10", PHONE),
    ("+33 6 12 34 56 78", PHONE),
    ("+33612345678", PHONE),
    ("+33 (0)6 12 34 56 78", PHONE),
    ("0033 6 12 34 56 78", PHONE),
    ("mon numéro c'est le 06 12 34 56 78 merci", f"mon numéro c'est le {PHONE} merci"),
    # Overseas departments, nationally and internationally, and other countries
    ("0692 12 34 56", PHONE),  # La Réunion
    ("+262 692 12 34 56", PHONE),
    ("+262692123456", PHONE),
    ("00262 692 12 34 56", PHONE),
    ("0262 16 12 34", PHONE),
    ("+262 269 60 12 34", PHONE),  # Mayotte
    ("+590 690 00 12 34", PHONE),  # Guadeloupe
    ("+596 696 20 12 34", PHONE),  # Martinique
    ("+594 694 20 12 34", PHONE),  # Guyane
    ("+508 41 12 34", PHONE),  # Saint-Pierre-et-Miquelon
    ("+44 20 7946 0958", PHONE),
    ("appelez-moi au +262 692 12 34 56 merci", f"appelez-moi au {PHONE} merci"),
    ("06 12 34 56 78 ou 01 45 21 33 00", f"{PHONE} ou {PHONE}"),
    # Phone numbers, spoken as the recogniser writes them
    ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", PHONE),
    ("zéro six douze trente quatre cinquante six soixante dix huit", PHONE),
    ("zero six douze trente quatre cinquante six soixante dix huit", PHONE),
    ("zéro six un deux trois quatre cinq six sept huit", PHONE),
    ("zéro un quarante-cinq vingt et un trente-trois zéro zéro", PHONE),
    ("zéro sept quatre-vingt-dix-neuf quatre-vingt-onze soixante-et-onze dix", PHONE),
    ("zéro sept quatre vingt dix neuf quatre vingt onze soixante et onze dix", PHONE),
    ("plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit", PHONE),
    ("zéro zéro trente-trois six douze trente-quatre cinquante-six soixante-dix-huit", PHONE),
    ("zéro 6 douze 34 cinquante-six 78", PHONE),
    ("zéro six cent quatre-vingt-douze douze trente-quatre cinquante-six", PHONE),
    (
        "plus deux cent soixante-deux six cent quatre-vingt-douze douze trente-quatre "
        "cinquante-six",
        PHONE,
    ),
    (
        "zéro zéro cinq cent quatre-vingt-seize six cent quatre-vingt-seize vingt douze "
        "trente-quatre",
        PHONE,
    ),
    (
        "oui alors c'est le zéro six douze trente-quatre cinquante-six soixante-dix-huit voilà",
        f"oui alors c'est le {PHONE} voilà",
    ),
    # Social security numbers (NIR)
    ("1 85 07 75 123 456 08", NIR),
    ("185077512345608", NIR),
    ("2 94 03 92 012 345 10", NIR),
    ("1 85 07 75 123 456", NIR),  # without its key
    ("2 85 07 2A 123 456 12", NIR),  # Corsica
    ("mon numéro de sécu est le 1 85 07 75 123 456 08.", f"mon numéro de sécu est le {NIR}."),
    (
        "un quatre-vingt-cinq zéro sept soixante-quinze cent vingt-trois "
        "quatre cent cinquante-six zéro huit",
        NIR,
    ),
    (
        "deux quatre-vingt-quatorze zéro trois quatre-vingt-douze zéro douze trois cent "
        "quarante-cinq dix",
        NIR,
    ),
    # Bank cards (Luhn)
    ("4970 1012 3456 7893", CARD),
    ("5555555555554444", CARD),
    ("3782 822463 10005", CARD),
    ("la carte 4970-1012-3456-7893 expire", f"la carte {CARD} expire"),
    (
        "quarante-neuf soixante-dix dix douze trente-quatre cinquante-six "
        "soixante-dix-huit quatre-vingt-treize",
        CARD,
    ),
    # IBAN and bank details
    ("FR76 3000 6000 0112 3456 7890 189", IBAN),
    ("fr7630006000011234567890189", IBAN),
    ("mon iban FR76 3000 6000 0112 3456 7890 189 merci", f"mon iban {IBAN} merci"),
    ("30006 00001 12345678901 89", IBAN),
    (
        "f r soixante-seize trente zéro zéro six zéro zéro zéro zéro un un deux trois "
        "quatre cinq six sept huit neuf zéro un quatre-vingt-neuf",
        IBAN,
    ),
    (
        "effe erre soixante-seize trente zéro zéro six zéro zéro zéro zéro un un deux "
        "trois quatre cinq six sept huit neuf zéro un quatre-vingt-neuf",
        IBAN,
    ),
    # E-mail addresses, written and spoken
    ("jean.dupont@exemple.fr", EMAIL),
    ("écrivez à j.dupont+mairie@ville-paris.fr svp", f"écrivez à {EMAIL} svp"),
    ("jean point dupont arobase exemple point fr", EMAIL),
    (
        "écrivez-moi à jean point dupont arobase exemple point fr s'il vous plaît",
        f"écrivez-moi à {EMAIL} s'il vous plaît",
    ),
    ("c'est jeandupont arobase orange point fr", f"c'est {EMAIL}"),
    ("jean-pierre point martin arobase ville tiret paris point fr", EMAIL),
    ("paul tiret bas martin arobase laposte point net", EMAIL),
    ("paul soixante-quinze arobase free point fr", EMAIL),
    ("marie arrobase gmail point com et voilà", f"{EMAIL} et voilà"),
    # Several at once
    (
        "jean point dupont arobase exemple point fr ou le zéro six douze trente-quatre "
        "cinquante-six soixante-dix-huit",
        f"{EMAIL} ou le {PHONE}",
    ),
]

UNCHANGED = [
    "le 12 mars 2025 à 10 h 30",
    "rendez-vous le 12/03/2025 à 14h",
    "le 12.03.2025",
    "75001 Paris",
    "code postal soixante-quinze mille un",
    "dans deux jours",
    "en deux mille vingt-cinq",
    "1 250,50 €",
    "mille deux cent cinquante euros",
    "vingt et un euros",
    "ouvert de 8h30 à 12h et de 13h30 à 17h",
    "de huit heures trente à douze heures puis de treize heures trente à dix-sept heures",
    "numéro de dossier AB1234",
    "a b un deux trois quatre",
    "appelez le 3939 ou le 17",
    "appelez le quinze",
    "j'ai trois enfants de six huit et onze ans",
    "au 12 rue de la Paix",
    "au douze rue de la paix",
    "00 12 34 56 78",
    "+262 123 45 67 89",  # no such number in La Réunion's plan
    "plus trois degrés",
    "4970 1012 3456 7894",  # fails the Luhn check
    "1 85 15 75 123 456 00",  # month 15 and a wrong key: not a NIR
    "le point de départ",
    "je voudrais refaire mon passe port",
    "c'est pour une carte d'identité",
    "le 1er janvier 2026",
    "ma facture de 123456 euros",
    "",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_other_text_is_left_as_it_is(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_redacting_twice_changes_nothing_more(text: str, expected: str) -> None:
    assert redact(redact(text)) == expected


@pytest.mark.parametrize(
    ("digits", "marker"),
    [
        ("0612345678", PHONE),
        ("+33612345678", PHONE),
        ("0033612345678", PHONE),
        ("0692123456", PHONE),
        ("+262692123456", PHONE),
        ("00262692123456", PHONE),
        ("+590590201234", PHONE),
        ("+262123456789", None),
        ("+2626921234", None),
        ("185077512345608", NIR),
        ("185077512345699", NIR),  # wrong key, but a plausible month
        ("185157512345600", None),  # wrong key and month 15
        ("1851575123456" + f"{nir_key('1851575123456'):02d}", NIR),  # month 15, right key
        ("30006000011234567890189", IBAN),
        ("4970101234567893", CARD),
        ("4970101234567894", None),
        ("0612345", None),
        ("75001", None),
        ("20250312", None),
    ],
)
def test_shapes(digits: str, marker: str | None) -> None:
    assert kind_of(digits) == marker


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
