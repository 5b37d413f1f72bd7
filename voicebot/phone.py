"""Caller numbers in one form, E.164 ("+262692123456"), whoever writes them.

Asterisk, a supervisor in the console and an administrator at the command line
each write a number their own way: "0692 12 34 56", "+262692123456",
"00262 692 12 34 56". :func:`caller_number` turns all of them into the same
E.164 string, so a call recorded from one form is found, exported and erased
from any other.

France's national numbering plan covers the overseas departments, but
libphonenumber files them under regions of their own: a national "0692…"
parsed as French gives "+33692…", a number that does not exist, where the
caller is in La Réunion (+262). So a national number is read with each
overseas region first, and kept there when that region's plan knows it; then
as metropolitan French.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

HOME_REGION = "FR"
OVERSEAS_REGIONS = ("RE", "YT", "GP", "MQ", "GF", "BL", "MF")
"""In France's ten-digit plan (a national 0): La Réunion and Mayotte (+262), Guadeloupe,
Saint-Barthélemy and Saint-Martin (+590), Martinique (+596), Guyane (+594).
Saint-Pierre-et-Miquelon is not: it is dialled +508, and its six-digit national
numbers would turn fragments of others into numbers."""
FRENCH_PLAN = frozenset({HOME_REGION, *OVERSEAS_REGIONS})
MAX_CHARS = 40
WRITTEN = re.compile(r"\+?[\d\s.\-/()]+")
"""Digits and the separators people put between them; a letter makes it no number."""


def caller_number(raw: str | None) -> str | None:
    """``raw`` in E.164, or None when it is no phone number.

    None for a withheld or anonymous caller ("anonymous", "unknown", an empty
    caller id), for anything with letters in it, and for digits that no
    numbering plan could dial (too short, too long). Never raises."""
    if raw is None:
        return None
    text = raw.strip()
    if not text or len(text) > MAX_CHARS or not WRITTEN.fullmatch(text):
        return None
    international = text.startswith("+") or re.sub(r"\D", "", text).startswith("00")
    if not international:
        for region in OVERSEAS_REGIONS:
            number = _parsed(text, region)
            if number is not None and phonenumbers.is_valid_number(number):
                return _e164(number)
    number = _parsed(text, HOME_REGION)
    if number is None or not phonenumbers.is_possible_number(number):
        return None
    return _e164(number)


def is_assigned(text: str) -> bool:
    """Whether ``text`` is a number that its country's plan assigns (not merely of the
    right length): "+262692123456" is, "+262123456789" is not."""
    number = _parsed(text, HOME_REGION)
    return number is not None and phonenumbers.is_valid_number(number)


def stored_forms(number: str) -> list[str]:
    """The forms one number may have in the store: E.164, and for rows written before
    numbers were normalised, the national, 00 and bare international forms.

    ``number`` is already E.164 (from :func:`caller_number`)."""
    forms = {number, "00" + number[1:], number[1:]}
    parsed = _parsed(number, None)
    if parsed is not None and phonenumbers.region_code_for_number(parsed) in FRENCH_PLAN:
        national = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
        forms.add(re.sub(r"\D", "", national))
    return sorted(forms)


def _parsed(text: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
