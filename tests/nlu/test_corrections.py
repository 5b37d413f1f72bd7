"""Corrections and negation, from tables: what is said after a correction wins."""

from __future__ import annotations

from datetime import date

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.nlu.corrections import read
from voicebot.nlu.normalize import normalize
from voicebot.nlu.understand import Understander

TODAY = date(2026, 11, 26)  # a Thursday: « mardi » is 2026-12-01, « mercredi » 2026-12-02
TUESDAY, WEDNESDAY = "2026-12-01", "2026-12-02"


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander(load_content(PROJECT_ROOT / "prompts"))


CORRECTIONS: list[tuple[str, str, str | None, dict[str, str]]] = [
    # (line, what was heard, intent, slots that must be there)
    # A slot corrected: the value after the correction wins.
    ("mairie", "un rendez vous à dix heures non pardon à onze heures", "rendez_vous",
     {"heure": "11:00"}),
    ("mairie", "un rendez vous mardi à dix heures non pardon à onze heures", "rendez_vous",
     {"heure": "11:00", "date": TUESDAY}),
    ("mairie", "un rendez vous mardi non pardon mercredi", "rendez_vous", {"date": WEDNESDAY}),
    ("mairie", "un rendez vous mardi ou plutôt mercredi", "rendez_vous", {"date": WEDNESDAY}),
    ("mairie", "rendez vous mercredi plutôt que mardi", "rendez_vous", {"date": WEDNESDAY}),
    ("mairie", "un rendez vous mardi je me suis trompé mercredi", "rendez_vous",
     {"date": WEDNESDAY}),
    ("mairie", "un rendez vous à quatorze heures enfin à quinze heures", "rendez_vous",
     {"heure": "15:00"}),
    ("mairie", "acte de mariage non pardon de naissance", "etat_civil", {"acte": "naissance"}),
    ("mairie", "un acte de naissance non pas de naissance de décès", "etat_civil",
     {"acte": "deces"}),
    ("mairie", "je voudrais un acte de décès pardon un acte de mariage", "etat_civil",
     {"acte": "mariage"}),
    ("mairie", "non pardon pas le passeport la carte d'identité", "titre_identite",
     {"document": "cni"}),
    ("mairie", "je voudrais refaire ma carte d'identité non pardon mon passeport",
     "titre_identite", {"document": "passeport"}),
    ("mairie", "je voudrais le passeport enfin la carte d'identité", "titre_identite",
     {"document": "cni"}),
    ("mairie", "les horaires de la piscine non pardon de la médiathèque", "horaires",
     {"service": "mediatheque"}),
    ("mairie", "la collecte du verre non pardon des encombrants", "dechets",
     {"type": "encombrants"}),
    ("rh", "congés non pas des congés des r t t", "rh_conges", {"type": "rtt"}),
    ("rh", "il me reste combien de rtt non pardon de congés annuels", "rh_conges",
     {"type": "conges_annuels"}),
    ("rh", "ma fiche de paie de mars non pardon d'avril", "rh_paie", {"mois": "4"}),
    # The request itself corrected: the request after the correction wins.
    ("mairie", "un passeport non pardon un acte de naissance", "etat_civil",
     {"acte": "naissance"}),
    ("mairie", "les horaires de la mairie non pardon je voudrais un acte de mariage",
     "etat_civil", {"acte": "mariage"}),
    ("mairie", "un rendez vous non pardon les horaires de la piscine", "horaires",
     {"service": "piscine"}),
    ("mairie", "je me suis trompé je voulais les horaires de la médiathèque", "horaires",
     {"service": "mediatheque"}),
    # A « non » that carries the correction is not a bare « non ».
    ("mairie", "non pas mardi mercredi", "rendez_vous", {"date": WEDNESDAY}),
    ("mairie", "c'est pas mardi c'est mercredi", "rendez_vous", {"date": WEDNESDAY}),
]  # fmt: skip


@pytest.mark.parametrize(("line", "text", "intent", "slots"), CORRECTIONS)
def test_what_follows_a_correction_wins(
    understander: Understander, line: str, text: str, intent: str | None, slots: dict[str, str]
) -> None:
    result = understander.understand(text, line, TODAY)
    assert result.intent == intent, result
    for name, value in slots.items():
        assert result.slots.get(name) == value, result.slots
    assert result.corrected or "pas" in text or "enfin" in text or "plutôt" in text


NEGATION: list[tuple[str, str, str | None, dict[str, str]]] = [
    # A negated control phrase never transfers: the rest of the sentence decides.
    ("mairie", "je ne veux pas parler à quelqu'un je veux juste savoir quand passe la "
     "poubelle jaune", "dechets", {"type": "recyclables"}),
    ("mairie", "pas besoin d'un conseiller je voudrais les horaires de la piscine", "horaires",
     {"service": "piscine"}),
    ("mairie", "sans passer par un agent comment refaire mon passeport", "titre_identite",
     {"document": "passeport"}),
    ("mairie", "je n'ai pas besoin de parler à un conseiller c'est pour un acte de naissance",
     "etat_civil", {"acte": "naissance"}),
    ("mairie", "je veux pas d'agent je veux savoir quand passent les encombrants", "dechets",
     {"type": "encombrants"}),
    ("rh", "je ne veux pas parler à un conseiller il me reste combien de rtt", "rh_conges",
     {"type": "rtt"}),
    ("mairie", "je ne veux pas de conseiller", "non", {}),
    # Plain control phrases still do what they say.
    ("mairie", "je veux parler à quelqu'un", "conseiller", {}),
    ("mairie", "je voudrais parler à un conseiller", "conseiller", {}),
    ("mairie", "passez moi un agent", "conseiller", {}),
    ("mairie", "je veux pas parler à un robot", "conseiller", {}),
    ("rh", "je veux parler à quelqu'un", "conseiller", {}),
    # A « non » that closes the call is a goodbye; « non » alone stays « non ».
    ("mairie", "non c'est bon j'ai ce qu'il me faut merci", "au_revoir", {}),
    ("rh", "non c'est bon j'ai ce qu'il me faut merci", "au_revoir", {}),
    ("mairie", "non", "non", {}),
    ("mairie", "non merci", "non", {}),
    ("mairie", "non pas du tout", "non", {}),
    ("mairie", "non pas vraiment", "non", {}),
    ("mairie", "non c'est pas ça", "non", {}),
    ("rh", "non", "non", {}),
    ("mairie", "pardon", "repeter", {}),
]  # fmt: skip


@pytest.mark.parametrize(("line", "text", "intent", "slots"), NEGATION)
def test_negation_and_bare_answers(
    understander: Understander, line: str, text: str, intent: str | None, slots: dict[str, str]
) -> None:
    result = understander.understand(text, line, TODAY)
    assert result.intent == intent, result
    assert result.slots == slots or all(result.slots.get(k) == v for k, v in slots.items())


@pytest.mark.parametrize(
    ("text", "corrected"),
    [
        ("non pardon mercredi plutôt", True),
        ("dix heures non pardon onze heures", True),
        ("non pas mardi mercredi", True),
        ("je me suis trompée c'est jeudi", True),
        ("non", False),
        ("non merci", False),
        ("pardon", False),
        ("je ne sais pas non plus", False),
        ("je voudrais un passeport", False),
    ],
)
def test_correction_markers(text: str, corrected: bool) -> None:
    assert read(normalize(text)).corrected is corrected


def test_slot_answer_with_a_correction(understander: Understander) -> None:
    # The answer to « pour quel jour ? »: the day said last, after the correction.
    heard = understander.slots_for("non pardon mercredi plutôt", "mairie", ("date",), TODAY)
    assert heard == {"date": WEDNESDAY}
    heard = understander.slots_for("mardi non mercredi", "mairie", ("date",), TODAY)
    assert heard == {"date": WEDNESDAY}
    # Without a correction the slot is as before.
    assert understander.slots_for("mardi", "mairie", ("date",), TODAY) == {"date": TUESDAY}
