"""« Est-ce ouvert aujourd'hui ? »: the moment asked about, and the answer, from tables."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.dialog.opening import moment_asked, opening_sentence

PARIS = ZoneInfo("Europe/Paris")
SERVICE = load_content(PROJECT_ROOT / "prompts").service
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "kind", "day"),
    [
        ("est ce que la mairie est ouverte aujourd'hui", "today", 7),
        ("c'est ouvert en ce moment", "now", 7),
        ("la piscine ce soir", "tonight", 7),
        ("vous êtes ouverts à midi", "noon", 7),
        ("et demain", "day", 8),
        ("après demain", "day", 9),
        ("ce week-end", "weekend", 12),
        ("le samedi", "day", 12),
        ("le lundi", "today", 7),
        ("quels sont les horaires de la mairie", None, None),
    ],
)
def test_the_moment_asked(text: str, kind: str | None, day: int | None) -> None:
    moment = moment_asked(text, MONDAY_10)
    if kind is None:
        assert moment is None
        return
    assert moment is not None and moment.kind == kind and moment.day.day == day


@pytest.mark.parametrize(
    ("place", "text", "at", "expected"),
    [
        ("mairie", "ouverte aujourd'hui", (2026, 12, 7, 10, 0),
         "Oui, la mairie est ouverte en ce moment, jusqu'à 12 h, puis de 13 h 30 à 17 h 30."),
        ("mairie", "ouverte aujourd'hui", (2026, 12, 6, 10, 0),
         "Aujourd'hui, dimanche, la mairie est fermée ; elle rouvre demain à 8 h 30."),
        ("mairie", "ouverte aujourd'hui", (2026, 7, 14, 10, 0),
         "Aujourd'hui, mardi, jour férié, la mairie est fermée ; elle rouvre demain à 8 h 30."),
        ("mairie", "ouverte aujourd'hui", (2026, 12, 24, 10, 0),
         "Aujourd'hui, jeudi, jour de fermeture exceptionnelle, la mairie est fermée ; "
         "elle rouvre samedi à 9 h."),
        ("piscine", "ouverte aujourd'hui", (2026, 12, 24, 12, 30),  # the pool is no town hall
         "Oui, la piscine est ouverte en ce moment, jusqu'à 14 h, puis de 17 h à 20 h."),
        ("mairie", "ouverte maintenant", (2026, 12, 7, 12, 15),
         "La mairie est fermée en ce moment : elle ouvre à 13 h 30 aujourd'hui."),
        ("mairie", "ouverte aujourd'hui", (2026, 12, 7, 18, 30),
         "La mairie est fermée pour aujourd'hui ; elle rouvre demain à 8 h 30."),
        ("piscine", "ce soir", (2026, 12, 7, 10, 0),
         "Ce soir, la piscine est ouverte de 17 h à 20 h."),
        ("mairie", "ce soir", (2026, 12, 7, 10, 0),
         "Ce soir, la mairie est fermée : elle ferme à 17 h 30."),
        ("services_techniques", "à midi", (2026, 12, 7, 10, 0),
         "À midi, les services techniques sont fermés aujourd'hui : ils ferment à 12 h "
         "et rouvrent à 13 h 30."),
        ("mediatheque", "demain", (2026, 12, 7, 10, 0),
         "Demain, mardi, la médiathèque est ouverte de 14 h à 19 h."),
        ("mediatheque", "jeudi", (2026, 12, 7, 10, 0), "Jeudi, la médiathèque est fermée."),
        ("dechetterie", "ce week-end", (2026, 12, 7, 10, 0),
         "Ce week-end, la déchetterie est ouverte le samedi de 9 h à 12 h et de 14 h à 18 h, "
         "et le dimanche de 9 h à 12 h."),
        ("mairie", "ce week-end", (2026, 12, 7, 10, 0),
         "Ce week-end, la mairie est ouverte le samedi de 9 h à 12 h, et fermée le dimanche."),
        ("mairie", "demain", (2026, 12, 24, 10, 0),
         "Demain, vendredi, jour férié, la mairie est fermée."),
    ],
)  # fmt: skip
def test_open_or_closed_when_asked(
    place: str, text: str, at: tuple[int, int, int, int, int], expected: str
) -> None:
    year, month, day, hour, minute = at
    now = datetime(year, month, day, hour, minute, tzinfo=PARIS)
    moment = moment_asked(text, now)
    assert moment is not None
    assert opening_sentence(SERVICE, SERVICE.opening[place], moment, now) == expected
