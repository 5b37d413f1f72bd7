"""Understanding from tables, and the `voicebot understand` contract."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.cli import assert_clean_error, run_cli
from tests.gbfs_server import gbfs_feed
from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.nlu.understand import Understander

TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander(load_content(PROJECT_ROOT / "prompts"))


@pytest.mark.parametrize(
    ("line", "text", "intent", "slots"),
    [
        ("mairie", "euh bonjour c'est pour refaire un passe port", "titre_identite",
         {"document": "passeport"}),
        ("mairie", "on m'a volé ma carte d'identité", "titre_identite",
         {"document": "cni", "situation": "vol"}),
        ("mairie", "je voudrais un rendez vous pour déposer mon dossier de passeport",
         "rendez_vous", {"action": "prendre"}),
        ("mairie", "il faut que j'annule mon rendez vous de jeudi", "rendez_vous",
         {"action": "annuler", "date": "2026-12-03"}),
        ("mairie", "à quelle heure ferme la déchetterie", "horaires", {"service": "dechetterie"}),
        ("mairie", "c'est quand qu'ils ramassent les encombrants", "dechets",
         {"type": "encombrants"}),
        ("mairie", "où en est mon dossier a b un deux trois quatre", "suivi_dossier",
         {"numero_dossier": "AB1234"}),
        ("mairie", "il y a un gros nid de poule devant chez moi", "signalement",
         {"probleme": "nid_de_poule"}),
        ("mairie", "comment faire une procuration pour les élections", "elections",
         {"demarche": "procuration"}),
        ("mairie", "je voudrais inscrire mon fils à la cantine", "ecole", {"demarche": "cantine"}),
        ("mairie", "je voudrais parler à un conseiller", "conseiller", {}),
        ("mairie", "ouais c'est ça", "oui", {}),
        ("mairie", "non non pas du tout", "non", {}),
        ("mairie", "merci beaucoup au revoir", "au_revoir", {}),
        ("mairie", "merci pour les renseignements", "au_revoir", {}),
        ("rh", "ok bonne journée", "au_revoir", {}),
        ("mairie", "quel temps fera-t-il demain", None, {}),
        ("mairie", "je voudrais commander une pizza", None, {}),
        ("rh", "il me reste combien de rtt", "rh_conges", {"type": "rtt"}),
        ("rh", "ma fiche de paie de mars est fausse", "rh_paie", {"mois": "3"}),
        ("rh", "je voudrais m'inscrire à une formation", "rh_formation", {}),
    ],
)  # fmt: skip
def test_understanding(
    understander: Understander, line: str, text: str, intent: str | None, slots: dict[str, str]
) -> None:
    result = understander.understand(text, line, TODAY)
    assert result.intent == intent, result
    for name, value in slots.items():
        assert result.slots.get(name) == value, result.slots
    assert 0.0 <= result.confidence <= 1.0


@pytest.mark.parametrize(
    ("line", "text"),
    [
        # Ending the call needs a word of goodbye or thanks (``needs``): a request that
        # has not said its subject yet is not a goodbye.
        ("mairie", "c'est pour un renseignement"),
        ("rh", "c'est pour un renseignement"),
        ("rh", "renseignement"),
        # A short utterance is not a keyword it is part of (« quelqu'un de la mairie »).
        ("mairie", "la mairie"),
        ("mairie", "bonjour la mairie"),
    ],
)
def test_what_does_not_end_the_call_or_ask_for_a_person(
    understander: Understander, line: str, text: str
) -> None:
    result = understander.understand(text, line, TODAY)
    assert result.intent not in ("au_revoir", "conseiller"), result


def test_confidence_orders_clear_before_vague(understander: Understander) -> None:
    clear = understander.understand("je voudrais renouveler mon passeport", "mairie", TODAY)
    vague = understander.understand("c'est pour un papier", "mairie", TODAY)
    assert clear.confidence > 0.8 and clear.confidence > vague.confidence


def test_best_of_the_recogniser_alternatives(understander: Understander) -> None:
    alternatives = [("je voudrais le passe temps", 0.5), ("je voudrais le passeport", 0.4)]
    result = understander.understand_best(alternatives, "mairie", TODAY)
    assert result.intent == "titre_identite" and result.text == "je voudrais le passeport"


def test_cli_single_contract() -> None:
    result = run_cli("understand", "je voudrais renouveler mon passeport")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"intent", "confidence", "slots"}
    assert document["intent"] == "titre_identite"
    assert document["slots"] == {"document": "passeport", "situation": "renouvellement"}
    nothing = json.loads(run_cli("understand", "je voudrais commander une pizza").stdout)
    assert nothing["intent"] is None and nothing["slots"] == {}


def test_cli_jsonl_keeps_order_and_reads_stdin(tmp_path: Path) -> None:
    items = [
        {"text": "les horaires de la piscine"},
        {"line": "rh", "text": "combien de jours de congés il me reste"},
        {"line": "mairie", "text": "au revoir"},
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n")
    result = run_cli("understand", "--jsonl", str(batch))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in lines] == ["horaires", "rh_conges", "au_revoir"]
    piped = subprocess.run(
        [sys.executable, "-m", "voicebot", "understand", "--jsonl", "-"],
        input=batch.read_text(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert piped.stdout == result.stdout


def test_cli_bad_input(tmp_path: Path) -> None:
    assert_clean_error(run_cli("understand", "bonjour", "--line", "pompiers"), "pompiers")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{pas du json\n')
    assert_clean_error(run_cli("understand", "--jsonl", str(bad)), "ligne 2", "JSON invalide")
    assert_clean_error(run_cli("understand"), "TEXTE")


def test_cli_matches_stations_to_the_live_names(tmp_path: Path) -> None:
    with gbfs_feed() as feed:
        prompts = tmp_path / "prompts"
        shutil.copytree(PROJECT_ROOT / "prompts", prompts)
        service = prompts / "service.yaml"
        text = re.sub(r"(?m)^gbfs_url:.*$", f'gbfs_url: "{feed.url}"', service.read_text("utf-8"))
        service.write_text(text, encoding="utf-8")
        env = {"VOICEBOT_PROMPTS_DIR": str(prompts)}
        result = run_cli("understand", "il reste des vélos à la gare centrale", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["intent"] == "velo_disponibilite"
    assert document["slots"].get("station") == "Gare Centrale"


def test_understanding_does_not_depend_on_the_hash_seed() -> None:
    """Ties are broken by a fixed order: the same words give the same answer in every
    process (Python salts string hashes per process)."""
    batch = "".join(
        (PROJECT_ROOT / "tests" / "nlu" / "eval" / name).read_text("utf-8")
        for name in ("mairie.jsonl", "rh.jsonl")
    )
    outputs = []
    for seed in ("0", "2"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
        result = subprocess.run(
            [sys.executable, "-m", "voicebot", "understand", "--jsonl", "-"],
            input=batch,
            capture_output=True,
            text=True,
            env={**env, "PYTHONHASHSEED": seed},
            timeout=120,
            check=True,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("le lampadaire de ma rue ne marche plus", {"probleme": "eclairage"}),
        ("le lampadaire au 12 rue victor hugo ne marche plus",
         {"probleme": "eclairage", "adresse": "12 rue victor hugo"}),
        ("un dépôt sauvage avenue du stade depuis hier",
         {"probleme": "depot_sauvage", "adresse": "avenue du stade"}),
        ("je voudrais un rendez vous à neuf heures", {"action": "prendre", "heure": "09:00"}),
        ("je voudrais un rendez vous avec monsieur le maire",
         {"action": "prendre", "motif": "monsieur le maire"}),
    ],
)  # fmt: skip
def test_free_text_slots_carry_no_junk(
    understander: Understander, text: str, slots: dict[str, str]
) -> None:
    assert understander.understand(text, "mairie", TODAY).slots == slots
